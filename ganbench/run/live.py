"""The live view of ``ganbench run``: one row per running trial and a footer for the suite.

:class:`LiveTracker` keeps the state from the driver-side Tune events (the runner's
``ProgressCallback`` feeds it the dicts each trial passes to ``tune.report``: see
``ganbench.train.training._eval_summary``); :meth:`LiveTracker.snapshot` hands that state on
as a plain dict; :func:`render_live` turns such a dict into a rich renderable. Times are
seconds on a clock the caller passes in (``time.monotonic()`` in the runner), so all of it is
pure and testable without waiting.

Rates: a trial's steps/s is the step difference of its last two reports over the difference
of their ``elapsed_s`` (seconds since the trial started, measured in the trial's process), or
step / elapsed for its first report. The suite's rate is the steps done in this session
(finished trials count their whole budget) over the seconds since the first trial started;
the ETA is the steps left over that rate, computed at each event and counted down between
events. Until a step has been reported there is no rate and the ETA is "—".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table

__all__ = ["LiveTracker", "render_live", "eval_text", "format_duration"]

DASH = "—"


@dataclass
class _Running:
    """One running trial: its budget (steps), last reported step and the time of that report
    (``t``: seconds since the trial started), its steps/s and its latest metrics."""

    dataset: str
    combo: str
    steps: int
    started: float
    step: int = 0
    t: float | None = None
    rate: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)


#: Keys of a trial's report shown as its latest evaluation (see :func:`eval_text`).
METRIC_KEYS = ("seeds_alive", "modes_covered", "modes_total", "hq_fraction", "fid", "dist")


def _spec_of(config: dict[str, Any] | None) -> dict[str, Any]:
    return dict((config or {}).get("spec") or {})


def _budget_of(config: dict[str, Any] | None) -> int:
    """The trial's budget in steps from its Tune config (0 if unknown)."""
    return int((_spec_of(config).get("budget") or {}).get("steps") or 0)


def _number(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None


class LiveTracker:
    """The state of a running suite, updated from driver-side Tune events.

    Args:
        total_trials: trials in the suite (dataset × combo × hyperparameter samples).
        total_steps: the sum of every trial's budget, in steps.
        now: the clock's current reading (seconds).
        done, failed: trials already finished (ok / failed) before this session (a resume).
        done_steps: the budgets of those trials, in steps.

    Every method taking ``now`` expects readings of the same clock. Thread-safe: Tune calls
    the update methods on the driver's thread, rich's refresh thread calls :meth:`snapshot`.
    """

    def __init__(self, total_trials: int, total_steps: int, now: float, *, done: int = 0,
                 failed: int = 0, done_steps: int = 0):
        self.total_trials, self.total_steps = int(total_trials), int(total_steps)
        self.done, self.failed = int(done), int(failed)
        self.t0 = now
        self._base_steps = int(done_steps)
        self._finished_steps = 0          # budgets of the trials finished in this session
        self._running: dict[str, _Running] = {}
        self._first_start: float | None = None
        self._eta: tuple[float, float] | None = None  # (time of the estimate, seconds left)
        self._rate: float | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ events
    def start(self, key: str, config: dict[str, Any] | None, now: float) -> None:
        """Trial ``key`` (Tune's trial id) started; ``config`` is its Tune config."""
        with self._lock:
            self._ensure(key, config, now)

    def result(self, key: str, config: dict[str, Any] | None, result: dict[str, Any],
               now: float) -> None:
        """Trial ``key`` reported ``result`` (what it passed to ``tune.report``). Reports
        without a ``step`` (the final checkpoint report) only mark a failed trial."""
        with self._lock:
            tr = self._ensure(key, config, now)
            if result.get("failed"):
                tr.metrics["failed"] = 1.0
            step = _number(result.get("step"))
            if step is None:
                return
            t = _number(result.get("elapsed_s"))
            t = now - tr.started if t is None else t
            if tr.t is not None and t > tr.t and step > tr.step:
                tr.rate = (step - tr.step) / (t - tr.t)
            elif tr.t is None and t > 0 and step > 0:
                tr.rate = step / t
            tr.step, tr.t = int(step), t
            tr.steps = int(_number(result.get("steps_total")) or tr.steps)
            tr.metrics.update({k: v for k in METRIC_KEYS
                               if (v := _number(result.get(k))) is not None})
            self._estimate(now)

    def finish(self, key: str, config: dict[str, Any] | None, failed: bool, now: float) -> None:
        """Trial ``key`` ended: completed (failed if it errored or reported ``failed``)."""
        with self._lock:
            tr = self._running.pop(key, None) or _Running("", "", _budget_of(config), now)
            failed = failed or bool(tr.metrics.get("failed"))
            self.failed += int(failed)
            self.done += int(not failed)
            self._finished_steps += tr.steps
            self._estimate(now)

    # ------------------------------------------------------------------ state
    def _ensure(self, key: str, config: dict[str, Any] | None, now: float) -> _Running:
        if key not in self._running:
            spec = _spec_of(config)
            self._running[key] = _Running(str(spec.get("dataset", "?")), str(spec.get("combo", "?")),
                                          _budget_of(config), now)
            if self._first_start is None:
                self._first_start = now
        return self._running[key]

    def _session_steps(self) -> int:
        return self._finished_steps + sum(tr.step for tr in self._running.values())

    def _estimate(self, now: float) -> None:
        """Re-estimate the suite's rate (steps/s) and the seconds left, at time ``now``."""
        steps = self._session_steps()
        if self._first_start is None or steps <= 0 or now <= self._first_start:
            return
        self._rate = steps / (now - self._first_start)
        left = max(0, self.total_steps - self._base_steps - steps)
        self._eta = (now, left / self._rate)

    def snapshot(self, now: float) -> dict[str, Any]:
        """The state as plain data (the input of :func:`render_live`):

        ``total``, ``done``, ``failed``, ``running``, ``pending`` (trial counts; done excludes
        failed), ``elapsed_s`` (seconds since the tracker was made), ``rate`` (the suite's
        steps/s, None until measured), ``eta_s`` (seconds left, None until there is a rate;
        0 once every trial has finished) and ``trials``: per running trial, in start order,
        ``dataset``, ``combo``, ``step``, ``steps`` (its budget), ``rate`` (steps/s or None)
        and ``metrics`` (its latest values of :data:`METRIC_KEYS`).
        """
        with self._lock:
            running = list(self._running.values())
            finished = self.done + self.failed
            eta = None
            if self._eta is not None:
                eta = max(0.0, self._eta[1] - (now - self._eta[0]))
            if not running and finished >= self.total_trials:
                eta = 0.0
            return {
                "total": self.total_trials, "done": self.done, "failed": self.failed,
                "running": len(running),
                "pending": max(0, self.total_trials - finished - len(running)),
                "elapsed_s": max(0.0, now - self.t0), "rate": self._rate, "eta_s": eta,
                "trials": [{"dataset": tr.dataset, "combo": tr.combo, "step": tr.step,
                            "steps": tr.steps, "rate": tr.rate, "metrics": dict(tr.metrics)}
                           for tr in running],
            }


# ---------------------------------------------------------------------- rendering
def format_duration(seconds: float | None) -> str:
    """``h:mm:ss`` (``m:ss`` under an hour) of a duration in seconds; "—" for None."""
    if seconds is None:
        return DASH
    s = int(round(max(0.0, seconds)))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _count(n: int) -> str:
    """A step count in at most 5 characters: 950, 12000 → 12k, 1500000 → 1.5M."""
    if n < 10_000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.0f}k"
    return f"{n / 1e6:.3g}M"


def _rate_text(rate: float | None) -> str:
    """Steps per second in at most 5 characters: 3 significant digits under 100, whole
    numbers up to 9999, then thousands (12.3k); "—" for None."""
    if rate is None:
        return DASH
    if rate >= 9999.5:
        return f"{rate / 1000:.3g}k"
    return f"{rate:.0f}" if rate >= 99.95 else f"{rate:.3g}"


def eval_text(metrics: dict[str, float]) -> str:
    """The latest evaluation of a trial in a few words: ``modes 7.5/8`` (mean modes covered
    over the live seeds, of the total), ``HQ 93%`` (high-quality share), ``FID 41.2`` and
    ``dist 0.83`` (Dirac-GAN distance to the equilibrium), whichever the trial reported;
    ``all seeds diverged`` once no seed is alive, ``failed`` once the trial reported a
    failure, ``—`` before any evaluation."""
    if metrics.get("failed"):
        return "failed"
    parts = []
    if "modes_covered" in metrics:
        of = f"/{metrics['modes_total']:.0f}" if "modes_total" in metrics else ""
        parts.append(f"modes {metrics['modes_covered']:.3g}{of}")
    if "hq_fraction" in metrics:
        parts.append(f"HQ {100 * metrics['hq_fraction']:.0f}%")
    if "fid" in metrics:
        parts.append(f"FID {metrics['fid']:.3g}")
    if "dist" in metrics:
        parts.append(f"dist {metrics['dist']:.3g}")
    if metrics.get("seeds_alive") == 0:
        parts = ["all seeds diverged"]
    return " · ".join(parts) or DASH


def _footer(state: dict[str, Any]) -> Table:
    """One line (where the console is wide enough): the trial counts (done excludes failed;
    ``done`` is shown of the total), then the elapsed time and the ETA, which are never
    broken (the counts wrap first)."""
    counts = (f"done {state['done']}/{state['total']} · running {state['running']} · "
              f"pending {state['pending']} · failed {state['failed']}")
    if state["eta_s"] == 0 and not state["running"] and not state["pending"]:
        tail = "finished"
    else:
        tail = f"ETA {format_duration(state['eta_s'])}"
    grid = Table.grid(padding=(0, 1))
    grid.add_column(overflow="fold")
    grid.add_column(no_wrap=True)
    grid.add_row(counts, f"│ elapsed {format_duration(state['elapsed_s'])} · {tail}")
    return grid


def _table(trials: list[dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, expand=False)
    # rich narrows wrappable columns first: the names give way, the numbers keep their width
    table.add_column("dataset", overflow="ellipsis")
    table.add_column("combo", overflow="ellipsis")
    table.add_column("step", justify="right", no_wrap=True)
    table.add_column("steps/s", justify="right", no_wrap=True)
    table.add_column("latest evaluation", no_wrap=True)
    for t in trials:
        table.add_row(t["dataset"], t["combo"], f"{_count(t['step'])}/{_count(t['steps'])}",
                      _rate_text(t["rate"]), eval_text(t["metrics"]))
    return table


def render_live(state: dict[str, Any]) -> RenderableType:
    """The live view of a :meth:`LiveTracker.snapshot`: a table of the running trials (none
    when nothing runs) above a footer line of trial counts, elapsed time and the suite's ETA.
    The table keeps within the console's width (long dataset and combo names end in "…")."""
    parts: list[RenderableType] = []
    if state["trials"]:
        parts.append(_table(state["trials"]))
    parts.append(_footer(state))
    return Group(*parts)
