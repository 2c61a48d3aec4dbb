"""Statistics across seeds (DESIGN.md §4, "Statistics across seeds").

GAN results vary a lot from seed to seed, so every number the report shows over seeds comes with
its spread and an uncertainty estimate, and every combo is compared with the suite's baseline by a
test that does not assume normality.

Protocol (printed in the report's Methods section via :func:`describe_protocol`):

* **Summary per group:** mean, sample standard deviation (ddof=1), median, and a percentile
  bootstrap confidence interval of the mean (``DEFAULT_RESAMPLES`` resamples, ``DEFAULT_LEVEL``
  two-sided, RNG ``numpy.random.default_rng(BOOTSTRAP_SEED)``), so numbers are reproducible.
* **Against the baseline:** the difference of means (combo − baseline) with a percentile bootstrap
  CI that resamples the two groups independently, a two-sided Mann–Whitney U test, and a
  Holm–Bonferroni correction across all combos compared on the same metric within the same group
  (e.g. dataset).
* **Missing values:** only finite values enter a statistic. NaN (metric not computed) and ±inf
  (typically a diverged run) are dropped; the per-metric counts (``<metric>_n``, ``n``) say how
  many values were used, so a reader can see when seeds were lost. Divergence itself is reported
  through the verdicts (:func:`verdict_rates`).

All functions are pure: they never modify their inputs and depend only on their arguments.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats as _sps

__all__ = [
    "DEFAULT_RESAMPLES",
    "DEFAULT_LEVEL",
    "BOOTSTRAP_SEED",
    "SIGNIFICANCE_ALPHA",
    "describe_protocol",
    "finite_values",
    "bootstrap_ci",
    "bootstrap_diff_ci",
    "summarize",
    "mann_whitney_p",
    "holm",
    "compare_to_baseline",
    "split_verdicts",
    "verdict_rates",
]

#: Number of bootstrap resamples used by default for every confidence interval.
DEFAULT_RESAMPLES: int = 10_000
#: Two-sided confidence level of the bootstrap intervals (0.95 = 95% CI).
DEFAULT_LEVEL: float = 0.95
#: Seed of ``numpy.random.default_rng`` used for every bootstrap, so reports are reproducible.
BOOTSTRAP_SEED: int = 0
#: Family-wise error rate at which a Holm-corrected comparison is called significant.
SIGNIFICANCE_ALPHA: float = 0.05

# Bootstrap index matrices larger than this many elements are drawn in chunks of resamples to
# bound memory (int64 indices: 2**24 elements = 128 MiB). Seed counts are far below this.
_MAX_BOOT_ELEMENTS = 2**24


def describe_protocol() -> dict[str, Any]:
    """Return the statistical settings used across seeds, for the report's Methods section.

    Returns:
        A JSON-serialisable dict with keys:

        * ``"bootstrap"``: ``"percentile"`` (the CI method),
        * ``"n_resamples"``: number of bootstrap resamples (int),
        * ``"level"``: two-sided confidence level (float in (0, 1), e.g. 0.95),
        * ``"seed"``: seed of ``numpy.random.default_rng`` used for resampling (int),
        * ``"ci_statistic"``: the statistic whose CI is reported in summaries (``"mean"``),
        * ``"std_ddof"``: delta degrees of freedom of the reported standard deviation (1),
        * ``"rank_test"``: the test used against the baseline,
        * ``"multiple_comparisons"``: the correction and the family it is applied over,
        * ``"alpha"``: family-wise error rate for ``significant`` (float),
        * ``"missing_values"``: how non-finite values are handled.
    """
    return {
        "bootstrap": "percentile",
        "n_resamples": DEFAULT_RESAMPLES,
        "level": DEFAULT_LEVEL,
        "seed": BOOTSTRAP_SEED,
        "ci_statistic": "mean",
        "std_ddof": 1,
        "rank_test": "Mann-Whitney U, two-sided (scipy.stats.mannwhitneyu, method='auto')",
        "multiple_comparisons": (
            "Holm-Bonferroni across all combos compared with the baseline on the same metric "
            "within the same group"
        ),
        "alpha": SIGNIFICANCE_ALPHA,
        "missing_values": "non-finite values (NaN, +/-inf) are dropped; counts report values used",
    }


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def finite_values(values: Any) -> np.ndarray:
    """Return the finite entries of ``values`` as a flat float64 array.

    Args:
        values: Anything ``numpy.asarray`` turns into numbers (list, array, pandas Series);
            ``None`` entries and pandas ``NA`` count as missing.

    Returns:
        1-D float64 array of the finite values, in their original order (NaN and ±inf removed).
    """
    if isinstance(values, (pd.Series, pd.Index)):
        arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray(values, dtype=float)
    arr = arr.ravel()
    return arr[np.isfinite(arr)]


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    return level


def _check_resamples(n_resamples: int) -> int:
    n = int(n_resamples)
    if n < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    return n


def _as_cols(cols: str | Iterable[str]) -> list[str]:
    if isinstance(cols, str):
        return [cols]
    return list(cols)


def _apply_rows(statistic: Callable[..., Any], samples: np.ndarray) -> np.ndarray:
    """Evaluate ``statistic`` on each row of ``samples`` (shape [n_resamples, n])."""
    if statistic is np.mean:
        return samples.mean(axis=1)
    if statistic is np.median:
        return np.median(samples, axis=1)
    return np.apply_along_axis(lambda row: float(statistic(row)), 1, samples)


def _bootstrap_distribution(
    x: np.ndarray, statistic: Callable[..., Any], n_resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Return ``n_resamples`` bootstrap replicates of ``statistic(x)`` (x finite, len >= 1)."""
    n = x.size
    chunk = max(1, _MAX_BOOT_ELEMENTS // n)
    if chunk >= n_resamples:
        idx = rng.integers(0, n, size=(n_resamples, n))
        return _apply_rows(statistic, x[idx])
    out = np.empty(n_resamples, dtype=float)
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = _apply_rows(statistic, x[idx])
    return out


def _percentile_interval(replicates: np.ndarray, level: float) -> tuple[float, float]:
    alpha = 1.0 - level
    lo, hi = np.quantile(replicates, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(lo), float(hi)


# --------------------------------------------------------------------------------------------
# Bootstrap confidence intervals
# --------------------------------------------------------------------------------------------


def bootstrap_ci(
    values: Any,
    statistic: Callable[..., Any] = np.mean,
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int | None = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``statistic(values)``.

    Non-finite values are dropped first. The resamples are drawn in one vectorised step: an index
    matrix of shape ``[n_resamples, n]`` from ``numpy.random.default_rng(seed)`` (in chunks of
    resamples only if that matrix would exceed 2**24 entries). ``np.mean`` and ``np.median`` use
    ``axis=1`` fast paths; any other callable is applied to each resample (row) separately.

    Args:
        values: Per-seed values of one metric (array-like of numbers, any units).
        statistic: Function mapping a 1-D float array to a scalar (default ``np.mean``).
        n_resamples: Number of bootstrap resamples (>= 1).
        level: Two-sided confidence level in (0, 1); 0.95 gives the 2.5% and 97.5% percentiles.
        seed: Seed for ``numpy.random.default_rng``; the same seed and inputs give the same CI.

    Returns:
        ``(lo, hi)`` in the units of ``statistic(values)``. ``(nan, nan)`` if no value is finite;
        ``(v, v)`` with ``v = statistic([x])`` if exactly one value is finite.

    Raises:
        ValueError: If ``level`` is not in (0, 1) or ``n_resamples`` < 1.
    """
    level = _check_level(level)
    n_resamples = _check_resamples(n_resamples)
    x = finite_values(values)
    if x.size == 0:
        return (float("nan"), float("nan"))
    if x.size == 1:
        v = float(statistic(x))
        return (v, v)
    rng = np.random.default_rng(seed)
    return _percentile_interval(_bootstrap_distribution(x, statistic, n_resamples, rng), level)


def bootstrap_diff_ci(
    a: Any,
    b: Any,
    statistic: Callable[..., Any] = np.mean,
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int | None = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap CI of ``statistic(a) - statistic(b)`` for two independent groups.

    Each group is resampled with replacement on its own (``a`` first, then ``b``, from a single
    ``numpy.random.default_rng(seed)``), and the interval is taken from the distribution of the
    differences of the replicates. Non-finite values are dropped from each group first.

    Args:
        a: Values of the first group (e.g. a combo's per-seed metric).
        b: Values of the second group (e.g. the baseline's per-seed metric), same units as ``a``.
        statistic: Function mapping a 1-D float array to a scalar (default ``np.mean``).
        n_resamples: Number of bootstrap resamples (>= 1).
        level: Two-sided confidence level in (0, 1).
        seed: Seed for ``numpy.random.default_rng``.

    Returns:
        ``(lo, hi)`` in the units of the metric. ``(nan, nan)`` if either group has no finite
        value; a degenerate interval ``(d, d)`` if both groups have exactly one finite value.

    Raises:
        ValueError: If ``level`` is not in (0, 1) or ``n_resamples`` < 1.
    """
    level = _check_level(level)
    n_resamples = _check_resamples(n_resamples)
    xa, xb = finite_values(a), finite_values(b)
    if xa.size == 0 or xb.size == 0:
        return (float("nan"), float("nan"))
    if xa.size == 1 and xb.size == 1:
        d = float(statistic(xa)) - float(statistic(xb))
        return (d, d)
    rng = np.random.default_rng(seed)
    ra = _bootstrap_distribution(xa, statistic, n_resamples, rng)
    rb = _bootstrap_distribution(xb, statistic, n_resamples, rng)
    return _percentile_interval(ra - rb, level)


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------


def _usable_metrics(df: pd.DataFrame, metric_cols: str | Iterable[str]) -> list[str]:
    """Metric columns that exist in ``df`` and are numeric (bool counts as numeric), in order."""
    out: list[str] = []
    for m in _as_cols(metric_cols):
        if m in df.columns and m not in out and pd.api.types.is_numeric_dtype(df[m]):
            out.append(m)
    return out


def _groups(df: pd.DataFrame, group_cols: list[str]):
    """Yield ``(key_tuple, sub_frame)`` in order of first appearance; NaN keys are kept."""
    if not group_cols:
        yield (), df
        return
    for key, sub in df.groupby(group_cols, sort=False, dropna=False):
        yield (key if isinstance(key, tuple) else (key,)), sub


def summarize(
    df: pd.DataFrame,
    group_cols: str | Sequence[str],
    metric_cols: str | Sequence[str],
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int | None = BOOTSTRAP_SEED,
) -> pd.DataFrame:
    """Summarise metrics over seeds, one row per group.

    For every group (rows sharing the values of ``group_cols``, in order of first appearance)
    and every usable metric ``m``, only the finite values of ``m`` are used:

    * ``m_mean``: mean,
    * ``m_std``: sample standard deviation (ddof=1); NaN with fewer than 2 finite values,
    * ``m_median``: median,
    * ``m_ci_lo``, ``m_ci_hi``: percentile bootstrap CI of the mean (see :func:`bootstrap_ci`,
      same ``seed`` for every cell, so a cell does not depend on the other groups),
    * ``m_n``: number of finite values used.

    Args:
        df: Long-format results, one row per trial × seed.
        group_cols: Column name(s) that define a group (e.g. ``["dataset", "combo"]``). An empty
            sequence treats the whole frame as one group.
        metric_cols: Metric column name(s). Columns missing from ``df`` or not numeric are
            skipped silently (bool columns are treated as 0/1, so their mean is a rate).
        n_resamples: Bootstrap resamples per CI.
        level: Two-sided confidence level of the CI, in (0, 1).
        seed: Seed for ``numpy.random.default_rng`` used by every CI.

    Returns:
        DataFrame with columns ``group_cols + ["n"]`` followed by the six columns of each usable
        metric in the order given; ``n`` is the number of rows in the group (finite or not).
        Values are in the units of the metric; ``n`` and ``m_n`` are integers.
    """
    group_cols = _as_cols(group_cols)
    metrics = _usable_metrics(df, metric_cols)
    suffixes = ("mean", "std", "median", "ci_lo", "ci_hi", "n")
    columns = group_cols + ["n"] + [f"{m}_{s}" for m in metrics for s in suffixes]
    rows: list[dict[str, Any]] = []
    for key, sub in _groups(df, group_cols):
        row: dict[str, Any] = dict(zip(group_cols, key))
        row["n"] = int(len(sub))
        for m in metrics:
            x = finite_values(sub[m])
            k = int(x.size)
            lo, hi = bootstrap_ci(x, np.mean, n_resamples=n_resamples, level=level, seed=seed)
            row[f"{m}_mean"] = float(np.mean(x)) if k else np.nan
            row[f"{m}_std"] = float(np.std(x, ddof=1)) if k >= 2 else np.nan
            row[f"{m}_median"] = float(np.median(x)) if k else np.nan
            row[f"{m}_ci_lo"] = lo
            row[f"{m}_ci_hi"] = hi
            row[f"{m}_n"] = k
        rows.append(row)
    out = pd.DataFrame(rows, columns=columns)
    int_cols = ["n"] + [f"{m}_n" for m in metrics]
    return out.astype({c: "int64" for c in int_cols})


# --------------------------------------------------------------------------------------------
# Tests and multiple comparisons
# --------------------------------------------------------------------------------------------


def mann_whitney_p(a: Any, b: Any) -> float:
    """Two-sided Mann–Whitney U test p-value for two independent groups.

    Uses ``scipy.stats.mannwhitneyu(a, b, alternative="two-sided", method="auto")`` on the finite
    values of each group (exact distribution for small samples without ties, normal approximation
    with tie correction otherwise).

    Args:
        a: Values of the first group (array-like of numbers).
        b: Values of the second group, same units as ``a``.

    Returns:
        The p-value in [0, 1]. NaN if either group has no finite value; 1.0 if all finite values
        of both groups are identical (no evidence of a difference; scipy may return NaN there).
    """
    xa, xb = finite_values(a), finite_values(b)
    if xa.size < 1 or xb.size < 1:
        return float("nan")
    both = np.concatenate([xa, xb])
    if np.all(both == both[0]):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(_sps.mannwhitneyu(xa, xb, alternative="two-sided", method="auto").pvalue)
    if np.isnan(p):
        return 1.0
    return min(max(p, 0.0), 1.0)


def holm(pvalues: Any) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (step-down).

    With the m non-NaN p-values sorted ascending, p_(1) <= ... <= p_(m), the adjusted value of
    p_(i) is ``min(1, max_{j <= i} (m - j + 1) * p_(j))``, which is monotone in the original
    ordering. Rejecting where the adjusted p-value is below alpha controls the family-wise error
    rate at alpha.

    Args:
        pvalues: Array-like of p-values in [0, 1]; NaN entries are allowed.

    Returns:
        Float array of the same shape as ``pvalues`` with adjusted p-values; NaN entries are
        returned as NaN and do not count towards m.

    Raises:
        ValueError: If a non-NaN p-value lies outside [0, 1].
    """
    p = np.asarray(pvalues, dtype=float)
    flat = p.ravel()
    out = np.full(flat.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(flat))
    if valid.size:
        pv = flat[valid]
        if np.any((pv < 0.0) | (pv > 1.0)):
            raise ValueError("p-values must lie in [0, 1]")
        m = pv.size
        order = np.argsort(pv, kind="stable")
        scaled = (m - np.arange(m)) * pv[order]
        adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
        res = np.empty(m)
        res[order] = adjusted
        out[valid] = res
    return out.reshape(p.shape)


def compare_to_baseline(
    df: pd.DataFrame,
    baseline: Any,
    metric_cols: str | Sequence[str],
    group_cols: str | Sequence[str] = ("dataset",),
    combo_col: str = "combo",
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int | None = BOOTSTRAP_SEED,
    alpha: float = SIGNIFICANCE_ALPHA,
) -> pd.DataFrame:
    """Compare every combo with the baseline combo, per group and metric.

    Within each group (e.g. each dataset, in order of first appearance) that contains the
    baseline, each other combo (in order of first appearance) is compared with the baseline on
    each usable metric, using only finite values:

    * ``mean``, ``baseline_mean``: means of the combo and of the baseline,
    * ``diff``: ``mean - baseline_mean`` (positive = combo larger, whatever "better" means for
      the metric),
    * ``diff_ci_lo``, ``diff_ci_hi``: percentile bootstrap CI of the difference of means
      (:func:`bootstrap_diff_ci`, groups resampled independently),
    * ``p_value``: two-sided Mann–Whitney U p-value (:func:`mann_whitney_p`),
    * ``p_holm``: Holm-adjusted p-value, the family being all combos compared on the same metric
      within the same group,
    * ``n``, ``n_baseline``: numbers of finite values used from the combo and the baseline,
    * ``significant``: ``p_holm < alpha`` (False where ``p_holm`` is NaN).

    Groups without the baseline combo are skipped.

    Args:
        df: Long-format results, one row per trial × seed.
        baseline: Value of ``combo_col`` that identifies the baseline.
        metric_cols: Metric column name(s); missing or non-numeric columns are skipped.
        group_cols: Column name(s) within which comparisons are made (default ``("dataset",)``);
            an empty sequence compares over the whole frame.
        combo_col: Column naming the combo (trial configuration).
        n_resamples: Bootstrap resamples per CI.
        level: Two-sided confidence level of the CI, in (0, 1).
        seed: Seed for ``numpy.random.default_rng`` used by every CI.
        alpha: Family-wise error rate for ``significant``.

    Returns:
        DataFrame, one row per (group, combo, metric), with columns ``group_cols + [combo_col,
        "baseline", "metric", "mean", "baseline_mean", "diff", "diff_ci_lo", "diff_ci_hi",
        "p_value", "p_holm", "n", "n_baseline", "significant"]``. Means and differences are in the
        units of the metric; p-values are probabilities.

    Raises:
        ValueError: If ``combo_col`` is one of ``group_cols``.
    """
    group_cols = _as_cols(group_cols)
    if combo_col in group_cols:
        raise ValueError(f"combo_col {combo_col!r} must not be one of group_cols")
    metrics = _usable_metrics(df, metric_cols)
    columns = group_cols + [
        combo_col, "baseline", "metric", "mean", "baseline_mean", "diff", "diff_ci_lo",
        "diff_ci_hi", "p_value", "p_holm", "n", "n_baseline", "significant",
    ]  # fmt: skip
    rows: list[dict[str, Any]] = []
    for key, sub in _groups(df, group_cols):
        is_base = (sub[combo_col] == baseline).to_numpy()
        if not is_base.any():
            continue
        base = sub[is_base]
        others = sub[~is_base]
        combos = list(pd.unique(others[combo_col]))
        for m in metrics:
            xb = finite_values(base[m])
            family: list[dict[str, Any]] = []
            for c in combos:
                sel = others[combo_col].isna() if pd.isna(c) else others[combo_col] == c
                xa = finite_values(others.loc[sel, m])
                mean_a = float(np.mean(xa)) if xa.size else np.nan
                mean_b = float(np.mean(xb)) if xb.size else np.nan
                lo, hi = bootstrap_diff_ci(
                    xa, xb, np.mean, n_resamples=n_resamples, level=level, seed=seed
                )
                row: dict[str, Any] = dict(zip(group_cols, key))
                row.update(
                    {
                        combo_col: c,
                        "baseline": baseline,
                        "metric": m,
                        "mean": mean_a,
                        "baseline_mean": mean_b,
                        "diff": mean_a - mean_b,
                        "diff_ci_lo": lo,
                        "diff_ci_hi": hi,
                        "p_value": mann_whitney_p(xa, xb),
                        "n": int(xa.size),
                        "n_baseline": int(xb.size),
                    }
                )
                family.append(row)
            adjusted = holm([r["p_value"] for r in family])
            for r, ph in zip(family, adjusted):
                r["p_holm"] = float(ph)
                r["significant"] = bool(ph < alpha) if not np.isnan(ph) else False
            rows.extend(family)
    out = pd.DataFrame(rows, columns=columns)
    return out.astype({"n": "int64", "n_baseline": "int64", "significant": bool})


# --------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------


def split_verdicts(value: Any) -> frozenset[str]:
    """Parse one cell of the verdicts column into a set of verdict names.

    Args:
        value: A semicolon-separated string such as ``"mode_collapse;vanishing_gradients"`` or
            ``"healthy"``, an iterable of strings, or a missing value (None/NaN).

    Returns:
        The set of verdict names, whitespace stripped and empty names dropped; an empty set for a
        missing value.
    """
    if value is None:
        return frozenset()
    if isinstance(value, str):
        parts: Iterable[Any] = value.split(";")
    elif isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        parts = value
    elif pd.isna(value):
        return frozenset()
    else:
        parts = str(value).split(";")
    return frozenset(s for s in (str(p).strip() for p in parts) if s)


def verdict_rates(
    df: pd.DataFrame,
    group_cols: str | Sequence[str] = ("dataset", "combo"),
    verdict_col: str = "verdicts",
) -> pd.DataFrame:
    """Fraction of trial × seed rows per group that received each verdict.

    A row can carry several verdicts (e.g. ``"mode_collapse;vanishing_gradients"``), so the
    rates of a group need not sum to 1. A row with a missing verdict cell counts towards ``n``
    but towards no verdict.

    Args:
        df: Long-format results, one row per trial × seed.
        group_cols: Column name(s) that define a group, in order of first appearance; an empty
            sequence treats the whole frame as one group.
        verdict_col: Column holding the verdicts (see :func:`split_verdicts`).

    Returns:
        DataFrame with columns ``group_cols + ["n"] + ["rate_<verdict>", ...]``: ``n`` is the
        number of rows in the group, and there is one rate column (a fraction in [0, 1]) for
        every verdict seen anywhere in ``df``, in alphabetical order.
    """
    group_cols = _as_cols(group_cols)
    df = df.reset_index(drop=True)  # positional alignment even with a duplicated index
    sets = df[verdict_col].map(split_verdicts) if len(df) else pd.Series([], dtype=object)
    names = sorted(set().union(*sets.tolist())) if len(sets) else []
    columns = group_cols + ["n"] + [f"rate_{v}" for v in names]
    rows: list[dict[str, Any]] = []
    for key, sub in _groups(df, group_cols):
        group_sets = sets.loc[sub.index].tolist()
        k = len(group_sets)
        row: dict[str, Any] = dict(zip(group_cols, key))
        row["n"] = k
        for v in names:
            row[f"rate_{v}"] = sum(v in s for s in group_sets) / k if k else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=columns).astype({"n": "int64"})
