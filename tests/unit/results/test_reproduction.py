"""Claim marks (ganbench.results.reproduction): hand-computed cases for each rule, diverged seeds,
the Holm family of a suite's order claims, the tables, and a simulation of the error rates
(the full one is validation/claims_simulation.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ganbench.results import stats
from ganbench.results.reproduction import judge_order, judge_value, reproduction_tables

A = 0.05


def test_order_reproduced_when_separated_and_significant():
    a, b = np.array([8.0, 8, 7, 8, 8]), np.array([1.0, 2, 1, 1, 3])
    p = stats.rank_test_p(a, b)  # complete separation with ties in a: 2/252 at most
    assert p < 0.01
    mark, why, st = judge_order(a, 0, b, 0, -math.inf, p, True, A)
    assert mark == "reproduced" and st["cliffs_delta"] == 1.0 and "Holm p" in why


def test_order_not_reproduced_when_significantly_reversed():
    a, b = np.array([1.0, 2, 1, 1, 3]), np.array([8.0, 8, 7, 8, 8])
    mark, why, _ = judge_order(a, 0, b, 0, -math.inf, stats.rank_test_p(a, b), True, A)
    assert mark == "not reproduced" and "lower, significantly" in why


def test_order_exact_tie_is_not_reproduced():
    """Both at the ceiling on every seed: the claimed increase is excluded (interval [0, 0])."""
    a = b = np.full(5, 8.0)
    mark, why, st = judge_order(a, 0, b, 0, -math.inf, 1.0, True, A)
    assert mark == "not reproduced" and (st["diff_ci_lo"], st["diff_ci_hi"]) == (0.0, 0.0)
    assert "same value on every seed" in why


def test_order_inconclusive_when_the_design_cannot_decide():
    a, b = np.array([8.0, 8, 8]), np.array([1.0, 1, 2])
    p = stats.rank_test_p(a, b)
    assert p == pytest.approx(0.1)  # 3 vs 3: the best two-sided p is 2/20
    mark, why, _ = judge_order(a, 0, b, 0, -math.inf, p, stats.min_attainable_p(3, 3) < A, A)
    assert mark == "inconclusive" and "cannot reach significance" in why


def test_order_inconclusive_when_the_interval_covers_zero():
    a, b = np.array([3.0, 5, 4, 6, 2]), np.array([4.0, 3, 5, 2, 4])
    p = stats.rank_test_p(a, b)
    mark, _, st = judge_order(a, 0, b, 0, -math.inf, p, True, A)
    assert mark == "inconclusive" and st["diff_ci_lo"] < 0 < st["diff_ci_hi"]


def test_value_rules_by_hand():
    # mean 7.6, sd 0.5477, n 5: 90% t interval 7.6 ± 2.1318·0.2449 = [7.078, 8.122]
    x = np.array([7.0, 8, 8, 7, 8])
    mark, _, st = judge_value(x, 0, None, (7.0, 8.5), A)
    assert mark == "reproduced"
    assert st["eq_ci_lo"] == pytest.approx(7.6 - 2.131847 * np.std(x, ddof=1) / np.sqrt(5))
    assert judge_value(x, 0, None, (7.2, 8.5), A)[0] == "inconclusive"      # overlaps 7.2
    assert judge_value(x, 0, None, (8.5, 9.0), A)[0] == "not reproduced"    # 95% ≤ 8.28
    assert judge_value(np.full(4, 0.3), 0, None, (-math.inf, 0.1), A)[0] == "not reproduced"
    assert judge_value(np.full(4, 1e-7), 0, None, (-math.inf, 0.1), A)[0] == "reproduced"
    assert judge_value(np.array([0.05]), 0, None, (-math.inf, 0.1), A)[0] == "inconclusive"


def test_value_diverged_seeds_enter_as_the_worst_value():
    # distance (lower is better): a diverged seed is +inf, so "at most 0.1" cannot be reproduced
    x = np.array([0.01, 0.02, 0.01])
    mark, _, st = judge_value(x, 1, math.inf, (-math.inf, 0.1), A)
    assert mark == "inconclusive" and st["ci_hi"] == math.inf
    # ... and "at least 0.5" (does not converge) can, from the finite seeds' lower bound
    y = np.array([2.0, 2.5, 3.0])
    assert judge_value(y, 2, math.inf, (0.5, math.inf), A)[0] == "reproduced"


def _trials(values: dict[tuple[str, str], list[float]], status=None) -> pd.DataFrame:
    rows = []
    for (ds, combo), vals in values.items():
        for i, v in enumerate(vals):
            st = (status or {}).get((ds, combo, i), "ok")
            rows.append({"dataset": ds, "combo": combo, "seed": i, "status": st,
                         "modes_covered": v})
    return pd.DataFrame(rows)


REF = {
    "title": "T", "bibtex": "@article{t, title={T}}",
    "values": [{"dataset": "ring", "combo": "pac", "metric": "modes_covered", "mean": 7.9,
                "source": "Table 1"}],
    "claims": [
        {"id": "c1", "kind": "order", "dataset": "ring", "metric": "modes_covered",
         "higher": "pac", "lower": "gan", "text": "t", "source": "s"},
        {"id": "c2", "kind": "order", "dataset": "ring", "metric": "modes_covered",
         "higher": "pac3", "lower": "gan", "text": "t", "source": "s"},
    ],
    "protocol": {"budget.steps": {"paper": 400000}, "optimizer.betas": {"paper": [0.8, 0.999]}},
    "differences": ["no maxout"],
}


def test_holm_over_the_suites_order_claims_and_diverged_seeds_rank_worst():
    t = _trials({("ring", "gan"): [1, 2, 1, 1, 2], ("ring", "pac"): [8, 8, 7, 8, 8],
                 ("ring", "pac3"): [8, 8, 8, 8, 8]}, status={("ring", "pac3", 4): "diverged"})
    tabs = reproduction_tables(t, REF, {"budget.steps": 6000, "optimizer.betas": [0.8, 0.999]}, A)
    c = tabs.claims.set_index("claim")
    raw1 = stats.rank_test_p([8, 8, 7, 8, 8], [1, 2, 1, 1, 2])
    raw2 = stats.rank_test_p([8, 8, 8, 8, -math.inf], [1, 2, 1, 1, 2])  # diverged ranked worst
    assert c.loc["c1", "p_holm"] == pytest.approx(stats.holm([raw1, raw2])[0])
    assert c.loc["c1", "p_holm"] > raw1  # corrected for the family of two
    assert c.loc["c1", "mark"] == "reproduced"
    assert c.loc["c2", "n_diverged"] == 1 and c.loc["c2", "n"] == 5
    assert c.loc["c2", "mark"] == "inconclusive"  # 4 seeds beat gan, the diverged one loses
    v = tabs.values.iloc[0]
    assert v["measured_mean"] == pytest.approx(7.8) and v["n"] == 5
    p = tabs.protocol.set_index("setting")
    assert bool(p.loc["budget.steps", "differs"]) and p.loc["budget.steps", "run"] == "6000"
    assert not bool(p.loc["optimizer.betas", "differs"]) and p.loc["optimizer.betas", "paper"] == "[0.8, 0.999]"
    assert tabs.protocol.iloc[-1]["note"] == "no maxout" and bool(tabs.protocol.iloc[-1]["differs"])


def test_simulated_error_rates():
    """A false order claim (no difference) is marked reproduced at most at rate α/2 + noise; a
    value claim whose true mean sits on the band's edge at most at rate α (400 draws each,
    binomial sd ≈ 0.011); a clear true claim is mostly reproduced."""
    rng = np.random.default_rng(1)
    n, reps = 6, 400
    can = stats.min_attainable_p(n, n) < A
    false_rep = true_rep = 0
    for _ in range(reps):
        a, b = rng.normal(0, 1, n), rng.normal(0, 1, n)
        false_rep += judge_order(a, 0, b, 0, None, stats.rank_test_p(a, b), can, A)[0] == "reproduced"
        a = rng.normal(2.5, 1, n)
        true_rep += judge_order(a, 0, b, 0, None, stats.rank_test_p(a, b), can, A)[0] == "reproduced"
    assert false_rep / reps <= 0.05
    assert true_rep / reps >= 0.8
    edge = sum(judge_value(rng.normal(1.0, 0.5, n), 0, None, (-1.0, 1.0), A)[0] == "reproduced"
               for _ in range(reps))
    assert edge / reps <= 0.05 + 3 * 0.011


def test_a_metric_undefined_on_every_seed_is_named():
    """The collapsed GAN has no high-quality sample, so its reverse KL is undefined (NaN)."""
    t = _trials({("ring", "gan"): [1, 1, 1, 1, 1], ("ring", "pac"): [8, 8, 8, 8, 8]})
    t["reverse_kl"] = np.where(t["combo"] == "gan", np.nan, 0.1)
    ref = {**REF, "claims": [{"id": "kl", "kind": "order", "dataset": "ring", "metric": "reverse_kl",
                              "higher": "gan", "lower": "pac", "text": "t", "source": "s"}]}
    row = reproduction_tables(t, ref, {}, A).claims.iloc[0]
    assert row["mark"] == "inconclusive" and row["n"] == 0 and row["n_other"] == 5
    assert "undefined on 5 and 0 seeds" in row["reason"]


def test_coverage_at_the_chance_level_is_named_but_does_not_change_the_mark():
    t = _trials({("ring", "gan"): [1, 2, 1, 1, 2], ("ring", "pac"): [5, 5, 6, 5, 5],
                 ("ring", "pac3"): [8, 8, 8, 8, 8]})
    t["chance_coverage"] = 5.5
    c = reproduction_tables(t, REF, {}, A).claims.set_index("claim")
    assert c.loc["c1", "chance_level"] == 5.5 and c.loc["c1", "mark"] == "reproduced"
    assert "at or below the chance level" in c.loc["c1", "reason"]       # pac: 5.2 modes
    assert "chance level" not in c.loc["c2", "reason"]                   # pac3: 8 modes
