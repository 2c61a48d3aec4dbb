#!/usr/bin/env python
"""Suite-level costs that ``benchmarks/bench.py`` (one ``Trainer.step()`` in a loop) leaves out.

1. :func:`measure_ray_overhead` — what running a suite through Ray Tune costs on top of the
   training itself: ``ray.init``, Tune's scheduling, actor start-up and checkpointing, and
   :func:`ganbench.run.runner.collect`, with ``reuse_actors`` on (what ``run_trials`` uses) and off.
2. :func:`measure_cpus_per_trial` — the same suite with ``resources: {cpus_per_trial: 1}``
   (several trials at once, one torch thread each) against ``cpus_per_trial: 2`` (one trial
   at a time with two threads), as suite-level seed-steps/s.
3. :func:`measure_compile` — ``torch.compile`` (default inductor) on ``Trainer.G`` / ``Trainer.D``
   against eager ``Trainer.step()``: compile time, steady-state ms/step and break-even steps.

Each function returns a plain dict of measured numbers; :func:`markdown` renders them.
Timings are reported, never asserted. ``python benchmarks/bench_suite.py`` runs all three
at a modest size and prints the Markdown (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

if not os.environ.get("MPLCONFIGDIR"):
    os.environ["MPLCONFIGDIR"] = tempfile.mkdtemp(prefix="ganbench-mpl-")

from ganbench.run import process  # noqa: E402  (imports no torch)

os.environ.setdefault("GOMP_SPINCOUNT", process.GOMP_SPINCOUNT)  # as in the trial workers
import torch  # noqa: E402
import torch._dynamo  # noqa: E402

from ganbench.run import runner  # noqa: E402  (sets the quiet Ray environment before importing ray)
from ganbench.config.suite import TrialSpec, expand, parse_suite  # noqa: E402
from common import RING_MODEL_YAML, cpu_name, loadavg  # noqa: E402  (benchmarks/ is on sys.path)

BENCH_DIR = Path(__file__).resolve().parent

# The ring/grid trials at the size of Metz et al. (2016), as in bench.py's SUITE_TEMPLATE:
# z_dim 256, G 256→128→128→2, D 2→128→1, ReLU, batch 512, Adam(1e-4, (0.5, 0.999)), plain
# non-saturating loss, alternating updates, n_critic 1, CPU.
SUITE_TEMPLATE = """\
name: bench-suite
seeds: {seeds}
budget: {{steps: {steps}, eval_every: {eval_every}, eval_samples: 2500, log_every: {log_every}}}
datasets: {{{datasets}}}
""" + RING_MODEL_YAML + """\
combos:
{combos}
resources: {{cpus_per_trial: {cpus}, gpus_per_trial: 0}}
device: cpu
"""

DATASETS = ("ring", "grid")


def suite_text(trials: int, steps: int, seeds: int, cpus_per_trial: float = 1) -> str:
    """Suite text with exactly ``trials`` trials: ⌈trials/2⌉ identical combos × {ring, grid}
    (the last combo on ring only when ``trials`` is odd)."""
    if trials < 1:
        raise ValueError("trials must be at least 1")
    n_datasets = 1 if trials == 1 else 2
    n_combos = math.ceil(trials / n_datasets)
    combos = []
    for i in range(n_combos):
        only = ", datasets: [ring]" if n_datasets == 2 and trials % 2 and i == n_combos - 1 else ""
        combos.append(f"  c{i}: {{loss: non_saturating, update: alternating, n_critic: 1{only}}}")
    cpus = int(cpus_per_trial) if float(cpus_per_trial).is_integer() else cpus_per_trial
    return SUITE_TEMPLATE.format(seeds=seeds, steps=steps, eval_every=steps,
                                 log_every=min(50, steps), cpus=cpus,
                                 datasets=", ".join(f"{d}: {{}}" for d in DATASETS[:n_datasets]),
                                 combos="\n".join(combos))


def suite_specs(trials: int, steps: int, seeds: int, cpus_per_trial: float = 1) -> list[TrialSpec]:
    specs = expand(parse_suite(suite_text(trials, steps, seeds, cpus_per_trial)))
    assert len(specs) == trials, (len(specs), trials)
    return specs


# ----------------------------------------------------------------------------- machine
def machine_info() -> dict[str, str]:
    cpu = cpu_name()
    import ray

    return {"cpu": cpu, "cores": str(os.cpu_count()), "torch": torch.__version__,
            "ray": ray.__version__, "python": platform.python_version(),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


# ----------------------------------------------------------------------------- Ray plumbing
@contextlib.contextmanager
def ray_session() -> Iterator[dict[str, Any]]:
    """A quiet local Ray for the duration of the block, with a short ``RAY_TMPDIR``.

    Yields ``{"ray_init_s": seconds of init_ray (None if Ray was already running), "cpus": CPUs
    Ray offers}``. Shuts Ray down and removes the temp dir afterwards, unless Ray was already
    running when the block started (then it is left as it was).
    """
    import ray

    if ray.is_initialized():
        yield {"ray_init_s": None, "cpus": float(ray.cluster_resources().get("CPU", 0))}
        return
    old = os.environ.get("RAY_TMPDIR")
    tmp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    os.environ["RAY_TMPDIR"] = tmp
    try:
        t0 = time.perf_counter()
        runner.init_ray(None, num_cpus=os.cpu_count())
        init_s = time.perf_counter() - t0
        yield {"ray_init_s": init_s, "cpus": float(ray.cluster_resources().get("CPU", 0))}
    finally:
        ray.shutdown()
        if old is None:
            os.environ.pop("RAY_TMPDIR", None)
        else:
            os.environ["RAY_TMPDIR"] = old
        shutil.rmtree(tmp, ignore_errors=True)


def _tuner_fit(specs: list[TrialSpec], run_dir: Path, reuse_actors: bool) -> Any:
    """``run_trials`` without its progress bar, resume and sweep handling, and with
    ``reuse_actors`` as given (``run_trials`` hard-codes True)."""
    from ray import tune

    cpus = max(s.cpus for s in specs)
    fn = tune.with_resources(runner.trainable, {"cpu": cpus})
    tuner = tune.Tuner(
        fn,
        param_space={"spec": tune.grid_search([s.to_dict() for s in specs])},
        tune_config=tune.TuneConfig(reuse_actors=reuse_actors,
                                    trial_dirname_creator=runner._trial_dirname),
        run_config=tune.RunConfig(name=runner.TUNE_NAME, storage_path=str((run_dir / "ray").resolve()),
                                  verbose=0),
    )
    return tuner.fit()


def timed_suite_run(specs: list[TrialSpec], cpus: float, *, reuse_actors: bool = True,
                    via: str = "run_trials") -> dict[str, Any]:
    """Run ``specs`` through Tune on the running Ray; time ``fit`` and ``collect``.

    ``via="run_trials"`` calls :func:`ganbench.run.runner.run_trials` (always ``reuse_actors=True``);
    ``via="tuner"`` builds the same Tuner here with ``reuse_actors`` as given.
    """
    if via == "run_trials" and not reuse_actors:
        raise ValueError("run_trials always reuses actors; use via='tuner' for reuse_actors=False")
    run_dir = Path(tempfile.mkdtemp(prefix="ganbench-bench-suite-"))
    try:
        load0 = loadavg()
        t0 = time.perf_counter()
        if via == "run_trials":
            results = runner.run_trials(specs, run_dir, show_progress=False)
        elif via == "tuner":
            results = _tuner_fit(specs, run_dir, reuse_actors)
        else:
            raise ValueError(f"via must be 'run_trials' or 'tuner', not {via!r}")
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        trials, _history, _samples = runner.collect(results, specs)
        collect_s = time.perf_counter() - t0
        load1 = loadavg()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    n = len(specs)
    cpus_per_trial = max(s.cpus for s in specs)
    steps = int(specs[0].budget.steps)
    seeds = len(specs[0].seeds)
    slots = max(1, min(n, int(math.floor(cpus / cpus_per_trial + 1e-9))))
    ok = trials[trials["status"] == "ok"] if len(trials) else trials
    per_trial: dict[str, float] = {}
    if len(ok) and "trial_wall_s" in ok:
        for (ds, combo), v in ok.groupby(["dataset", "combo"], sort=False)["trial_wall_s"]:
            per_trial[f"{ds}__{combo}"] = float(v.iloc[0])
    train_sum = float(sum(per_trial.values()))
    ideal = train_sum / slots
    overhead = fit_s - ideal
    statuses = trials["status"].value_counts().to_dict() if len(trials) else {}
    return {
        "via": via, "reuse_actors": reuse_actors, "trials": n, "trials_ok": len(per_trial),
        "seeds": seeds, "steps": steps, "cpus_per_trial": cpus_per_trial, "slots": slots,
        "statuses": {str(k): int(v) for k, v in statuses.items()},
        "fit_wall_s": fit_s, "collect_s": collect_s,
        "train_s": per_trial, "train_sum_s": train_sum,
        "train_mean_s": train_sum / len(per_trial) if per_trial else float("nan"),
        "ideal_wall_s": ideal, "overhead_s": overhead, "overhead_per_trial_s": overhead / n,
        "overhead_pct": 100.0 * overhead / fit_s if fit_s > 0 else float("nan"),
        "seed_steps_per_s": n * seeds * steps / fit_s,
        "train_seed_steps_per_s": (len(per_trial) * seeds * steps / train_sum) if train_sum else float("nan"),
        "loadavg": f"{load0} → {load1}",
    }


# ----------------------------------------------------------------------------- 1. Ray overhead
def measure_ray_overhead(steps: int = 200, trials: int = 8, seeds: int = 8, cpus_per_trial: int = 1,
                         reuse_actors: bool = True) -> dict[str, Any]:
    """Time ``ray.init``, Tune's ``fit`` and ``collect`` for a suite of ``trials`` ring/grid
    trials, against the trials' own training time.

    The suite is run twice on one Ray session: first with ``reuse_actors`` as given (True runs
    :func:`ganbench.run.runner.run_trials` itself; False an equivalent Tuner built here), then with
    the other setting. The top-level numbers are those of the first run; ``runs`` holds both.
    """
    specs = suite_specs(trials, steps, seeds, cpus_per_trial)
    with ray_session() as session:
        cpus = session["cpus"]
        runs = []
        for flag in (reuse_actors, not reuse_actors):
            runs.append(timed_suite_run(specs, cpus, reuse_actors=flag,
                                        via="run_trials" if flag else "tuner"))
    main = runs[0]
    out: dict[str, Any] = {
        "kind": "ray_overhead", "steps": steps, "trials": trials, "seeds": seeds,
        "cpus": cpus, "cpus_per_trial": cpus_per_trial, "slots": main["slots"],
        "reuse_actors": reuse_actors, "ray_init_s": session["ray_init_s"],
    }
    for k in ("fit_wall_s", "train_sum_s", "ideal_wall_s", "overhead_s", "overhead_per_trial_s",
              "overhead_pct", "collect_s", "trials_ok"):
        out[k] = main[k]
    out["runs"] = runs
    by_flag = {r["reuse_actors"]: r for r in runs}
    out["reuse_saves_s"] = by_flag[False]["fit_wall_s"] - by_flag[True]["fit_wall_s"]
    return out


# ----------------------------------------------------------------------------- 2. cpus per trial
def measure_cpus_per_trial(steps: int = 200, trials: int = 4, seeds: int = 8) -> dict[str, Any]:
    """The same suite through ``run_trials`` with ``cpus_per_trial`` 1 and then 2 (one Ray
    session, ``ray.init`` not counted); suite-level seed-steps/s = trials × seeds × steps ÷
    Tune fit wall time."""
    by: dict[int, dict[str, Any]] = {}
    with ray_session() as session:
        cpus = session["cpus"]
        for c in (1, 2):
            if c > cpus:
                by[c] = {"available": False, "why": f"Ray offers only {cpus:g} CPUs"}
                continue
            by[c] = {"available": True,
                     **timed_suite_run(suite_specs(trials, steps, seeds, c), cpus, reuse_actors=True)}
    rates = {c: r["seed_steps_per_s"] for c, r in by.items() if r.get("available")}
    faster = max(rates, key=rates.get) if rates else None
    speedup = rates[2] / rates[1] if len(rates) == 2 else float("nan")
    return {"kind": "cpus_per_trial", "steps": steps, "trials": trials, "seeds": seeds,
            "cpus": cpus, "ray_init_s": session["ray_init_s"],
            "seed_steps_per_s": rates, "faster": faster, "speedup_2_over_1": speedup,
            "runs": by}


# ----------------------------------------------------------------------------- 3. torch.compile
def _bench_module() -> Any:
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    import bench  # benchmarks/bench.py

    return bench


def _time_steps(fn: Any, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return time.perf_counter() - t0


def _inductor_cache(fresh: bool) -> Any:
    """A fresh, temporary inductor cache dir (cold compile, as on a new machine), or the
    default one when ``fresh`` is False or torch lacks the helper."""
    if fresh:
        try:
            from torch._inductor.utils import fresh_cache

            return fresh_cache()
        except Exception:
            pass
    return contextlib.nullcontext()


def _clear_inductor_memory() -> None:
    """Forget compiled code held in this process (the on-disk cache stays)."""
    torch._dynamo.reset()
    try:
        from torch._inductor.utils import clear_caches

        clear_caches()
    except Exception:
        pass


def measure_compile(S: int = 8, steps: int = 50, *, threads: int = 2, first: int = 3,
                    repeats: int = 3, trial_steps: int = 20_000, fresh_cache: bool = True,
                    warm: bool = True) -> dict[str, Any]:
    """Eager ``Trainer.step()`` against the same step with ``torch.compile(tr.G)`` and
    ``torch.compile(tr.D)`` (default inductor), on bench.py's ring trial with ``S`` seeds.

    compile_s = (first ``first`` steps of a fresh compiled trainer) − (first ``first`` steps of
    a fresh eager one), with an empty inductor cache when ``fresh_cache``; steady ms/step =
    median over ``repeats`` interleaved blocks of ``steps`` steps; break-even = compile_s ÷
    (eager − compiled) s/step (inf if compiled is not faster); keep = compiled wins over a
    ``trial_steps`` trial including compile_s. With ``warm``, compile_warm_s is the same
    difference for a third trainer compiled after ``torch._dynamo.reset()`` and clearing
    inductor's in-memory caches, so it reads inductor's on-disk cache as a later trial process
    would. Any failure is returned as ``{"available": False, "error": ...}``.
    """
    base = {"kind": "compile", "S": S, "steps": steps, "threads": threads, "first": first,
            "repeats": repeats, "trial_steps": trial_steps, "fresh_cache": fresh_cache,
            "torch": torch.__version__}
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    load0 = loadavg()
    try:
        bench = _bench_module()
        spec = bench.bench_spec(S, threads)
        cpu = torch.device("cpu")

        def fresh_pair() -> tuple[Any, float, Any]:
            """A fresh eager trainer after ``first`` steps, their time, and a fresh compiled one."""
            tr_e = bench.Trainer(spec, device=cpu)
            t = _time_steps(tr_e.step, first)
            tr_c = bench.Trainer(spec, device=cpu)
            tr_c.G = torch.compile(tr_c.G)
            tr_c.D = torch.compile(tr_c.D)
            return tr_e, t, tr_c

        torch._dynamo.reset()
        with _inductor_cache(fresh_cache):
            tr_e, eager_first_s, tr_c = fresh_pair()
            compiled_first_s = _time_steps(tr_c.step, first)  # compiles (lazily) here
            with torch.no_grad():  # both started alike and took `first` steps: G must agree
                diff = max(float((a - b).abs().max()) for a, b in
                           zip(tr_e.G.parameters(), tr_c.G.parameters()))
            eager, compiled = [], []
            _time_steps(tr_e.step, 2)
            _time_steps(tr_c.step, 2)
            for _ in range(repeats):  # interleaved, so load bursts hit both alike
                eager.append(_time_steps(tr_e.step, steps) / steps)
                compiled.append(_time_steps(tr_c.step, steps) / steps)
            warm_s: float | None = None
            if warm:
                del tr_e, tr_c
                _clear_inductor_memory()
                _, eager_first2_s, tr_w = fresh_pair()
                warm_s = _time_steps(tr_w.step, first) - eager_first2_s
    except Exception as exc:  # report, never crash the bench
        return {**base, "available": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
    finally:
        _clear_inductor_memory()
        torch.set_num_threads(old_threads)
    e, c = statistics.median(eager), statistics.median(compiled)
    compile_s = compiled_first_s - eager_first_s
    gain = e - c
    if gain > 0:
        break_even = max(0.0, compile_s) / gain
    else:
        break_even = float("inf")
    keep = trial_steps * c + compile_s < trial_steps * e
    keep_warm = None if warm_s is None else bool(trial_steps * c + warm_s < trial_steps * e)
    return {**base, "available": True,
            "eager_first_s": eager_first_s, "compiled_first_s": compiled_first_s,
            "compile_s": compile_s, "compile_warm_s": warm_s,
            "eager_ms": 1e3 * e, "compiled_ms": 1e3 * c,
            "eager_ms_all": [1e3 * x for x in eager], "compiled_ms_all": [1e3 * x for x in compiled],
            "speedup": e / c, "break_even_steps": break_even, "keep": bool(keep),
            "keep_if_warm": keep_warm,
            "trial_eager_s": trial_steps * e, "trial_compiled_s": trial_steps * c + compile_s,
            "param_max_abs_diff": diff, "loadavg": f"{load0} → {loadavg()}"}


# ----------------------------------------------------------------------------- Markdown
def _f(x: Any, nd: int = 2) -> str:
    if x is None:
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    if isinstance(x, float) and math.isnan(x):
        return "?"
    return f"{x:,.{nd}f}"


def md_table(head: list[str], body: list[list[str]]) -> str:
    align = [":---"] + ["---:"] * (len(head) - 1)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def _md_ray(r: dict[str, Any]) -> list[str]:
    L = ["## Ray Tune overhead", ""]
    L.append(f"A suite of {r['trials']} trials (ring and grid, identical plain non-saturating combos, "
             f"Metz-size networks, {r['seeds']} seeds × {r['steps']} steps each, one evaluation of "
             f"2,500 samples at the end, probes every {min(50, r['steps'])} steps) run through Ray Tune "
             f"on a local Ray with {r['cpus']:g} CPUs and `cpus_per_trial: {r['cpus_per_trial']:g}`, "
             f"so {r['slots']} trial(s) run at once. *ray.init* is `ganbench.run.runner.init_ray` "
             "(timed once, before both runs; — means Ray was already running). *fit wall* is the wall time of `Tuner.fit()` "
             "(`run_trials` for reuse_actors=True; the same Tuner built in the bench for False), "
             "the two runs one after the other on the same Ray. *training* is the sum over trials of "
             "the trial's own wall time (`trial_wall_s` from `train_trial`: building the Trainer, "
             "training, probes and the evaluation). *ideal wall* = training ÷ concurrent slots; "
             "*overhead* = fit wall − ideal wall (actor start-up and torch import in the workers, "
             "scheduling, result reporting, checkpoint writing, and slots left idle). *collect* "
             "is `runner.collect` reading the checkpoints back.")
    L.append("")
    L.append(md_table(["", *[f"reuse_actors={x['reuse_actors']} ({x['via']})" for x in r["runs"]]],
                      [["ray.init (s)", *[_f(r["ray_init_s"]) for _ in r["runs"]]],
                       ["Tune fit wall (s)", *[_f(x["fit_wall_s"]) for x in r["runs"]]],
                       ["training, sum over trials (s)", *[_f(x["train_sum_s"]) for x in r["runs"]]],
                       ["training, mean per trial (s)", *[_f(x["train_mean_s"]) for x in r["runs"]]],
                       ["concurrent slots", *[str(x["slots"]) for x in r["runs"]]],
                       ["ideal wall = training ÷ slots (s)", *[_f(x["ideal_wall_s"]) for x in r["runs"]]],
                       ["overhead = fit − ideal (s)", *[_f(x["overhead_s"]) for x in r["runs"]]],
                       ["overhead per trial (s)", *[_f(x["overhead_per_trial_s"]) for x in r["runs"]]],
                       ["overhead share of fit wall", *[f"{_f(x['overhead_pct'], 0)}%" for x in r["runs"]]],
                       ["collect (s)", *[_f(x["collect_s"]) for x in r["runs"]]],
                       ["trials ok", *[f"{x['trials_ok']}/{x['trials']}" for x in r["runs"]]],
                       ["load average (before → after)", *[x["loadavg"] for x in r["runs"]]]]))
    L.append("")
    saves = r["reuse_saves_s"]
    L.append(f"Reusing actors saves {_f(saves)} s of fit wall time on this suite." if saves >= 0 else
             f"Reusing actors cost {_f(-saves)} s of fit wall time on this suite (reuse was slower).")
    L.append("")
    return L


def _md_cpus(r: dict[str, Any]) -> list[str]:
    L = ["## cpus_per_trial: parallel trials or parallel threads", ""]
    L.append(f"The same kind of suite ({r['trials']} trials, {r['seeds']} seeds × {r['steps']} steps) through "
             f"`run_trials` on a local Ray with {r['cpus']:g} CPUs, once with `resources: "
             "{cpus_per_trial: 1}` (trials run side by side, one torch thread each) and once with "
             "`cpus_per_trial: 2` (one trial at a time; `train_trial` sets two torch threads). "
             "*seed-steps/s* = trials × seeds × steps ÷ Tune fit wall time (ray.init not counted, "
             "actor start-up counted). *per-trial seed-steps/s* = trials × seeds × steps ÷ the trials' "
             "summed own wall time (`trial_wall_s`): the rate of one trial process, which with trials "
             "side by side is below the suite's rate.")
    L.append("")
    body = []
    for c, x in r["runs"].items():
        if not x.get("available"):
            body.append([f"cpus_per_trial: {c}", "—", "—", "—", "—", x.get("why", "")])
            continue
        body.append([f"cpus_per_trial: {c}", str(x["slots"]), _f(x["fit_wall_s"]), _f(x["seed_steps_per_s"], 0),
                     _f(x["train_seed_steps_per_s"], 0), x["loadavg"]])
    L.append(md_table(["setting", "trials at once", "fit wall (s)", "seed-steps/s",
                       "per-trial seed-steps/s", "load average"], body))
    L.append("")
    if r["faster"] is not None:
        L.append(f"Faster: **cpus_per_trial: {r['faster']}** (2 ÷ 1 = {_f(r['speedup_2_over_1'])}×).")
        L.append("")
    return L


def _md_compile(r: dict[str, Any]) -> list[str]:
    L = ["## torch.compile", ""]
    if not r.get("available"):
        L.append(f"`torch.compile` (torch {r['torch']}) on the ring trial at S={r['S']}: "
                 f"not available — `{r['error'].splitlines()[0] if r['error'] else '?'}`.")
        L.append("")
        return L
    L.append(f"bench.py's ring trial at S={r['S']}, {r['threads']} torch threads: eager `Trainer.step()` "
             "against the same trainer after `tr.G = torch.compile(tr.G)` and `tr.D = torch.compile(tr.D)` "
             f"(default inductor, torch {r['torch']}). *compile time* = the first {r['first']} steps of a fresh "
             f"compiled trainer − the first {r['first']} steps of a fresh eager one. Steady state: "
             f"{r['repeats']} interleaved blocks of {r['steps']} steps each after 2 more warm-up steps; "
             "ms/step is the median block. *break-even* = compile time ÷ (eager − compiled) s/step. "
             f"*keep* = compiled is faster over a {r['trial_steps']:,}-step trial including compile time. "
             + ("The inductor cache was empty (a temporary cache dir), so this is a cold compile. "
                if r["fresh_cache"] else "Inductor's default on-disk cache was used (it may be warm). ")
             + ("*warm compile* repeats the measurement with a third trainer after `torch._dynamo.reset()` "
                "and clearing inductor's in-memory caches, i.e. reading the on-disk cache the way a later "
                "trial process on the same machine would. " if r["compile_warm_s"] is not None else "")
             + f"After the first {r['first']} steps, G's parameters of the two trainers differed by at most "
             f"{r['param_max_abs_diff']:.1e}.")
    L.append("")
    L.append(md_table(["", "eager", "compiled"],
                      [["first steps (s)", _f(r["eager_first_s"]), _f(r["compiled_first_s"])],
                       ["steady ms/step (median)", _f(r["eager_ms"]), _f(r["compiled_ms"])],
                       ["blocks (ms/step)", ", ".join(_f(x, 1) for x in r["eager_ms_all"]),
                        ", ".join(_f(x, 1) for x in r["compiled_ms_all"])],
                       [f"{r['trial_steps']:,}-step trial (s)", _f(r["trial_eager_s"], 0),
                        _f(r["trial_compiled_s"], 0)]]))
    L.append("")
    warm = ("" if r["compile_warm_s"] is None else
            f" (warm: {_f(r['compile_warm_s'])} s, keep: {'yes' if r['keep_if_warm'] else 'no'})")
    L.append(f"Compile time {_f(r['compile_s'])} s{warm}; speed-up {_f(r['speedup'])}×; break-even after "
             f"{_f(r['break_even_steps'], 0)} steps; **keep: {'yes' if r['keep'] else 'no'}**. "
             f"Load average {r['loadavg']}.")
    L.append("")
    return L


def markdown(results: dict[str, Any], header: bool = True) -> str:
    """Markdown for ``{"ray_overhead": ..., "cpus_per_trial": ..., "compile": ...}`` (any subset;
    a single function's dict is accepted too) plus an optional ``"machine"`` dict. ``header``
    False leaves out the title (``bench.py`` appends the sections to BENCHMARKS.md)."""
    if "kind" in results:
        results = {results["kind"]: results}
    L: list[str] = []
    if header:
        L += ["# ganbench suite-level benchmarks", ""]
        L.append("Written by `benchmarks/bench_suite.py`. Timings are what this machine did on this run; "
                 "nothing here is asserted.")
        L.append("")
    info = results.get("machine")
    if info:
        L.append(md_table(["machine", ""], [[k, str(v)] for k, v in info.items()]))
        L.append("")
    if results.get("ray_overhead"):
        L += _md_ray(results["ray_overhead"])
    if results.get("cpus_per_trial"):
        L += _md_cpus(results["cpus_per_trial"])
    if results.get("compile"):
        L += _md_compile(results["compile"])
    return "\n".join(L).rstrip() + "\n"


# ----------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: few steps, seeds and trials")
    ap.add_argument("--out", type=Path, default=None, help="also write the Markdown here")
    args = ap.parse_args(argv)
    if args.quick:
        sizes = dict(steps=20, trials=4, seeds=2), dict(steps=20, trials=2, seeds=2), dict(S=2, steps=10)
    else:
        sizes = dict(steps=200, trials=8, seeds=8), dict(steps=200, trials=4, seeds=8), dict(S=8, steps=50)
    t0 = time.perf_counter()
    results: dict[str, Any] = {"machine": {**machine_info(), "load average at start": loadavg()}}
    results["ray_overhead"] = measure_ray_overhead(**sizes[0])
    results["cpus_per_trial"] = measure_cpus_per_trial(**sizes[1])
    results["compile"] = measure_compile(**sizes[2])
    results["machine"]["load average at end"] = loadavg()
    results["machine"]["wall time"] = f"{time.perf_counter() - t0:.0f} s"
    md = markdown(results)
    print(md)
    if args.out is not None:
        args.out.write_text(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
