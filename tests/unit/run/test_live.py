"""The live view of ``ganbench run``: rendering a state with real rich output at 80 columns,
the tracker's rates and ETA, and the Tune callback fed with the dicts real trials report."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from rich.console import Console

from ganbench.config.suite import expand, parse_suite
from ganbench.run import runner
from ganbench.run.live import LiveTracker, _rate_text, eval_text, format_duration, render_live
from ganbench.train.training import train_trial
from tests.conftest import TINY_SUITE

HEADERS = ("dataset", "combo", "step", "steps/s", "latest evaluation")


def _render(renderable, width: int = 80) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue().splitlines()


def _config(dataset: str, combo: str, steps: int) -> dict:
    return {"spec": {"trial_id": f"{dataset}__{combo}", "dataset": dataset, "combo": combo,
                     "budget": {"steps": steps}}}


def _state(**over) -> dict:
    state = {"total": 6, "done": 2, "failed": 1, "running": 2, "pending": 1, "elapsed_s": 83.0,
             "rate": 40.0, "eta_s": 250.0,
             "trials": [
                 {"dataset": "ring", "combo": "vanilla", "step": 200, "steps": 400, "rate": 95.5,
                  "metrics": {"modes_covered": 7.5, "modes_total": 8, "hq_fraction": 0.934,
                              "seeds_alive": 2}},
                 {"dataset": "stacked_digits_with_a_long_name",
                  "combo": "minibatch_discrimination_and_more", "step": 12000,
                  "steps": 20000, "rate": None,
                  "metrics": {"modes_covered": 880, "modes_total": 1000, "fid": 41.23}},
                 {"dataset": "dirac", "combo": "minimax", "step": 300, "steps": 400,
                  "rate": 12000.0, "metrics": {"dist": 0.8312}},
             ]}
    state.update(over)
    return state


def test_render_has_the_columns_and_the_eta_and_fits_80_columns():
    lines = _render(render_live(_state()))
    assert all(h in lines[0] for h in HEADERS), lines[0]
    assert all(len(line) <= 80 for line in lines), [len(x) for x in lines]
    text = "\n".join(lines)
    ring = next(line for line in lines if line.startswith("ring"))
    assert "200/400" in ring and "95.5" in ring and "modes 7.5/8 · HQ 93%" in ring
    # long names give way ("…"); the numbers and the evaluation stay whole
    assert "12k/20k" in text and "modes 880/1000 · FID 41.2" in text and "…" in text
    dirac = next(line for line in lines if line.startswith("dirac"))
    assert "300/400" in dirac and "12k" in dirac and "dist 0.831" in dirac
    footer = lines[-1]
    assert "done 2/6 · running 2 · pending 1 · failed 1" in footer
    assert "elapsed 1:23" in footer and footer.rstrip().endswith("ETA 4:10")


def test_eta_is_a_dash_until_there_is_a_rate_and_finished_at_the_end():
    lines = _render(render_live(_state(trials=[], running=0, eta_s=None, rate=None)))
    assert lines[-1].rstrip().endswith("ETA —") and len(lines) == 1  # no empty table
    done = _render(render_live(_state(trials=[], done=5, running=0, pending=0, eta_s=0.0)))
    assert done[-1].rstrip().endswith("finished")


def test_format_duration_and_eval_text():
    assert format_duration(None) == "—"
    assert format_duration(59.6) == "1:00" and format_duration(3725) == "1:02:05"
    assert [_rate_text(r) for r in (None, 66.66, 1510.2, 12345)] == ["—", "66.7", "1510", "12.3k"]
    assert eval_text({}) == "—"
    assert eval_text({"modes_covered": 3, "modes_total": 25, "hq_fraction": 0.5}) == "modes 3/25 · HQ 50%"
    assert eval_text({"seeds_alive": 0, "modes_covered": 1}) == "all seeds diverged"
    assert eval_text({"failed": 1.0, "dist": 1.0}) == "failed"


def test_tracker_rates_and_eta():
    t = LiveTracker(total_trials=3, total_steps=3 * 400, now=0.0)
    assert t.snapshot(1.0)["eta_s"] is None and t.snapshot(1.0)["pending"] == 3
    t.start("a", _config("ring", "vanilla", 400), now=10.0)
    t.result("a", None, {"step": 100, "elapsed_s": 4.0}, now=14.0)       # first: step / elapsed
    assert t.snapshot(14.0)["trials"][0]["rate"] == pytest.approx(25.0)
    t.result("a", None, {"step": 200, "elapsed_s": 6.0}, now=16.0)       # then: Δstep / Δt
    snap = t.snapshot(16.0)
    assert snap["trials"][0]["rate"] == pytest.approx(50.0)
    # suite: 200 steps in the 6 s since the first trial started; 1000 steps left
    assert snap["rate"] == pytest.approx(200 / 6) and snap["eta_s"] == pytest.approx(30.0)
    assert t.snapshot(26.0)["eta_s"] == pytest.approx(20.0)               # counts down between events
    t.finish("a", None, failed=False, now=20.0)                            # its whole budget is done
    snap = t.snapshot(20.0)
    assert (snap["done"], snap["running"], snap["pending"]) == (1, 0, 2)
    assert snap["eta_s"] == pytest.approx(800 / (400 / 10))


def test_tracker_counts_failures_and_resumed_trials():
    t = LiveTracker(total_trials=4, total_steps=400, now=0.0, done=1, failed=1, done_steps=200)
    t.start("x", _config("ring", "a", 100), now=1.0)
    t.result("x", None, {"done_trial": 1, "failed": 1}, now=2.0)          # trainable caught an error
    assert "failed" in _render(render_live(t.snapshot(2.0)))[2]
    t.finish("x", None, failed=False, now=2.0)
    t.start("y", _config("ring", "b", 100), now=2.0)
    t.finish("y", None, failed=True, now=3.0)                              # on_trial_error
    snap = t.snapshot(3.0)
    assert (snap["done"], snap["failed"], snap["pending"]) == (1, 3, 0)


def _real_reports(dataset: str) -> list[dict]:
    """What each evaluation of a real tiny trial passes to ``tune.report``."""
    spec = next(s for s in expand(parse_suite(TINY_SUITE)) if s.dataset == dataset)
    reports: list[dict] = []
    train_trial(spec, on_eval=lambda rec: reports.append(runner.eval_report(rec, 0.01 * rec["step"])))
    return [spec, reports]


@pytest.fixture
def live_slot():
    tracker = LiveTracker(total_trials=2, total_steps=120, now=0.0)
    runner._PROGRESS["tracker"] = tracker
    yield tracker
    runner._PROGRESS.pop("tracker", None)


def test_callback_fed_with_real_trial_reports(live_slot):
    cb = runner.ProgressCallback()
    runs = {ds: _real_reports(ds) for ds in ("ring", "dirac")}
    ring_reports = runs["ring"][1]
    assert [r["step"] for r in ring_reports] == [30, 60]
    assert {"steps_total", "seeds_alive", "modes_total", "elapsed_s"} <= set(ring_reports[0])
    assert "dist" in runs["dirac"][1][0] and "modes_covered" not in runs["dirac"][1][0]
    trials = {}
    for ds, (spec, reports) in runs.items():
        trial = SimpleNamespace(trial_id=f"t_{ds}", config={"spec": spec.to_dict()})
        trials[ds] = trial
        cb.on_trial_start(0, [], trial)
        cb.on_trial_result(0, [], trial, {**reports[0], "time_total_s": 0.3, "trial_id": "t"})
    lines = _render(render_live(live_slot.snapshot(5.0)))
    assert all(h in lines[0] for h in HEADERS)
    ring = next(line for line in lines if line.startswith("ring"))
    assert "30/60" in ring and "modes " in ring and "/8" in ring and "HQ " in ring
    dirac = next(line for line in lines if line.startswith("dirac"))
    assert "30/60" in dirac and "dist " in dirac
    assert "running 2" in lines[-1] and "ETA —" not in lines[-1]
    cb.on_trial_result(0, [], trials["ring"], ring_reports[1])
    cb.on_trial_complete(0, [], trials["ring"])
    cb.on_trial_error(0, [], trials["dirac"])
    snap = live_slot.snapshot(6.0)
    assert (snap["done"], snap["failed"], snap["running"], snap["pending"]) == (1, 1, 0, 0)
    assert _render(render_live(snap))[-1].rstrip().endswith("finished")


def test_callback_does_nothing_without_a_view():
    assert "tracker" not in runner._PROGRESS
    trial = SimpleNamespace(trial_id="t", config=_config("ring", "a", 10))
    runner.ProgressCallback().on_trial_result(0, [], trial, {"step": 5})  # no error, no state


def test_a_broken_view_never_stops_the_suite(live_slot):
    trial = SimpleNamespace(trial_id="t", config="not a dict")
    runner.ProgressCallback().on_trial_result(0, [], trial, {"step": 5})  # raises inside: dropped
    assert "tracker" not in runner._PROGRESS


def test_live_view_off_shows_nothing():
    with runner.live_view(False, 3, 300) as tracker:
        assert tracker is None and "tracker" not in runner._PROGRESS


def test_live_view_off_a_terminal_prints_the_final_state_once():
    out = io.StringIO()
    console = Console(file=out, width=80, color_system=None)  # a file: not a terminal
    with runner.live_view(True, 1, 50, console=console) as tracker:
        assert runner._PROGRESS["tracker"] is tracker
        tracker.start("a", _config("ring", "vanilla", 50), now=tracker.t0)
        tracker.finish("a", None, failed=False, now=tracker.t0 + 1)
    assert "tracker" not in runner._PROGRESS
    console.print("next")
    lines = out.getvalue().splitlines()
    assert sum("done 1/1" in line for line in lines) == 1, lines
    assert lines[-1] == "next"  # what follows starts on a line of its own
    lines = lines[:-1]
    assert lines[-1].rstrip().endswith("finished") and all(len(x) <= 80 for x in lines)
