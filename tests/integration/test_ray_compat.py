"""The Ray internals ganbench relies on (ganbench.run.ray_compat) and the DeveloperAPI it uses.

These tests build real Tune objects from the installed Ray, so a Ray upgrade that removes or
renames what ``ganbench.run.ray_compat`` relies on fails here, with a message naming the Ray
version and the attribute, rather than in the middle of a ``ganbench run --resume``.
The trainable is ``ganbench.run.runner.trainable`` (Ray workers import it from the installed
package); given a spec without its fields, its trial errors at once, without training.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import pytest

from ganbench.run import runner  # noqa: F401  (sets the quiet Ray environment before `import ray`)
from ganbench.run.ray_compat import CHECKED_RAY_VERSIONS, RayCompatError, set_tuner_callbacks
from tests.integration.test_cluster import ray_tmpdir  # noqa: F401 (fixture)

import ray  # noqa: E402
from ray import tune  # noqa: E402

RAY = f"ray {ray.__version__} (adapter checked against {', '.join(CHECKED_RAY_VERSIONS)})"
NAME = "compat"
PROBE = {"spec": {"trial_id": "compat__probe"}}  # TrialSpec.from_dict raises: the trial errors


class Recorder(tune.Callback):
    """Records the driver-side Tune events it sees (pickles by reference, like ProgressCallback)."""

    events: list[str] = []

    def on_trial_start(self, iteration, trials, trial, **info):
        Recorder.events.append("start")

    def on_trial_complete(self, iteration, trials, trial, **info):
        Recorder.events.append("complete")

    def on_trial_error(self, iteration, trials, trial, **info):
        Recorder.events.append("error")


def _tuner(storage: Path, callbacks: list) -> tune.Tuner:
    return tune.Tuner(
        runner.trainable,
        param_space=dict(PROBE),
        tune_config=tune.TuneConfig(trial_dirname_creator=runner._trial_dirname),
        run_config=tune.RunConfig(name=NAME, storage_path=str(storage), verbose=0,
                                  callbacks=callbacks),
    )


def _run_config(tuner: tune.Tuner):
    """What set_tuner_callbacks relies on, asserted step by step with a loud message."""
    from ray.tune.impl.tuner_internal import TunerInternal

    local = getattr(tuner, "_local_tuner", None)
    assert local is not None, (
        f"{RAY}: tune.Tuner has no private attribute '_local_tuner'; "
        "update ganbench.run.ray_compat.set_tuner_callbacks")
    assert isinstance(local, TunerInternal), (
        f"{RAY}: tune.Tuner._local_tuner is a {type(local).__name__}, not a TunerInternal; "
        "update ganbench.run.ray_compat.set_tuner_callbacks")
    assert hasattr(local, "_run_config"), (
        f"{RAY}: TunerInternal has no private attribute '_run_config'; "
        "update ganbench.run.ray_compat.set_tuner_callbacks")
    rc = local._run_config
    assert isinstance(rc, ray.air.config.RunConfig) and hasattr(rc, "callbacks"), (
        f"{RAY}: TunerInternal._run_config is a {type(rc).__name__}, not a RunConfig with "
        "'callbacks'; update ganbench.run.ray_compat.set_tuner_callbacks")
    assert local.get_run_config() is rc, (
        f"{RAY}: TunerInternal._run_config is no longer the RunConfig that fit() uses; "
        "update ganbench.run.ray_compat.set_tuner_callbacks")
    return rc


def test_tuner_private_layout_the_adapter_relies_on(tmp_path):
    tuner = _tuner(tmp_path, [])
    assert _run_config(tuner).callbacks == []
    exp = tmp_path / NAME
    assert (exp / "tuner.pkl").is_file(), f"{RAY}: tune.Tuner() no longer writes tuner.pkl"
    restored = tune.Tuner.restore(str(exp), trainable=runner.trainable, resume_errored=True)
    _run_config(restored)


def test_restore_still_has_no_public_way_to_pass_callbacks():
    """When Ray adds one, use it in runner.run_trials and drop the adapter."""
    params = set(inspect.signature(tune.Tuner.restore).parameters)
    public = {p for p in params if not p.startswith("_")}
    assert not public & {"callbacks", "run_config"}, (
        f"{RAY}: Tuner.restore now accepts {sorted(public & {'callbacks', 'run_config'})}: "
        "pass the callbacks there and remove ganbench.run.ray_compat.set_tuner_callbacks")


def test_adapter_replaces_the_callbacks_of_a_restored_tuner(tmp_path):
    _tuner(tmp_path, [runner.ProgressCallback()])
    restored = tune.Tuner.restore(str(tmp_path / NAME), trainable=runner.trainable)
    old = _run_config(restored).callbacks
    assert [type(c) for c in old] == [runner.ProgressCallback]  # as pickled in tuner.pkl
    new = [Recorder()]
    set_tuner_callbacks(restored, new)
    assert _run_config(restored).callbacks == new


def test_adapter_fails_loudly_when_the_layout_is_gone():
    class NotATuner:
        pass

    with pytest.raises(RayCompatError, match=rf"ray {ray.__version__}.*'_local_tuner'"):
        set_tuner_callbacks(NotATuner(), [])
    t = NotATuner()
    t._local_tuner = object()
    with pytest.raises(RayCompatError, match=rf"ray {ray.__version__}.*'_run_config'"):
        set_tuner_callbacks(t, [])


def test_trial_storage_developer_api(tmp_path):
    """runner._reuse_finished finds a trial's checkpoints through tune.get_context().get_storage()."""
    from ray.train._internal.storage import StorageContext

    ctx = tune.get_context()
    assert callable(getattr(ctx, "get_storage", None)), (
        f"{RAY}: TuneContext.get_storage (DeveloperAPI) is gone; update runner._reuse_finished")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Ray warns (once) that this is outside a trial
        assert ctx.get_storage() is None, f"{RAY}: get_storage() outside a trial is not None"
    storage = StorageContext(storage_path=str(tmp_path), experiment_dir_name="exp")
    storage.trial_dir_name = "trial"
    for attr in ("storage_filesystem", "trial_fs_path"):
        assert hasattr(storage, attr), (
            f"{RAY}: StorageContext has no '{attr}'; update runner._reuse_finished")
    assert Path(storage.trial_fs_path) == tmp_path / "exp" / "trial", storage.trial_fs_path
    assert storage.storage_filesystem.get_file_info(str(tmp_path)).is_file is False


def _fit_restore_fit(storage: str) -> dict:
    """Fit once without a Recorder, restore, install one with the adapter, fit again; runs in a
    fresh process (see the test below) and returns what it saw."""
    Recorder.events = []
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        first = _tuner(Path(storage), []).fit()
        first_events = list(Recorder.events)
        exp = Path(storage) / NAME
        can_restore = tune.Tuner.can_restore(str(exp))
        restored = tune.Tuner.restore(str(exp), trainable=runner.trainable, resume_errored=True)
        set_tuner_callbacks(restored, [Recorder()])
        second = restored.fit()
    finally:
        ray.shutdown()
    return {"first_errors": bool(first.errors), "first_events": first_events,
            "can_restore": can_restore, "second_errors": bool(second.errors),
            "events": Recorder.events,
            "trial_dirs": [p.name for p in exp.iterdir() if p.is_dir()]}


def test_restored_tuner_fits_with_the_adapters_callbacks(tmp_path, ray_tmpdir):  # noqa: F811
    """End to end: the first fit has no Recorder; the resumed fit reports to it. It runs in a
    fresh process with its own local Ray, so no Ray state left by earlier tests can block it."""
    import json
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    code = ("import json, sys; from tests.integration.test_ray_compat import _fit_restore_fit; "
            "print('RESULT ' + json.dumps(_fit_restore_fit(sys.argv[1])))")
    env = {**os.environ, "RAY_TMPDIR": str(ray_tmpdir)}  # Ray's processes: killed at teardown
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-2000:]
    got = json.loads(lines[-1][len("RESULT "):])
    assert got["first_errors"] and not got["first_events"] and got["can_restore"]
    assert got["second_errors"], "the probe trial should error again when resumed"
    assert got["events"] == ["start", "error"], (
        f"{RAY}: callbacks set by ganbench.run.ray_compat.set_tuner_callbacks on a restored Tuner "
        f"were not called by fit() (events {got['events']})")
    assert any(d.startswith("compat__probe_") for d in got["trial_dirs"]), got["trial_dirs"]
