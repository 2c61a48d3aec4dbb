"""benchmarks/bench_suite.py at a tiny size: real Ray, real training, real torch.compile.

Only the structure of the returned numbers and relations that hold by construction are
checked (e.g. Tune's fit wall time is at least the trials' own training time spread over the
slots); no timing thresholds.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
from pathlib import Path

import pytest
import torch

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

import bench_suite as bs  # noqa: E402

STEPS, TRIALS, SEEDS = 5, 2, 2
RUN_KEYS = {"via", "reuse_actors", "trials", "trials_ok", "seeds", "steps", "cpus_per_trial", "slots",
            "statuses", "fit_wall_s", "collect_s", "train_s", "train_sum_s", "train_mean_s",
            "ideal_wall_s", "overhead_s", "overhead_per_trial_s", "overhead_pct", "seed_steps_per_s",
            "train_seed_steps_per_s", "loadavg"}


def _check_run(run: dict, trials: int, seeds: int, steps: int, cpus: float) -> None:
    assert RUN_KEYS <= set(run)
    assert run["trials"] == trials and run["trials_ok"] == trials
    assert run["statuses"] == {"ok": trials * seeds}
    assert len(run["train_s"]) == trials and all(v > 0 for v in run["train_s"].values())
    assert math.isclose(run["train_sum_s"], sum(run["train_s"].values()))
    assert run["slots"] == max(1, min(trials, int(cpus // run["cpus_per_trial"])))
    assert math.isclose(run["ideal_wall_s"], run["train_sum_s"] / run["slots"])
    assert run["fit_wall_s"] > 0 and run["collect_s"] >= 0
    # every trial runs inside fit and at most `slots` at once: fit wall ≥ training ÷ slots
    assert run["fit_wall_s"] >= max(run["train_s"].values()) * 0.999
    assert run["overhead_s"] >= -1e-3 * run["fit_wall_s"]
    assert math.isclose(run["overhead_s"], run["fit_wall_s"] - run["ideal_wall_s"])
    assert math.isclose(run["overhead_per_trial_s"], run["overhead_s"] / trials)
    assert math.isclose(run["seed_steps_per_s"], trials * seeds * steps / run["fit_wall_s"])


@pytest.fixture(scope="module")
def ray_up():
    """One real local Ray for both Ray tests (saves a second ray.init), started and stopped by
    the bench's own ``ray_session``; the functions use a running Ray as they find it."""
    import ray

    before = os.environ.get("RAY_TMPDIR")
    assert not ray.is_initialized()
    with bs.ray_session() as session:
        tmp = os.environ["RAY_TMPDIR"]
        assert session["ray_init_s"] > 0 and session["cpus"] >= 1
        assert len(tmp) < 40 and Path(tmp).is_dir()
        yield session
    assert not ray.is_initialized()
    assert os.environ.get("RAY_TMPDIR") == before
    assert not Path(tmp).exists()


def test_suite_text_matches_bench_trial():
    bench = bs._bench_module()
    ref = bench.bench_spec(2, 1, steps=7)
    for n in (1, 2, 3, 4, 8):
        specs = bs.suite_specs(n, 7, 2, 1)
        assert len({s.trial_id for s in specs}) == n
        assert {s.dataset for s in specs} <= {"ring", "grid"}
        for s in specs:
            assert (s.model, s.optimizer, s.loss, s.update, s.n_critic, s.remedies) == \
                   (ref.model, ref.optimizer, ref.loss, ref.update, ref.n_critic, ref.remedies)
            assert s.budget.model_dump() == {"steps": 7, "eval_every": 7, "eval_samples": 2500, "log_every": 7}
            assert s.seeds == [0, 1] and s.cpus == 1 and s.device == "cpu"
    assert {s.cpus for s in bs.suite_specs(2, 7, 2, 2)} == {2}


def test_compile():
    threads = torch.get_num_threads()
    env = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    r = bs.measure_compile(S=1, steps=2, first=1, repeats=2, warm=False)
    assert torch.get_num_threads() == threads
    assert os.environ.get("TORCHINDUCTOR_CACHE_DIR") == env
    assert r["kind"] == "compile" and r["S"] == 1
    if not r["available"]:  # only acceptable where inductor has no C++ compiler to call
        assert r["error"]
        assert not (shutil.which("g++") or shutil.which("c++")), r["error"]
        assert "not available" in bs.markdown(r)
        return
    assert len(r["eager_ms_all"]) == len(r["compiled_ms_all"]) == 2
    assert r["eager_ms"] > 0 and r["compiled_ms"] > 0 and r["eager_first_s"] > 0
    assert math.isfinite(r["compile_s"])
    assert math.isclose(r["compile_s"], r["compiled_first_s"] - r["eager_first_s"])
    assert math.isclose(r["speedup"], r["eager_ms"] / r["compiled_ms"])
    gain_s = (r["eager_ms"] - r["compiled_ms"]) / 1e3
    if gain_s > 0:
        assert math.isclose(r["break_even_steps"], max(0.0, r["compile_s"]) / gain_s)
    else:
        assert r["break_even_steps"] == math.inf
    n = r["trial_steps"]
    assert r["keep"] == (n * r["compiled_ms"] / 1e3 + r["compile_s"] < n * r["eager_ms"] / 1e3)
    assert r["compile_warm_s"] is None and r["keep_if_warm"] is None
    # the compiled step computes the same update (Adam bounds one step's change by ~lr)
    assert r["param_max_abs_diff"] < 1e-3
    md = bs.markdown(r)
    assert "## torch.compile" in md and "| steady ms/step (median) |" in md
    assert f"**keep: {'yes' if r['keep'] else 'no'}**" in md


def test_ray_overhead(ray_up):
    import ray

    r = bs.measure_ray_overhead(steps=STEPS, trials=TRIALS, seeds=SEEDS)
    assert ray.is_initialized()  # Ray was running before, so it is left running
    assert r["kind"] == "ray_overhead" and r["reuse_actors"] is True
    assert r["ray_init_s"] is None and r["cpus"] == ray_up["cpus"]
    assert [x["reuse_actors"] for x in r["runs"]] == [True, False]
    assert [x["via"] for x in r["runs"]] == ["run_trials", "tuner"]
    for run in r["runs"]:
        _check_run(run, TRIALS, SEEDS, STEPS, r["cpus"])
    main = r["runs"][0]
    for k in ("fit_wall_s", "train_sum_s", "ideal_wall_s", "overhead_s", "overhead_per_trial_s", "collect_s"):
        assert r[k] == main[k]
    assert math.isclose(r["reuse_saves_s"], r["runs"][1]["fit_wall_s"] - r["runs"][0]["fit_wall_s"])
    md = bs.markdown(r)
    assert "## Ray Tune overhead" in md and "| Tune fit wall (s) |" in md
    assert "reuse_actors=False (tuner)" in md and "| ray.init (s) | — | — |" in md


def test_cpus_per_trial(ray_up):
    trials = 1  # one trial per setting keeps the test short; the slots logic is checked above
    r = bs.measure_cpus_per_trial(steps=STEPS, trials=trials, seeds=SEEDS)
    assert r["kind"] == "cpus_per_trial" and set(r["runs"]) == {1, 2}
    avail = [c for c, x in r["runs"].items() if x["available"]]
    assert 1 in avail and (2 in avail) == (r["cpus"] >= 2)
    for c in avail:
        run = r["runs"][c]
        assert run["cpus_per_trial"] == c
        _check_run(run, trials, SEEDS, STEPS, r["cpus"])
        assert r["seed_steps_per_s"][c] == run["seed_steps_per_s"]
    assert r["faster"] == max(r["seed_steps_per_s"], key=r["seed_steps_per_s"].get)
    if len(avail) == 2:
        assert r["runs"][1]["slots"] == r["runs"][2]["slots"] == 1
        assert math.isclose(r["speedup_2_over_1"], r["seed_steps_per_s"][2] / r["seed_steps_per_s"][1])
    md = bs.markdown(r)
    assert "## cpus_per_trial" in md and "| cpus_per_trial: 1 |" in md
    assert f"Faster: **cpus_per_trial: {r['faster']}**" in md


def test_markdown_all_sections_and_failures():
    fake_run = {"available": False, "why": "Ray offers only 1 CPUs"}
    md = bs.markdown({
        "machine": {"cpu": "x", "cores": "1"},
        "cpus_per_trial": {"kind": "cpus_per_trial", "steps": 1, "trials": 1, "seeds": 1, "cpus": 1.0,
                           "ray_init_s": 1.0, "seed_steps_per_s": {}, "faster": None,
                           "speedup_2_over_1": float("nan"), "runs": {1: fake_run, 2: fake_run}},
        "compile": {"kind": "compile", "S": 1, "torch": "t", "available": False, "error": "Boom: no\nmore"},
    })
    assert md.startswith("# ganbench suite-level benchmarks")
    assert "| machine |  |" in md and "| cpu | x |" in md
    assert "not available — `Boom: no`" in md
    assert "Faster" not in md
    for line in md.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")
