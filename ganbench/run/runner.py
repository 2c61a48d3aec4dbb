"""Ray Tune runner: one Tune trial per dataset × combo, all its seeds in lockstep.

The trainable lives here (Ray workers import it from the installed package). Each trial
reports aggregate metrics with ``tune.report`` at every evaluation and, at the end, a
checkpoint holding its full per-seed artifacts (``rows.json``, ``history.parquet``,
``samples.npz``); :func:`collect` turns the checkpoints into the run folder's tables.
Because artifacts travel as checkpoints, they reach the driver from any node of a cluster
as long as ``storage_path`` (the run folder's ``ray/``) is on storage every node can reach.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from ganbench import io
from ganbench.run.ray_compat import set_tuner_callbacks
from ganbench.run.process import ProcessSettings, apply_in_trial
from ganbench.config.suite import TrialSpec

#: Environment that keeps Ray quiet and free of side effects (see ENVIRONMENT-NOTES).
RAY_QUIET_ENV = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_AIR_NEW_OUTPUT": "0",
    "RAY_DEDUP_LOGS": "0",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
    "PYTHONWARNINGS": "ignore::DeprecationWarning",
}

TUNE_NAME = "tune"


def quiet_ray_env() -> None:
    """Set the quiet Ray environment (before Ray starts); existing values win. Called by
    :func:`init_ray` and the CLI, never on import."""
    for k, v in RAY_QUIET_ENV.items():
        os.environ.setdefault(k, v)


from ray.tune import Callback  # noqa: E402


def trainable(config: dict[str, Any]) -> None:
    """The Tune function trainable: train one trial, report, and checkpoint its artifacts."""
    from ray import tune

    from ganbench.train.training import train_trial

    hp = dict(config.get("hp") or {})
    spec_d = config["spec"]
    applied: dict[str, bool] = {}
    if hp:
        from ganbench.config.sweep import apply_to_spec

        spec_d, applied = apply_to_spec(spec_d, hp)
    spec = TrialSpec.from_dict(spec_d)
    runtime = apply_in_trial(ProcessSettings(**(config.get("process") or {})))
    with tempfile.TemporaryDirectory() as tmp:
        meta = _reuse_finished(Path(tmp), spec.trial_id)
        if meta is not None:  # finished before the driver was killed: report it, do not rerun
            tune.report({"done_trial": 1, "failed": int(bool(meta.get("failed")))},
                        checkpoint=tune.Checkpoint.from_directory(tmp))
            return
    t0 = time.perf_counter()
    fail_at = _injected_failure(spec.trial_id)

    def on_eval(rec: dict[str, Any]) -> None:
        if fail_at is not None and rec["step"] >= fail_at:
            raise RuntimeError(f"injected failure at step {rec['step']} ({FAIL_ENV})")
        tune.report(eval_report(rec, time.perf_counter() - t0))

    try:
        result = train_trial(spec, on_eval=on_eval)
        rows, history, samples, device = result.rows, result.history, result.samples, result.device
        evolution = result.evolution
        status = {"failed": False, "error": ""}
    except Exception as exc:  # a failing trial must not stop the suite
        msg = f"{type(exc).__name__}: {exc}"
        rows = [{"seed": s, "status": "failed", "error": msg, "steps": 0,
                 "wall_s": (time.perf_counter() - t0) / max(1, len(spec.seeds))} for s in spec.seeds]
        history, samples, device, evolution = [], {}, "?", {}
        status = {"failed": True, "error": msg, "traceback": traceback.format_exc()}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "rows.json").write_text(json.dumps({"trial_id": spec.trial_id, "rows": rows,
                                                 "device": device, "hp": hp, "hp_applied": applied,
                                                 "node_id": _node_id(), "runtime": runtime,
                                                 **status}, default=float))
        pd.DataFrame(history).to_parquet(d / "history.parquet", index=False)
        np.savez(d / "samples.npz", **{f"seed{k}": v for k, v in samples.items()})
        np.savez_compressed(d / EVOLUTION_FILE, **evolution)
        tune.report({"done_trial": 1, "failed": int(status["failed"])},
                    checkpoint=tune.Checkpoint.from_directory(tmp))


def eval_report(rec: dict[str, Any], elapsed_s: float) -> dict[str, Any]:
    """What a trial passes to ``tune.report`` after an evaluation (and the live view reads):
    the evaluation summary ``rec`` (``ganbench.train.training._eval_summary``), ``elapsed_s``
    (seconds since the trial started training, on the trial's clock) and ``done_trial`` 0."""
    return {**rec, "elapsed_s": float(elapsed_s), "done_trial": 0}


#: Testing hook: ``GANBENCH_INJECT_FAILURE="<dataset>__<combo>@<step>"`` makes that trial
#: raise at its first evaluation at or after ``step`` (how the tests prove that one failing
#: trial leaves the rest of the suite intact). Has no effect when unset.
FAIL_ENV = "GANBENCH_INJECT_FAILURE"


def _injected_failure(trial_id: str) -> int | None:
    for item in filter(None, os.environ.get(FAIL_ENV, "").split(",")):
        tid, _, step = item.partition("@")
        if tid == trial_id:
            return int(step or 0)
    return None


def _node_id() -> str:
    """The Ray node this trial runs on (recorded in the checkpoint's rows.json)."""
    try:
        import ray

        return ray.get_runtime_context().get_node_id()
    except Exception:
        return ""


#: The per-evaluation samples of a trial's checkpoint (``TrialResult.evolution``), copied to
#: the run folder as ``evolution/<dataset>__<combo>[__hp<id>].npz``.
EVOLUTION_FILE = "evolution.npz"
_ARTIFACTS = ("rows.json", "history.parquet", "samples.npz", EVOLUTION_FILE)


def _reuse_finished(dest: Path, trial_id: str) -> dict[str, Any] | None:
    """Copy into ``dest`` the artifacts this trial already checkpointed before its driver died.

    Tune snapshots its experiment state only every ~10 s, so a trial that finished just before
    the driver was SIGKILLed is restored as unfinished. Its final checkpoint is in its trial
    folder on storage all the same: reuse it (after checking every file reads back) instead
    of training again. Returns the checkpoint's rows.json, or None to train.
    """
    try:
        import pyarrow.fs as pafs
        from ray import tune

        # The trial's StorageContext (a DeveloperAPI): its folder on the run's storage, where
        # Tune persists the checkpoints. Not get_trial_dir(), a node-local staging folder.
        storage = tune.get_context().get_storage()
        if storage is None:  # not inside a Tune trial
            return None
        fs = storage.storage_filesystem
        infos = fs.get_file_info(pafs.FileSelector(storage.trial_fs_path, allow_not_found=True))
        ckpts = sorted(i.path for i in infos if i.type == pafs.FileType.Directory
                       and i.base_name.startswith("checkpoint_"))
        for ckpt in reversed(ckpts):
            try:
                for name in _ARTIFACTS:
                    with fs.open_input_stream(f"{ckpt}/{name}") as src:
                        (dest / name).write_bytes(src.read())
                meta = json.loads((dest / "rows.json").read_text())
                pd.read_parquet(dest / "history.parquet")
                with np.load(dest / "samples.npz", allow_pickle=False) as npz:
                    [npz[k] for k in npz.files]
                if meta.get("trial_id") == trial_id and "rows" in meta:
                    return meta
            except Exception:
                pass
            for name in _ARTIFACTS:
                (dest / name).unlink(missing_ok=True)
    except Exception:
        pass
    return None


def _trial_dirname(trial: Any) -> str:
    return f"{trial.config['spec']['trial_id']}_{trial.trial_id}"


#: The driver's live view while a suite runs: ``"tracker"`` → the :class:`LiveTracker` the
#: callback feeds (absent with ``--quiet`` and outside :func:`run_trials`).
_PROGRESS: dict[str, Any] = {}


class ProgressCallback(Callback):
    """A Tune callback feeding the driver's live view (:mod:`ganbench.run.live`) with trial
    starts, reports and ends; it does nothing when no view is shown.

    The view's state lives in the module-level ``_PROGRESS`` slot, not in the callback,
    because Tune pickles its callbacks into the experiment state (for resume); this class is
    importable, so it pickles by reference. A failure in the view never stops the suite: the
    view is dropped instead.
    """

    @staticmethod
    def _feed(method: str, *args: Any) -> None:
        tracker = _PROGRESS.get("tracker")
        if tracker is None:
            return
        try:
            getattr(tracker, method)(*args, time.monotonic())
        except Exception:
            _PROGRESS.pop("tracker", None)

    def on_trial_start(self, iteration, trials, trial, **info):
        self._feed("start", trial.trial_id, trial.config)

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self._feed("result", trial.trial_id, trial.config, result)

    def on_trial_complete(self, iteration, trials, trial, **info):
        self._feed("finish", trial.trial_id, trial.config, False)

    def on_trial_error(self, iteration, trials, trial, **info):
        self._feed("finish", trial.trial_id, trial.config, True)


def _make_progress_callback() -> ProgressCallback:
    return ProgressCallback()


@contextmanager
def live_view(show: bool, total_trials: int, total_steps: int,
              finished: tuple[int, int, int] = (0, 0, 0), console: Any = None) -> Iterator[Any]:
    """Show the live view of a running suite for the duration of the ``with`` block.

    ``finished`` is ``(done, failed, steps)`` of the trials finished before (a resume);
    ``console`` a rich Console (default: rich's). Yields the :class:`LiveTracker`, also put in
    ``_PROGRESS`` for :class:`ProgressCallback`; yields None and shows nothing when ``show``
    is false. Where the console is not a terminal, rich prints the view once, at the end.
    """
    if not show:
        yield None
        return
    from rich.live import Live

    from ganbench.run.live import LiveTracker, render_live

    done, failed, steps = finished
    tracker = LiveTracker(total_trials, total_steps, time.monotonic(), done=done, failed=failed,
                          done_steps=steps)
    live = Live(get_renderable=lambda: render_live(tracker.snapshot(time.monotonic())),
                console=console, refresh_per_second=2, transient=False)
    _PROGRESS["tracker"] = tracker
    try:
        with live:
            yield tracker
    finally:
        _PROGRESS.pop("tracker", None)
        if not live.console.is_terminal:  # rich ends the final print with a newline only there
            live.console.line()


def _finished_before(tuner: Any) -> tuple[int, int, int]:
    """``(done, failed, steps)`` of the trials a restored Tuner had finished (with their final
    checkpoint); steps are their budgets. Zeros where Tune cannot tell."""
    done = failed = steps = 0
    try:
        for r in tuner.get_results():
            if r.checkpoint is None:
                continue
            bad = bool((r.metrics or {}).get("failed"))
            failed, done = failed + bad, done + (not bad)
            steps += int((((r.config or {}).get("spec") or {}).get("budget") or {}).get("steps") or 0)
    except Exception:
        pass
    return done, failed, steps


def init_ray(address: str | None, num_cpus: int | None = None,
             settings: ProcessSettings | None = None) -> None:
    """Start a quiet local Ray, or join the cluster at ``address``; the trial workers get the
    environment of ``settings`` (:meth:`ProcessSettings.worker_env`). Where Ray is already
    initialised in this process, it is used as it is."""
    quiet_ray_env()
    import ray

    if ray.is_initialized():
        return
    env = (settings or ProcessSettings.from_env()).worker_env()
    kwargs: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False,
                                  logging_level="ERROR", configure_logging=True,
                                  runtime_env={"env_vars": env})
    if address:
        ray.init(address=address, **{k: v for k, v in kwargs.items() if k != "include_dashboard"})
    else:
        ray.init(num_cpus=num_cpus or os.cpu_count(), **kwargs)


def run_trials(specs: list[TrialSpec], run_dir: Path, *, max_concurrent: int | None = None,
               resume: bool = False, show_progress: bool = True,
               sweep: dict[str, Any] | None = None,
               settings: ProcessSettings | None = None) -> Any:
    """Schedule ``specs`` with Ray Tune (Ray must be initialised); returns the ResultGrid.
    Every trial applies ``settings`` in its own process (:func:`ganbench.run.process.apply_in_trial`);
    a resumed run keeps the settings it started with."""
    from ray import tune

    storage = str((run_dir / "ray").resolve())
    cpus = max(s.cpus for s in specs)
    gpus = max(s.gpus for s in specs)
    resources = {"cpu": cpus, "gpu": gpus} if gpus > 0 else {"cpu": cpus}
    fn = tune.with_resources(trainable, resources)
    exp_path = Path(storage) / TUNE_NAME
    from ganbench.config import sweep as sw

    spaces = {k: sw.to_tune(v) for k, v in (sweep or {}).items() if k not in sw.RESERVED}
    samples = int((sweep or {}).get("samples", 1))
    per = samples * _grid_size(sweep)
    param_space: dict[str, Any] = {"spec": tune.grid_search([s.to_dict() for s in specs]),
                                   "process": (settings or ProcessSettings.from_env()).to_dict()}
    search_alg = None
    if spaces:
        from ray.tune.search import BasicVariantGenerator

        param_space["hp"] = spaces
        search_alg = BasicVariantGenerator(random_state=int((sweep or {}).get("seed", 0)))
    callbacks = [_make_progress_callback()]
    finished = (0, 0, 0)
    if resume and tune.Tuner.can_restore(str(exp_path)):
        tuner = tune.Tuner.restore(str(exp_path), trainable=fn, resume_unfinished=True,
                                   resume_errored=True)
        finished = _finished_before(tuner)
        # Tuner.restore takes no run_config: no public way to give it callbacks
        set_tuner_callbacks(tuner, callbacks)
    else:
        tuner = tune.Tuner(
            fn,
            param_space=param_space,
            tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent, reuse_actors=True,
                                        trial_dirname_creator=_trial_dirname,
                                        num_samples=samples, search_alg=search_alg),
            run_config=tune.RunConfig(name=TUNE_NAME, storage_path=storage, verbose=0,
                                      callbacks=callbacks),
        )
    with live_view(show_progress, len(specs) * per, sum(s.budget.steps for s in specs) * per,
                   finished):
        return tuner.fit()


from ganbench.config.sweep import grid_size as _grid_size  # noqa: E402


def _ray_order(res: Any) -> tuple[int, str]:
    """Generation order of a Tune trial (its id ends in a zero-padded counter)."""
    rid = str((res.metrics or {}).get("trial_id") or Path(str(res.path)).name.rsplit("_", 1)[-1])
    tail = rid.rsplit("_", 1)[-1]
    return (int(tail) if tail.isdigit() else 1 << 30, rid)


def collect(results: Any, specs: list[TrialSpec], sweep: dict[str, Any] | None = None,
            evolution: dict[str, dict[str, np.ndarray]] | None = None
            ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Turn a ResultGrid into ``(trials, history, samples)``; samples keyed by file stem.

    With a sweep, each dataset × combo has several hyperparameter samples, numbered
    ``hp_id`` 0, 1, ... in Tune's generation order; their settings are ``hp.<path>`` columns.
    A dict passed as ``evolution`` receives each trial's per-evaluation samples keyed by its
    stem (``<dataset>__<combo>[__hp<id>]``), where its checkpoint holds any.
    """
    from ganbench.config.sweep import RESERVED

    by_id = {s.trial_id: s for s in specs}
    swept = [k for k in (sweep or {}) if k not in RESERVED]
    expected = int((sweep or {}).get("samples", 1)) * _grid_size(sweep) if swept else 1
    trial_rows: list[dict[str, Any]] = []
    hist_frames: list[pd.DataFrame] = []
    samples: dict[str, np.ndarray] = {}
    count: dict[str, int] = {}
    for res in sorted(results, key=_ray_order):
        cfg = res.config or {}
        tid = cfg.get("spec", {}).get("trial_id")
        if tid not in by_id:
            continue
        spec = by_id[tid]
        hp_id = count.get(tid, 0)
        count[tid] = hp_id + 1
        base = {"dataset": spec.dataset, "combo": spec.combo}
        if swept:
            base["hp_id"] = hp_id
            for k in swept:
                base[f"hp.{k}"] = (cfg.get("hp") or {}).get(k, np.nan)
        stem = f"{spec.dataset}__{spec.combo}" + (f"__hp{hp_id}" if swept else "")
        ckpt = res.checkpoint
        if ckpt is None:
            if res.error is not None:
                status, err = "failed", f"{type(res.error).__name__}: {res.error}"[:2000]
            else:
                status, err = "interrupted", "trial was interrupted before it finished"
            for s in spec.seeds:
                trial_rows.append({**base, "seed": s, "status": status, "error": err, "steps": 0})
            continue
        with ckpt.as_directory() as d:
            d = Path(d)
            meta = json.loads((d / "rows.json").read_text())
            hist = pd.read_parquet(d / "history.parquet")
            with np.load(d / "samples.npz", allow_pickle=False) as npz:
                for key in npz.files:
                    samples[f"{stem}__seed{int(key[4:])}"] = npz[key]
            if evolution is not None and (d / EVOLUTION_FILE).is_file():
                with np.load(d / EVOLUTION_FILE, allow_pickle=False) as npz:
                    if "steps" in npz.files:
                        evolution[stem] = {k: npz[k] for k in npz.files}
        applied = meta.get("hp_applied") or {}
        for k in swept:
            if applied.get(k) is False:
                base[f"hp.{k}"] = np.nan
        for row in meta["rows"]:
            trial_rows.append({**base, **row, "device": meta.get("device", "")})
        if len(hist):
            for pos, (k, v) in enumerate(base.items()):
                if not k.startswith("hp."):
                    hist.insert(pos, k, v)
            hist_frames.append(hist)
    for tid, spec in by_id.items():  # trials Ray never created (e.g. interrupted early)
        for hp_id in range(count.get(tid, 0), expected):
            for s in spec.seeds:
                row = {"dataset": spec.dataset, "combo": spec.combo, "seed": s, "status": "missing",
                       "error": "trial did not run", "steps": 0}
                if swept:
                    row["hp_id"] = hp_id
                trial_rows.append(row)
    order = {s.trial_id: i for i, s in enumerate(specs)}
    keys = ["_o"] + (["hp_id"] if swept else [])

    def in_suite_order(frame: pd.DataFrame, extra: list[str]) -> pd.DataFrame:
        if not len(frame):
            return frame
        frame["_o"] = [order.get(f"{d}__{c}", 0) for d, c in zip(frame["dataset"], frame["combo"])]
        return frame.sort_values(keys + extra, kind="stable").drop(columns="_o").reset_index(drop=True)

    trials = in_suite_order(pd.DataFrame(trial_rows), ["seed"])
    history = pd.concat(hist_frames, ignore_index=True) if hist_frames else pd.DataFrame(
        columns=["dataset", "combo", "seed", "step"])
    history = in_suite_order(history, ["seed", "step"])
    return trials, history, samples


TRIAL_COLUMNS = ["dataset", "combo", "seed", "status", "error", "steps", "diverged_step",
                 "modes_covered", "modes_total", "hq_fraction", "reverse_kl", "cell_entropy",
                 "cells_occupied", "chance_coverage", "frechet_distance", "d_loss_final",
                 "g_loss_final", "g_grad_norm_final", "d_grad_norm_final", "d_real_final",
                 "d_fake_final", "theta_final", "psi_final", "dist_final", "wall_s",
                 "trial_wall_s", "device"]


def write_tables(run_dir: Path, trials: pd.DataFrame, history: pd.DataFrame,
                 samples: dict[str, np.ndarray]) -> None:
    """Write trials.csv/.parquet, history.parquet and samples/*.npy atomically."""
    for col in TRIAL_COLUMNS:
        if col not in trials.columns and col != "hp_id":
            trials[col] = "" if col in ("error", "device", "status") else np.nan
    extra = [c for c in trials.columns if c not in TRIAL_COLUMNS]
    trials = trials[TRIAL_COLUMNS + extra]
    trials["error"] = trials["error"].fillna("").astype(str)
    io.write_frame(run_dir / "trials.parquet", trials)
    io.write_frame(run_dir / "trials.csv", trials)
    io.write_frame(run_dir / "history.parquet", history)
    for stem, arr in samples.items():
        io.write_npy(run_dir / "samples" / f"{stem}.npy", np.asarray(arr, dtype=np.float32))


def write_evolution(run_dir: Path, evolution: dict[str, dict[str, np.ndarray]]) -> None:
    """Write each trial's per-evaluation samples to ``evolution/<stem>.npz`` (compressed,
    atomically): ``steps`` int64 ``[T]`` and ``seed<k>`` float16 ``[T, n, dim]``."""
    for stem, arrays in evolution.items():
        io.write_npz(run_dir / "evolution" / f"{stem}.npz", arrays)
