"""From a validated suite to a finished run folder: the stages of docs/architecture.md in order."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ganbench import io
from ganbench.run.manifest import Manifest, build_manifest, utc_now
from ganbench.run.process import ProcessSettings
from ganbench.report.build import build_report
from ganbench.results.stage import results_stage
from ganbench.config.suite import Suite, expand

REPORTS_ROOT = Path("reports")


class OutputError(Exception):
    """The output folder cannot be used (exists, unwritable, disk full)."""


def default_run_dir(suite: Suite, root: Path = REPORTS_ROOT) -> Path:
    """``reports/<suite name>/<UTC timestamp>/`` (the name is validated to be path-safe)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return root / suite.name / stamp


def prepare_run_dir(run_dir: Path, min_free_bytes: int = 50 << 20) -> Path:
    """Create ``run_dir`` and prove it is writable and has space, before any training."""
    run_dir = Path(run_dir)
    if run_dir.exists() and any(run_dir.iterdir()):
        raise OutputError(f"output folder {run_dir} exists and is not empty; choose another "
                          "--out or use --resume to continue it")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write to output folder {run_dir}: {exc.strerror or exc}") from None
    free = shutil.disk_usage(run_dir).free
    if free < min_free_bytes:
        raise OutputError(f"only {free >> 20} MiB free under {run_dir}; need at least "
                          f"{min_free_bytes >> 20} MiB")
    return run_dir


def run_suite(suite: Suite, suite_text: str, run_dir: Path, *, overrides: dict[str, Any],
              command: str, address: str | None = None, max_concurrent: int | None = None,
              show_progress: bool = True, resume: bool = False,
              settings: ProcessSettings | None = None) -> Manifest:
    """Run every trial of ``suite`` through Ray Tune and write the complete run folder.

    ``settings`` are the trial processes' settings (default: from the environment); a resumed
    run keeps the ones recorded in its manifest, so its trials compute as the first ones did.
    Returns the final manifest. The report is built from the run folder alone.
    """
    from ganbench.run.runner import collect, init_ray, run_trials, write_evolution, write_tables

    specs = expand(suite)
    started = utc_now()
    t0 = time.perf_counter()
    if resume:
        manifest = Manifest.read(run_dir)
        started = manifest.started_utc or started
        manifest.wall_s_before_resume = float(manifest.wall_s or 0.0)
        manifest.resumed_utc.append(utc_now())
        settings = recorded_settings(manifest) or settings
    else:
        io.write_text(run_dir / "suite.yaml", suite_text)
        settings = settings or ProcessSettings.from_env()
        manifest = build_manifest(suite, suite_text, overrides=overrides, command=command,
                                  started=started, settings=settings)
        manifest.write(run_dir)
    init_ray(address, settings=settings)
    results = run_trials(specs, run_dir, max_concurrent=max_concurrent, resume=resume,
                         show_progress=show_progress, sweep=suite.sweep, settings=settings)
    evolution: dict[str, dict] = {}
    trials, history, samples = collect(results, specs, suite.sweep, evolution=evolution)
    write_tables(run_dir, trials, history, samples)
    write_evolution(run_dir, evolution)
    complete = bool(len(trials)) and not trials["status"].isin(["missing", "interrupted"]).any()
    manifest.finished_utc = utc_now()
    manifest.wall_s = round(time.perf_counter() - t0 + float(manifest.wall_s_before_resume or 0), 3)
    manifest.status = "complete" if complete else "partial"
    manifest.n_trials = len(specs)
    manifest.n_seed_runs = int(len(trials))
    if len(trials) and "trial_wall_s" in trials:
        manifest.train_wall_s = float(trials["trial_wall_s"].fillna(0)
                                      .groupby([trials["dataset"], trials["combo"]]).first().sum())
    manifest.write(run_dir)
    report_run(run_dir)
    return manifest


def recorded_settings(manifest: Manifest) -> ProcessSettings | None:
    """The trial-process settings a run started with (None for run folders that predate them)."""
    runtime = (getattr(manifest, "machine", None) or {}).get("runtime") or {}
    if "process_settings" not in runtime:
        return None
    kernels = (runtime.get("kernels") or {}).get("switch", "auto")
    return ProcessSettings(tune=runtime["process_settings"] == "on", kernels=kernels)


def report_run(run_dir: Path) -> Path:
    """The last two stages for a run folder: compute and write its results, then render
    ``report.html`` and the exports. Returns the report's path."""
    results_stage(run_dir)
    return build_report(run_dir)
