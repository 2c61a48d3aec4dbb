"""Judging a reproduction: published values beside measured ones, and a mark per claim.

A suite's ``reference:`` block (:mod:`ganbench.config.reference`) lists the paper's values and
claims. :func:`reproduction_tables` computes three tables from the per-seed rows:

* ``reproduction_values`` — each published value beside the measured mean with its Student t
  interval, the measured std and n;
* ``reproduction_claims`` — each claim with its statistics, its mark and the reason;
* ``reproduction_protocol`` — each protocol setting of the paper beside the run's, and whether
  they differ; the block's free-text differences follow.

**Marks** (``reproduced``, ``not reproduced``, ``inconclusive``), at the run's α:

* *order* claim "``higher`` > ``lower`` on metric m" (n_h and n_l seeds; diverged seeds ranked
  worst on m's direction, as in the comparisons with the baseline). The exact two-sided
  Mann–Whitney p is Holm-corrected over the suite's order claims.
  - **reproduced**: Holm-adjusted p < α and the effect points the claimed way (Cliff's δ > 0);
  - **not reproduced**: the Welch (1−α) interval of mean(higher) − mean(lower) lies at or below
    0 (the data exclude the claimed positive difference; an exact tie at zero variance counts),
    or Holm-adjusted p < α with the effect pointing the other way;
  - **inconclusive**: otherwise, and always when the design cannot reach significance (the
    smallest attainable Holm-adjusted p, a complete separation, is not below α).
* *value* claim "combo's m lies in [lo, hi]" (diverged seeds enter as the worst value of m's
  direction: the interval becomes unbounded on that side).
  - **reproduced**: the (1−2α) t interval of the mean lies inside the band (two one-sided tests
    of equivalence at α);
  - **not reproduced**: the (1−α) t interval lies entirely outside the band;
  - **inconclusive**: otherwise (the interval overlaps a band edge), or fewer than two seeds
    with a non-degenerate interval.

Both rules were checked by simulation (``validation/claims_simulation.py``; the unit tests
repeat a smaller version): a false claim is marked reproduced at most at rate α.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ganbench.config import catalog
from ganbench.config.reference import Claim, Reference
from ganbench.results import stats

__all__ = ["ReproductionTables", "reproduction_tables", "judge_order", "judge_value",
           "MARKS", "describe_rules"]

MARKS = ("reproduced", "not reproduced", "inconclusive")


@dataclass
class ReproductionTables:
    values: pd.DataFrame
    claims: pd.DataFrame
    protocol: pd.DataFrame


def describe_rules(alpha: float) -> dict[str, str]:
    """The rule behind each mark, as the Methods section prints it."""
    lvl = f"{100 * (1 - alpha):g}%"
    lvl2 = f"{100 * (1 - 2 * alpha):g}%"
    return {
        "order": (
            "An order claim (A higher than B on a metric) is reproduced when the exact two-sided "
            f"Mann–Whitney rank test, Holm-corrected over the suite's order claims, gives p < {alpha:g} "
            "and Cliff's δ points the claimed way; not reproduced when the Welch "
            f"{lvl} interval of mean(A) − mean(B) lies at or below 0 (this includes an exact tie "
            "with zero variance) or the test is significant the other way; inconclusive "
            "otherwise, and always when the design cannot reach significance (the smallest "
            f"attainable Holm-adjusted p is not below {alpha:g}). Diverged seeds rank worst."),
        "value": (
            "A value claim (a combo's mean within a band: the published value ± a stated "
            f"tolerance, or stated bounds) is reproduced when the {lvl2} Student t interval of the "
            f"mean lies inside the band (two one-sided tests of equivalence at {alpha:g}); not "
            f"reproduced when the {lvl} interval lies entirely outside it; inconclusive when the "
            "interval overlaps an edge of the band or fewer than two seeds ran. Diverged seeds "
            "enter as the worst value, which leaves the interval open on that side."),
    }


def _sides(trials: pd.DataFrame, dataset: str, combo: str, metric: str) -> tuple[np.ndarray, int, int]:
    """One combo's seeds on ``metric``: the finite values of the seeds that did not diverge, the
    number of diverged seeds, and the number of seeds that ran without diverging but have no
    finite value (the metric is undefined there). Missing seeds are left out."""
    rows = trials[(trials["dataset"].astype(str) == dataset) & (trials["combo"].astype(str) == combo)]
    if "status" in rows.columns:
        rows = rows[rows["status"] != "missing"]
        diverged = (rows["status"] == stats.DIVERGED_STATUS).to_numpy(dtype=bool)
    else:
        diverged = np.zeros(len(rows), dtype=bool)
    k = int(diverged.sum())
    if metric not in rows.columns:
        return np.array([], dtype=float), k, int(len(rows)) - k
    finite = stats.finite_values(rows.loc[~diverged, metric])
    return finite, k, int(len(rows)) - k - int(finite.size)


def _ranked(values: np.ndarray, k_div: int, worst: float | None) -> np.ndarray:
    """Rank values of a side: its finite values plus one ``worst`` per diverged seed (diverged
    seeds are left out where the metric has no direction)."""
    return np.concatenate([values, np.full(k_div, worst)]) if worst is not None else values


def _chance_level(trials: pd.DataFrame, dataset: str, metric: str) -> float | None:
    """For a toy coverage claim: the modes a uniform spread of the same samples covers by
    chance (mean of ``chance_coverage`` over the dataset's seeds); None otherwise. It does not
    change a mark: a coverage at chance level is named in the reason."""
    if metric != "modes_covered" or "chance_coverage" not in trials.columns:
        return None
    vals = stats.finite_values(trials.loc[trials["dataset"].astype(str) == dataset, "chance_coverage"])
    return float(np.mean(vals)) if vals.size else None


def _worst(metric: str) -> float | None:
    spec = catalog.spec(metric)
    if spec is None or not spec.better:
        return None
    return -math.inf if spec.better == "higher" else math.inf


def judge_order(a: np.ndarray, ka: int, b: np.ndarray, kb: int, worst: float | None,
                p_holm: float, can_reach: bool, alpha: float,
                undefined: tuple[int, int] = (0, 0)) -> tuple[str, str, dict[str, float]]:
    """Mark of "A higher than B" from A's finite values ``a`` (``ka`` diverged seeds), B's
    ``b`` (``kb``), the Holm-adjusted p of the pair and whether the design can reach α;
    ``undefined`` counts each side's seeds that ran but have no value of the metric (named in
    the reason).

    Returns ``(mark, reason, statistics)``.
    """
    ra, rb = _ranked(a, ka, worst), _ranked(b, kb, worst)
    lo, hi = stats.welch_diff_ci(a, b, level=1 - alpha)
    delta = stats.cliffs_delta(ra, rb) if ra.size and rb.size else float("nan")
    st = {"mean_higher": float(np.mean(a)) if a.size else float("nan"),
          "mean_lower": float(np.mean(b)) if b.size else float("nan"),
          "diff_ci_lo": lo, "diff_ci_hi": hi, "cliffs_delta": delta, "p_holm": p_holm}
    st["diff"] = st["mean_higher"] - st["mean_lower"]
    if not can_reach:
        why = (f"the design cannot reach significance ({ra.size} vs {rb.size} seeds with a "
               "value, after the correction)")
        if any(undefined):
            why += (f"; the metric is undefined on {undefined[0]} and {undefined[1]} seeds "
                    "(e.g. no high-quality sample for a KL of the high-quality histogram)")
        return "inconclusive", why, st
    if p_holm < alpha and delta > 0:
        return "reproduced", f"higher as claimed (Holm p = {p_holm:.3g}, δ = {delta:+.2f})", st
    if p_holm < alpha and delta < 0:
        return "not reproduced", f"lower, significantly (Holm p = {p_holm:.3g}, δ = {delta:+.2f})", st
    if np.isfinite(hi) and hi <= 0:
        if lo == hi == 0:
            return "not reproduced", "no difference: both sides measured the same value on every seed", st
        return "not reproduced", (f"the interval of the difference [{lo:.3g}, {hi:.3g}] excludes "
                                  "the claimed increase"), st
    return "inconclusive", f"not significant (Holm p = {p_holm:.3g}) and the interval covers 0", st


def _mean_interval(values: np.ndarray, k_div: int, worst: float | None,
                   level: float) -> tuple[float, float]:
    lo, hi = stats.mean_ci(values, level=level)
    if k_div and worst is not None:
        lo, hi = (-math.inf, hi) if worst < 0 else (lo, math.inf)
        if values.size < 2:
            lo, hi = (-math.inf, math.inf) if values.size == 0 else (
                (-math.inf, float(values[0])) if worst < 0 else (float(values[0]), math.inf))
    return lo, hi


def judge_value(values: np.ndarray, k_div: int, worst: float | None, band: tuple[float, float],
                alpha: float) -> tuple[str, str, dict[str, float]]:
    """Mark of "the mean lies in ``band``" from the finite values and ``k_div`` diverged seeds."""
    lo_b, hi_b = band
    st = {"mean": float(np.mean(values)) if values.size else float("nan"),
          "band_lo": lo_b, "band_hi": hi_b}
    n = values.size + (k_div if worst is not None else 0)
    if n < 2 or (values.size < 2 and not k_div):
        st.update(ci_lo=float("nan"), ci_hi=float("nan"))
        return "inconclusive", f"{n} seed(s): no interval", st
    eq_lo, eq_hi = _mean_interval(values, k_div, worst, 1 - 2 * alpha)
    lo, hi = _mean_interval(values, k_div, worst, 1 - alpha)
    st.update(ci_lo=lo, ci_hi=hi, eq_ci_lo=eq_lo, eq_ci_hi=eq_hi)
    if lo_b <= eq_lo and eq_hi <= hi_b:
        return "reproduced", f"the {100 * (1 - 2 * alpha):g}% interval lies inside the band", st
    if hi < lo_b or lo > hi_b:
        return "not reproduced", f"the {100 * (1 - alpha):g}% interval lies outside the band", st
    return "inconclusive", "the interval overlaps an edge of the band", st


def _fmt_band(band: tuple[float, float]) -> str:
    lo, hi = band
    if math.isinf(lo):
        return f"≤ {hi:g}"
    if math.isinf(hi):
        return f"≥ {lo:g}"
    return f"[{lo:g}, {hi:g}]"


def _order_sides(trials: pd.DataFrame, c: Claim) -> tuple[tuple[np.ndarray, int, int], ...]:
    return (_sides(trials, c.dataset, c.higher or "", c.metric),
            _sides(trials, c.dataset, c.lower or "", c.metric))


def _claims_table(trials: pd.DataFrame, ref: Reference, alpha: float) -> pd.DataFrame:
    orders = [c for c in ref.claims if c.kind == "order"]
    sides = {c.id: _order_sides(trials, c) for c in orders}
    ranked = {c.id: tuple(_ranked(v, k, _worst(c.metric)) for v, k, _ in sides[c.id]) for c in orders}
    raw_p = [stats.rank_test_p(*ranked[c.id]) for c in orders]
    adjusted = stats.holm([p if np.isfinite(p) else 1.0 for p in raw_p]) if orders else []
    rows = []
    for c in ref.claims:
        row: dict[str, Any] = {"claim": c.id, "text": c.text, "source": c.source, "kind": c.kind,
                               "dataset": c.dataset, "metric": c.metric}
        w = _worst(c.metric)
        if c.kind == "order":
            (a, ka, ua), (b, kb, ub) = sides[c.id]
            na, nb = (r.size for r in ranked[c.id])
            p_adj = float(adjusted[orders.index(c)])
            can = na >= 1 and nb >= 1 and stats.min_attainable_p(na, nb, len(orders)) < alpha
            mark, reason, st = judge_order(a, ka, b, kb, w, p_adj, can, alpha, (ua, ub))
            row.update(combos=f"{c.higher} > {c.lower}", n=a.size + ka, n_other=b.size + kb,
                       n_diverged=ka + kb, **st)
            row["measured"] = f"{st['mean_higher']:.3g} vs {st['mean_lower']:.3g}"
            row["claimed"] = f"{c.higher} > {c.lower}"
        else:
            v, k, _ = _sides(trials, c.dataset, c.combo or "", c.metric)
            mark, reason, st = judge_value(v, k, w, c.band(), alpha)
            row.update(combos=c.combo, n=v.size + k, n_diverged=k, **st)
            row["measured"] = f"{st['mean']:.3g}"
            row["claimed"] = _fmt_band(c.band())
        chance = _chance_level(trials, c.dataset, c.metric)
        if chance is not None:
            row["chance_level"] = chance
            measured = [row.get("mean_higher"), row.get("mean")]
            if any(isinstance(m, float) and np.isfinite(m) and m <= chance for m in measured):
                reason += (f"; note: the measured coverage is at or below the chance level of a "
                           f"uniform spread ({chance:.3g} modes)")
        row["mark"] = mark
        row["reason"] = reason
        rows.append(row)
    return pd.DataFrame(rows)


def _values_table(trials: pd.DataFrame, ref: Reference, alpha: float) -> pd.DataFrame:
    rows = []
    for v in ref.values:
        vals, k, _ = _sides(trials, v.dataset, v.combo, v.metric)
        lo, hi = stats.mean_ci(vals, level=1 - alpha)
        rows.append({
            "dataset": v.dataset, "combo": v.combo, "paper_name": ref.names.get(v.combo, v.combo),
            "metric": v.metric, "source": v.source, "published_mean": v.mean,
            "published_spread": v.spread, "spread_kind": v.spread_kind, "published_n": v.n,
            "verified": v.verified,
            "measured_mean": float(np.mean(vals)) if vals.size else float("nan"),
            "measured_ci_lo": lo, "measured_ci_hi": hi,
            "measured_std": float(np.std(vals, ddof=1)) if vals.size > 1 else float("nan"),
            "n": int(vals.size), "n_diverged": k,
        })
    return pd.DataFrame(rows, columns=[
        "dataset", "combo", "paper_name", "metric", "source", "published_mean", "published_spread",
        "spread_kind", "published_n", "verified", "measured_mean", "measured_ci_lo", "measured_ci_hi",
        "measured_std", "n", "n_diverged"])


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    return a == b


def _protocol_table(ref: Reference, run_values: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for path, entry in ref.protocol.items():
        run = run_values.get(path)
        rows.append({"setting": path, "paper": _show(entry.paper), "run": _show(run),
                     "differs": not _same(entry.paper, run), "note": entry.note})
    for text in ref.differences:
        rows.append({"setting": "", "paper": "", "run": "", "differs": True, "note": text})
    return pd.DataFrame(rows, columns=["setting", "paper", "run", "differs", "note"])


def _show(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    return "" if v is None else str(v)


def reproduction_tables(trials: pd.DataFrame, reference: Mapping[str, Any] | Reference,
                        run_protocol: Mapping[str, Any], alpha: float) -> ReproductionTables:
    """The three reproduction tables (see the module docstring) of a run.

    Args:
        trials: per-seed rows (``dataset``, ``combo``, ``status`` and the metric columns).
        reference: the suite's ``reference`` block (validated model or its dump).
        run_protocol: suite field path → the run's value, for each path of the block's
            ``protocol`` (recorded in the manifest when the run started).
        alpha: the run's family-wise error rate.
    """
    ref = reference if isinstance(reference, Reference) else Reference.model_validate(dict(reference))
    return ReproductionTables(values=_values_table(trials, ref, alpha),
                              claims=_claims_table(trials, ref, alpha),
                              protocol=_protocol_table(ref, run_protocol))
