"""Tests for ganbench.analysis.stats (DESIGN.md §4, "Statistics across seeds")."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ganbench.analysis import stats
from ganbench.analysis.stats import (
    BOOTSTRAP_SEED,
    DEFAULT_LEVEL,
    DEFAULT_RESAMPLES,
    bootstrap_ci,
    bootstrap_diff_ci,
    compare_to_baseline,
    describe_protocol,
    holm,
    mann_whitney_p,
    summarize,
    verdict_rates,
)

# --------------------------------------------------------------------------------------------
# Protocol
# --------------------------------------------------------------------------------------------


def test_describe_protocol_reports_defaults():
    proto = describe_protocol()
    assert proto["n_resamples"] == DEFAULT_RESAMPLES == 10_000
    assert proto["level"] == DEFAULT_LEVEL == 0.95
    assert proto["seed"] == BOOTSTRAP_SEED == 0
    assert proto["bootstrap"] == "percentile"
    assert proto["std_ddof"] == 1


# --------------------------------------------------------------------------------------------
# bootstrap_ci
# --------------------------------------------------------------------------------------------


def test_bootstrap_ci_coverage_of_true_mean():
    # 1000 experiments of n=30 from N(0, 1): the 95% percentile bootstrap CI of the mean should
    # contain the true mean 0 in roughly 95% of experiments (percentile intervals undercover a
    # little at n=30, hence the asymmetric band).
    rng = np.random.default_rng(12345)
    data = rng.normal(0.0, 1.0, size=(1000, 30))
    hits = 0
    for i, x in enumerate(data):
        lo, hi = bootstrap_ci(x, n_resamples=2000, level=0.95, seed=i)
        hits += lo <= 0.0 <= hi
    coverage = hits / len(data)
    assert 0.90 <= coverage <= 0.97, coverage


def test_bootstrap_ci_matches_normal_theory_width():
    # For the mean of n=200 normal values the percentile interval is close to
    # mean ± z_{0.975} * s_plugin / sqrt(n), with s_plugin the ddof=0 standard deviation.
    rng = np.random.default_rng(7)
    x = rng.normal(5.0, 2.0, size=200)
    lo, hi = bootstrap_ci(x, n_resamples=20_000, seed=1)
    half = 1.959964 * x.std(ddof=0) / math.sqrt(x.size)
    assert lo == pytest.approx(x.mean() - half, abs=0.03)
    assert hi == pytest.approx(x.mean() + half, abs=0.03)


def test_bootstrap_ci_is_deterministic_and_contains_sample_mean():
    x = np.array([0.3, 1.2, -0.7, 2.5, 0.9, 1.1, -0.2, 0.4])
    a = bootstrap_ci(x, seed=3)
    b = bootstrap_ci(x, seed=3)
    assert a == b
    assert a[0] <= x.mean() <= a[1]
    assert a[0] < a[1]
    # A different seed gives a (slightly) different interval.
    assert bootstrap_ci(x, seed=4) != a


def test_bootstrap_ci_level_widens_interval():
    x = np.random.default_rng(0).normal(size=20)
    lo90, hi90 = bootstrap_ci(x, level=0.90, n_resamples=4000)
    lo99, hi99 = bootstrap_ci(x, level=0.99, n_resamples=4000)
    assert lo99 < lo90 < hi90 < hi99


def test_bootstrap_ci_edge_cases():
    lo, hi = bootstrap_ci([])
    assert math.isnan(lo) and math.isnan(hi)
    lo, hi = bootstrap_ci([np.nan, np.nan])
    assert math.isnan(lo) and math.isnan(hi)
    assert bootstrap_ci([np.nan, 4.2, np.inf]) == (4.2, 4.2)
    # Constant data gives a degenerate interval.
    assert bootstrap_ci([2.0, 2.0, 2.0], n_resamples=100) == (2.0, 2.0)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], level=1.5)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], n_resamples=0)


def test_bootstrap_ci_nan_dropped_equals_clean_input():
    x = [1.0, 5.0, 2.0, 8.0, 3.0]
    assert bootstrap_ci(x + [np.nan], seed=2) == bootstrap_ci(x, seed=2)


def test_bootstrap_ci_generic_callable_matches_fast_path():
    # A generic callable (applied row by row) must give exactly the same interval as the
    # vectorised fast path, because both see the same index matrix.
    x = np.random.default_rng(11).exponential(size=15)
    fast = bootstrap_ci(x, statistic=np.median, n_resamples=500, seed=5)
    slow = bootstrap_ci(x, statistic=lambda v: np.median(v), n_resamples=500, seed=5)
    assert fast == pytest.approx(slow, abs=0, rel=0)
    fast_mean = bootstrap_ci(x, statistic=np.mean, n_resamples=500, seed=5)
    slow_mean = bootstrap_ci(x, statistic=lambda v: float(np.mean(v)), n_resamples=500, seed=5)
    assert fast_mean == pytest.approx(slow_mean, rel=1e-12)


def test_bootstrap_ci_chunked_path(monkeypatch):
    # Force the chunked draw; the interval must still be sensible.
    monkeypatch.setattr(stats, "_MAX_BOOT_ELEMENTS", 64)
    x = np.random.default_rng(3).normal(10.0, 1.0, size=40)
    lo, hi = bootstrap_ci(x, n_resamples=3000, seed=0)
    half = 1.96 * x.std(ddof=0) / math.sqrt(x.size)
    assert lo == pytest.approx(x.mean() - half, abs=0.08)
    assert hi == pytest.approx(x.mean() + half, abs=0.08)


# --------------------------------------------------------------------------------------------
# bootstrap_diff_ci
# --------------------------------------------------------------------------------------------


def test_bootstrap_diff_ci_separated_groups():
    rng = np.random.default_rng(21)
    a = rng.normal(3.0, 0.5, size=12)
    b = rng.normal(1.0, 0.5, size=10)
    lo, hi = bootstrap_diff_ci(a, b, n_resamples=4000, seed=0)
    d = a.mean() - b.mean()
    assert lo <= d <= hi
    assert lo > 1.0 and hi < 3.0  # true diff 2, SE ≈ 0.21
    # Swapping the groups negates the difference (the interval roughly mirrors).
    lo2, hi2 = bootstrap_diff_ci(b, a, n_resamples=4000, seed=0)
    assert hi2 < 0
    assert -hi2 == pytest.approx(lo, abs=0.1) and -lo2 == pytest.approx(hi, abs=0.1)
    assert bootstrap_diff_ci(a, b, seed=9) == bootstrap_diff_ci(a, b, seed=9)


def test_bootstrap_diff_ci_edge_cases():
    lo, hi = bootstrap_diff_ci([], [1.0, 2.0])
    assert math.isnan(lo) and math.isnan(hi)
    lo, hi = bootstrap_diff_ci([1.0, np.nan], [np.nan])
    assert math.isnan(lo) and math.isnan(hi)
    assert bootstrap_diff_ci([3.0], [1.0]) == (2.0, 2.0)
    # One group constant: the interval reflects only the other group's spread.
    lo, hi = bootstrap_diff_ci([5.0], [1.0, 2.0, 3.0], n_resamples=2000)
    assert 2.0 <= lo < hi <= 4.0


# --------------------------------------------------------------------------------------------
# mann_whitney_p
# --------------------------------------------------------------------------------------------


def test_mann_whitney_complete_separation_exact():
    # With 5 vs 5 and no ties, U = 0 is the most extreme of C(10, 5) = 252 equally likely
    # arrangements; two-sided p = 2/252.
    p = mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert p == pytest.approx(2 / 252, rel=1e-12)
    assert p == pytest.approx(0.00794, abs=1e-5)
    assert mann_whitney_p([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]) == pytest.approx(2 / 252)


def test_mann_whitney_identical_and_missing():
    assert mann_whitney_p([1.0, 1.0, 1.0], [1.0, 1.0]) == 1.0
    assert mann_whitney_p([0.5], [0.5]) == 1.0
    assert math.isnan(mann_whitney_p([], [1.0, 2.0]))
    assert math.isnan(mann_whitney_p([1.0, 2.0], [np.nan, np.nan]))
    # NaNs are dropped, not ranked.
    assert mann_whitney_p([1, 2, 3, 4, 5, np.nan], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)


# --------------------------------------------------------------------------------------------
# holm
# --------------------------------------------------------------------------------------------


def test_holm_hand_example():
    # m = 4. Sorted: 0.005, 0.01, 0.03, 0.04.
    #   0.005 * 4 = 0.02
    #   0.01  * 3 = 0.03           -> max(0.02, 0.03) = 0.03
    #   0.03  * 2 = 0.06           -> max(0.03, 0.06) = 0.06
    #   0.04  * 1 = 0.04           -> max(0.06, 0.04) = 0.06 (monotone step-down)
    # Back in the input order [0.01, 0.04, 0.03, 0.005] -> [0.03, 0.06, 0.06, 0.02].
    adj = holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adj, [0.03, 0.06, 0.06, 0.02], rtol=1e-12)


def test_holm_nan_passthrough_and_cap():
    # NaNs are untouched and not counted: m = 4 as in the hand example.
    adj = holm([0.01, np.nan, 0.04, 0.03, np.nan, 0.005])
    assert np.isnan(adj[1]) and np.isnan(adj[4])
    np.testing.assert_allclose(adj[[0, 2, 3, 5]], [0.03, 0.06, 0.06, 0.02], rtol=1e-12)
    np.testing.assert_allclose(holm([0.5, 0.6, 0.7]), [1.0, 1.0, 1.0])
    assert holm([]).shape == (0,)
    assert np.isnan(holm([np.nan])).all()
    np.testing.assert_allclose(holm([0.2]), [0.2])
    with pytest.raises(ValueError):
        holm([0.1, 1.2])


def test_holm_properties_random():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=50)
    adj = holm(p)
    assert np.all(adj >= p) and np.all(adj <= 1.0)
    order = np.argsort(p)
    assert np.all(np.diff(adj[order]) >= -1e-15)  # monotone in p
    # Never more than Bonferroni.
    assert np.all(adj <= np.minimum(p * p.size, 1.0) + 1e-15)


# --------------------------------------------------------------------------------------------
# summarize
# --------------------------------------------------------------------------------------------


def _small_frame():
    return pd.DataFrame(
        {
            "dataset": ["ring", "ring", "ring", "ring", "grid", "grid"],
            "combo": ["b", "a", "a", "a", "a", "a"],
            "fid": [5.0, 1.0, 2.0, 4.0, 10.0, np.nan],
            "modes": [8, 7, 6, 8, 20, 25],
            "note": ["x", "y", "z", "w", "v", "u"],
        }
    )


def test_summarize_hand_computed():
    df = _small_frame()
    out = summarize(
        df, ["dataset", "combo"], ["fid", "modes", "note", "absent"], n_resamples=1000
    )
    # Non-numeric "note" and missing "absent" are skipped; groups keep first-appearance order.
    assert list(out.columns) == [
        "dataset", "combo", "n",
        "fid_mean", "fid_std", "fid_median", "fid_ci_lo", "fid_ci_hi", "fid_n",
        "modes_mean", "modes_std", "modes_median", "modes_ci_lo", "modes_ci_hi", "modes_n",
    ]  # fmt: skip
    assert list(zip(out["dataset"], out["combo"])) == [("ring", "b"), ("ring", "a"), ("grid", "a")]
    ring_a = out.iloc[1]
    # fid over [1, 2, 4]: mean 7/3; deviations -4/3, -1/3, 5/3 -> SS = 42/9, var = 21/9.
    assert ring_a["n"] == 3 and ring_a["fid_n"] == 3
    assert ring_a["fid_mean"] == pytest.approx(7 / 3)
    assert ring_a["fid_std"] == pytest.approx(math.sqrt(21 / 9))
    assert ring_a["fid_median"] == pytest.approx(2.0)
    assert 1.0 <= ring_a["fid_ci_lo"] <= 7 / 3 <= ring_a["fid_ci_hi"] <= 4.0
    # modes over [7, 6, 8]: mean 7, std 1, median 7.
    assert ring_a["modes_mean"] == pytest.approx(7.0)
    assert ring_a["modes_std"] == pytest.approx(1.0)
    assert ring_a["modes_median"] == pytest.approx(7.0)
    # grid/a: 2 rows, fid has one NaN -> fid_n = 1, std NaN, degenerate CI.
    grid = out.iloc[2]
    assert grid["n"] == 2 and grid["fid_n"] == 1 and grid["modes_n"] == 2
    assert grid["fid_mean"] == 10.0 and math.isnan(grid["fid_std"])
    assert (grid["fid_ci_lo"], grid["fid_ci_hi"]) == (10.0, 10.0)
    assert grid["modes_std"] == pytest.approx(math.sqrt(12.5))  # [20, 25]
    # ring/b: single row.
    ring_b = out.iloc[0]
    assert ring_b["n"] == 1 and math.isnan(ring_b["fid_std"]) and ring_b["fid_mean"] == 5.0
    # The CI cells match bootstrap_ci with the same seed.
    assert (ring_a["fid_ci_lo"], ring_a["fid_ci_hi"]) == bootstrap_ci(
        [1.0, 2.0, 4.0], n_resamples=1000, seed=BOOTSTRAP_SEED
    )
    assert out["n"].dtype == np.int64 and out["fid_n"].dtype == np.int64


def test_summarize_inf_and_all_nan_and_single_group_col():
    df = pd.DataFrame({"combo": ["a", "a", "a", "b"], "loss": [1.0, np.inf, 3.0, np.nan]})
    out = summarize(df, "combo", ["loss"], n_resamples=200)
    a, b = out.iloc[0], out.iloc[1]
    assert a["n"] == 3 and a["loss_n"] == 2 and a["loss_mean"] == 2.0
    assert b["n"] == 1 and b["loss_n"] == 0
    assert all(math.isnan(b[c]) for c in ["loss_mean", "loss_std", "loss_median", "loss_ci_lo"])
    # Empty group_cols: the whole frame is one group.
    whole = summarize(df, [], ["loss"], n_resamples=200)
    assert len(whole) == 1 and whole.loc[0, "n"] == 4 and whole.loc[0, "loss_n"] == 2
    # Inputs are not modified.
    assert df["loss"].isna().sum() == 1 and np.isinf(df["loss"]).sum() == 1


def test_summarize_empty_frame():
    df = pd.DataFrame({"combo": pd.Series([], dtype=str), "fid": pd.Series([], dtype=float)})
    out = summarize(df, ["combo"], ["fid"], n_resamples=10)
    assert len(out) == 0 and "fid_ci_hi" in out.columns


# --------------------------------------------------------------------------------------------
# compare_to_baseline
# --------------------------------------------------------------------------------------------


def _comparison_frame():
    rng = np.random.default_rng(2024)
    rows = []
    for ds in ["ring", "grid"]:
        for combo, shift in [("vanilla", 0.0), ("pacgan", 5.0), ("noise", 0.0)]:
            for seed in range(10):
                rows.append(
                    {
                        "dataset": ds,
                        "combo": combo,
                        "seed": seed,
                        "modes": shift + rng.normal(0.0, 1.0),
                        "hq": rng.uniform(),
                    }
                )
    # A dataset without the baseline is skipped.
    rows.append({"dataset": "digits", "combo": "pacgan", "seed": 0, "modes": 1.0, "hq": 0.5})
    return pd.DataFrame(rows)


def test_compare_to_baseline_detects_better_combo():
    df = _comparison_frame()
    out = compare_to_baseline(df, "vanilla", ["modes", "hq", "missing"], n_resamples=2000)
    assert list(out.columns) == [
        "dataset", "combo", "baseline", "metric", "mean", "baseline_mean", "diff",
        "diff_ci_lo", "diff_ci_hi", "p_value", "p_holm", "n", "n_baseline", "significant",
    ]  # fmt: skip
    assert set(out["dataset"]) == {"ring", "grid"}  # digits has no baseline
    assert len(out) == 2 * 2 * 2  # datasets × non-baseline combos × metrics
    assert (out["baseline"] == "vanilla").all()
    assert (out["n"] == 10).all() and (out["n_baseline"] == 10).all()

    good = out[(out["combo"] == "pacgan") & (out["metric"] == "modes")]
    for _, r in good.iterrows():
        assert r["diff"] == pytest.approx(r["mean"] - r["baseline_mean"])
        assert r["diff"] > 3.0
        assert 0 < r["diff_ci_lo"] <= r["diff"] <= r["diff_ci_hi"]
        # Complete separation of 10 vs 10 (U = 0). With method="auto" and both n > 8, scipy uses
        # the normal approximation with continuity correction:
        #   mu = 10*10/2 = 50, sigma = sqrt(10*10*21/12), z = (50 - 0.5)/sigma ≈ 3.742,
        #   p = erfc(z/sqrt(2)) ≈ 1.83e-4 (the exact value would be 2/C(20,10) ≈ 1.08e-5).
        z = (50 - 0.5) / math.sqrt(10 * 10 * 21 / 12)
        assert r["p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-9)
        assert r["p_value"] == pytest.approx(1.83e-4, rel=0.01)
        # Holm over the 2 combos of this (dataset, metric): the smaller p is doubled.
        assert r["p_holm"] == pytest.approx(2 * r["p_value"])
        assert r["significant"]

    noise = out[(out["combo"] == "noise") & (out["metric"] == "modes")]
    for _, r in noise.iterrows():
        assert r["diff_ci_lo"] < 0 < r["diff_ci_hi"]
        assert not r["significant"]
    assert not out[out["metric"] == "hq"]["significant"].any()


def test_compare_to_baseline_holm_family_is_metric_within_group():
    df = _comparison_frame()
    out = compare_to_baseline(df, "vanilla", ["modes", "hq"], n_resamples=200)
    for (_, _), fam in out.groupby(["dataset", "metric"]):
        np.testing.assert_allclose(fam["p_holm"].to_numpy(), holm(fam["p_value"].to_numpy()))
        assert len(fam) == 2
    # p-values and CIs match the standalone functions.
    r = out.iloc[0]
    sub = df[df["dataset"] == r["dataset"]]
    a = sub.loc[sub["combo"] == r["combo"], r["metric"]]
    b = sub.loc[sub["combo"] == "vanilla", r["metric"]]
    assert r["p_value"] == mann_whitney_p(a, b)
    assert (r["diff_ci_lo"], r["diff_ci_hi"]) == bootstrap_diff_ci(a, b, n_resamples=200)


def test_compare_to_baseline_no_baseline_and_errors():
    df = _comparison_frame()
    out = compare_to_baseline(df, "does-not-exist", ["modes"], n_resamples=10)
    assert len(out) == 0 and "p_holm" in out.columns
    with pytest.raises(ValueError):
        compare_to_baseline(df, "vanilla", ["modes"], group_cols=("combo",))


def test_compare_to_baseline_all_nan_metric():
    df = pd.DataFrame(
        {
            "dataset": ["ring"] * 4,
            "combo": ["base", "base", "x", "x"],
            "fid": [np.nan, np.nan, 1.0, 2.0],
        }
    )
    out = compare_to_baseline(df, "base", ["fid"], n_resamples=50)
    r = out.iloc[0]
    assert r["n_baseline"] == 0 and r["n"] == 2
    assert math.isnan(r["p_value"]) and math.isnan(r["p_holm"]) and not r["significant"]
    assert math.isnan(r["diff_ci_lo"]) and math.isnan(r["diff"])


# --------------------------------------------------------------------------------------------
# verdict_rates
# --------------------------------------------------------------------------------------------


def test_verdict_rates_hand_example():
    df = pd.DataFrame(
        {
            "dataset": ["ring", "ring", "ring", "ring", "grid", "grid"],
            "combo": ["v", "v", "v", "v", "v", "v"],
            "verdicts": [
                "mode_collapse;vanishing_gradients",
                "mode_collapse",
                "healthy",
                " mode_collapse ; non_convergence ",
                "healthy",
                None,
            ],
        },
        index=[0, 0, 1, 1, 2, 2],  # duplicated index must not matter
    )
    out = verdict_rates(df)
    assert list(out.columns) == [
        "dataset", "combo", "n",
        "rate_healthy", "rate_mode_collapse", "rate_non_convergence", "rate_vanishing_gradients",
    ]  # fmt: skip
    ring = out.iloc[0]
    assert ring["dataset"] == "ring" and ring["n"] == 4
    assert ring["rate_mode_collapse"] == pytest.approx(3 / 4)
    assert ring["rate_vanishing_gradients"] == pytest.approx(1 / 4)
    assert ring["rate_non_convergence"] == pytest.approx(1 / 4)
    assert ring["rate_healthy"] == pytest.approx(1 / 4)
    grid = out.iloc[1]
    assert grid["n"] == 2
    assert grid["rate_healthy"] == pytest.approx(1 / 2)  # the missing cell counts in n only
    assert grid["rate_mode_collapse"] == 0.0


def test_verdict_rates_custom_columns_and_empty():
    df = pd.DataFrame({"remedy": ["a", "b", "a"], "v": ["diverged", "healthy", "healthy"]})
    out = verdict_rates(df, group_cols="remedy", verdict_col="v")
    assert list(out["remedy"]) == ["a", "b"]
    np.testing.assert_allclose(out["rate_diverged"], [0.5, 0.0])
    np.testing.assert_allclose(out["rate_healthy"], [0.5, 1.0])
    empty = verdict_rates(df.iloc[:0], group_cols="remedy", verdict_col="v")
    assert len(empty) == 0 and list(empty.columns) == ["remedy", "n"]
