"""The run manifest: everything a reader needs to trace a number to its settings."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

import ganbench
from ganbench import io
from ganbench.config.diagnostics import describe_rules, diagnostics_config
from ganbench.config.reference_checks import suite_field
from ganbench.config.suite import Suite, resolved_combo, suite_hash
from ganbench.components import noise
from ganbench.run import process

PACKAGES = ["torch", "torchvision", "torch-fidelity", "ray", "numpy", "pandas", "pyarrow",
            "matplotlib", "pydantic", "scipy", "scikit-learn", "rich", "typer", "jinja2", "pyyaml"]


def utc_now() -> str:
    """The current UTC time in ISO 8601 with a trailing Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def versions() -> dict[str, str]:
    """Python and package versions (``"absent"`` for a missing package)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name.replace("-", "_")] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name.replace("-", "_")] = "absent"
    return out


def git_commit() -> str | None:
    """The commit of the ganbench checkout, if it is one (never fails)."""
    root = Path(ganbench.__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
        return out.stdout.strip() or None
    except Exception:
        return None


def machine(settings: "process.ProcessSettings | None" = None) -> dict[str, Any]:
    """Platform, processor, CPU count, visible GPUs and the trial processes' settings."""
    gpus: list[str] = []
    try:
        import torch

        if torch.cuda.is_available():
            gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:
        pass
    # the trial processes' speed settings and accelerators (ganbench.run.process); the
    # accelerators change results to float rounding only, the rest only timings
    runtime = process.record(settings or process.ProcessSettings.from_env())
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "gpus": gpus, "hostname_hash": None, "runtime": runtime}


#: How every random number of a trial is drawn (part of the protocol: it fixes the numbers).
RANDOM_STREAMS = (
    "each user seed s has independent streams keyed by stream_seed(s, name) (numpy SeedSequence of "
    "(s, stream id, extra)); every stream is a torch.Generator on the trial's device seeded with "
    "stream_seed(s, name) (mt19937 on CPU, Philox on CUDA): training noise z (" + noise.describe()
    + "), initial weights, real data, evaluation samples and remedy streams. The same machine "
    "type, device and versions give the same numbers; CPU and CUDA runs agree in distribution")


def protocol(suite: Suite) -> dict[str, Any]:
    """Every protocol setting recorded at the start of a run: datasets (centres, std), coverage,
    Fréchet, diagnostics, random streams, probes. (The statistics are the results stage's and are
    recorded in ``results.json``.)"""
    from ganbench.train.measures import coverage
    from ganbench.train.measures.fidelity import FRECHET_DESCRIPTION
    from ganbench.train.training import DIRAC_DEFAULT_H, REAL_REFERENCE_SEED, build_dataset
    from ganbench.config.suite import expand

    datasets = {}
    built = {}
    for spec in expand(suite):
        if spec.dataset in datasets:
            continue
        built[spec.dataset] = build_dataset(spec)
        datasets[spec.dataset] = built[spec.dataset].protocol()
        if datasets[spec.dataset]["kind"] == "dirac":
            datasets[spec.dataset]["centres"] = []
            datasets[spec.dataset]["optimizer"] = f"plain SGD (default step size {DIRAC_DEFAULT_H})"
    extra: dict[str, Any] = {}
    if any(ds.kind == "image" for ds in built.values()):
        from ganbench.train.evaluation import image_protocol

        extra["images"] = image_protocol(suite, built)
    return {**extra, **{
        "datasets": datasets,
        "coverage": {
            "hq_std": suite.evaluation.hq_std, "min_count": suite.evaluation.min_count,
            "eval_samples": suite.budget.eval_samples,
            "cell_occupied_fraction": coverage.CELL_OCCUPIED_FRACTION,
            "reverse_kl": "KL(p_gen || uniform) over the histogram of high-quality samples per "
                          "mode, sum_k p_k log(K p_k) with 0 log 0 = 0; NaN when no sample is "
                          "high quality",
            "chance": "expected modes covered by the same number of samples uniform over the "
                      "data bounding box padded by hq_std*std + 10% of its extent",
        },
        "frechet": FRECHET_DESCRIPTION,
        "frechet_real_reference": {"samples": suite.budget.eval_samples, "seed": REAL_REFERENCE_SEED},
        "diagnostics": _diagnostics(suite),
        "random_streams": RANDOM_STREAMS,
        "probes": "every log_every steps: D/G loss, L2 norm of the G and D gradients (total and "
                  "per layer), mean D output on the real and fake batch (probability for "
                  "sigmoid losses); Dirac: theta and psi every step",
    }}


def _diagnostics(suite: Suite) -> dict[str, Any]:
    dyn, diag = diagnostics_config(suite.diagnostics)
    return {"overrides": dict(suite.diagnostics or {}), "dynamics": dyn.to_dict(),
            "thresholds": diag.to_dict(), "rules": describe_rules(diag)}


class DiagnosticsRecord(BaseModel):
    """The verdict settings of a run: the suite's overrides and the values in force."""

    model_config = ConfigDict(extra="allow")
    overrides: dict[str, Any] = Field(default_factory=dict)
    dynamics: dict[str, Any] = Field(default_factory=dict)
    thresholds: dict[str, Any] = Field(default_factory=dict)
    rules: dict[str, str] = Field(default_factory=dict)


class DatasetRecord(BaseModel):
    """One dataset's protocol: its kind (``toy2d``, ``image``, ``dirac``), mode centres and std."""

    model_config = ConfigDict(extra="allow")
    kind: str = "toy2d"
    centres: list[Any] = Field(default_factory=list)
    std: float | None = None
    params: dict[str, Any] = Field(default_factory=dict)


class Protocol(BaseModel):
    """Every protocol setting recorded at the start of a run."""

    model_config = ConfigDict(extra="allow")
    datasets: dict[str, DatasetRecord] = Field(default_factory=dict)
    coverage: dict[str, Any] = Field(default_factory=dict)
    frechet: str = ""
    frechet_real_reference: dict[str, Any] = Field(default_factory=dict)
    statistics: dict[str, Any] = Field(default_factory=dict)
    diagnostics: DiagnosticsRecord = Field(default_factory=DiagnosticsRecord)
    random_streams: str = ""
    probes: str = ""


class Manifest(BaseModel):
    """``manifest.json``: written and read by this class (:meth:`write`, :meth:`read`).

    Unknown keys are kept (a newer ganbench may record more); missing ones take their
    defaults, so older run folders still read. Times are ISO 8601 UTC strings, durations seconds.
    """

    model_config = ConfigDict(extra="allow")
    ganbench_version: str = ""
    suite_name: str = ""
    description: str = ""
    suite_sha256: str = ""
    seeds: list[int] = Field(default_factory=list)
    overrides: dict[str, Any] = Field(default_factory=dict)
    command: str = ""
    argv: list[str] = Field(default_factory=list)
    started_utc: str | None = None
    finished_utc: str | None = None
    resumed_utc: list[str] = Field(default_factory=list)
    wall_s: float | None = None
    wall_s_before_resume: float | None = None
    train_wall_s: float | None = None
    status: str = "running"
    n_trials: int | None = None
    n_seed_runs: int | None = None
    versions: dict[str, str] = Field(default_factory=dict)
    git_commit: str | None = None
    machine: dict[str, Any] = Field(default_factory=dict)
    baseline: str | None = None
    combos: dict[str, dict[str, Any]] = Field(default_factory=dict)
    budget: dict[str, Any] = Field(default_factory=dict)
    resources: dict[str, Any] = Field(default_factory=dict)
    device: str = "auto"
    protocol: Protocol = Field(default_factory=Protocol)
    #: the suite's sweep block, typed: ``{"samples", "seed", "axes": {path: {"space", "values",
    #: "log"}}}`` (None without a sweep)
    sweep: dict[str, Any] | None = None
    #: the suite's ``reference`` block (the published result it reproduces) with the run's value
    #: of each protocol field it names: ``{"block": {...}, "run_protocol": {path: value}}``; None
    #: for a suite without one
    reference: dict[str, Any] | None = None

    @classmethod
    def read(cls, run_dir: str | Path) -> "Manifest":
        """The manifest of a run folder; raises OSError / ValueError when unreadable."""
        return cls.model_validate_json((Path(run_dir) / "manifest.json").read_text(encoding="utf-8"))

    def write(self, run_dir: str | Path) -> Path:
        """Write ``manifest.json`` atomically."""
        return io.write_json(Path(run_dir) / "manifest.json", self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form (what :meth:`write` writes)."""
        return self.model_dump(mode="json")


def build_manifest(suite: Suite, suite_text: str, *, overrides: dict[str, Any], command: str,
                   started: str, status: str = "running",
                   settings: process.ProcessSettings | None = None) -> Manifest:
    """The manifest at the start of a run (the pipeline fills in end time and status)."""
    return Manifest(**{
        "ganbench_version": ganbench.__version__,
        "suite_name": suite.name,
        "description": suite.description,
        "suite_sha256": suite_hash(suite_text),
        "seeds": list(range(suite.seeds)),
        "overrides": overrides,
        "command": command,
        "started_utc": started,
        "finished_utc": None,
        "wall_s": None,
        "status": status,
        "versions": versions(),
        "git_commit": git_commit(),
        "machine": machine(settings),
        "argv": sys.argv,
        "baseline": suite.baseline,
        "combos": {name: resolved_combo(suite, name) for name in suite.combos},
        "budget": suite.budget.model_dump(),
        "resources": suite.resources.model_dump(),
        "device": suite.device,
        "protocol": protocol(suite),
        "sweep": suite.sweep.model_dump() if suite.sweep is not None else None,
        "reference": reference_record(suite),
    })


def reference_record(suite: Suite) -> dict[str, Any] | None:
    """The manifest's ``reference``: the block and the run's value of each protocol field it
    names (after CLI overrides, so ``--steps`` shows as a difference from the paper)."""
    if suite.reference is None:
        return None
    return {"block": suite.reference.model_dump(mode="json"),
            "run_protocol": {path: suite_field(suite, path) for path in suite.reference.protocol}}
