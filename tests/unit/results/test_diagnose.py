"""Tests for ganbench.results.diagnose: hand-made trial rows and histories with known verdicts,
and the Dirac-GAN through the real trainer against Mescheder et al. (2018)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from ganbench.results import diagnose as dg
from ganbench.results.diagnose import (
    DiagnoseConfig,
    Evidence,
    Verdict,
    collapse_cap,
    diagnose,
    diagnose_frame,
    diagnostics_config,
)
from ganbench.results.dynamics import DynamicsConfig
from ganbench.results.stats import split_verdicts, verdict_rates
from ganbench.config.suite import expand, parse_suite, resolved_combo

# --------------------------------------------------------------------------------------------
# Rows and histories
# --------------------------------------------------------------------------------------------


def ring_row(**kw):
    row = {"dataset": "ring", "combo": "c", "seed": 0, "status": "ok", "steps": 1000,
           "diverged_step": np.nan, "modes_total": 8.0, "chance_coverage": 5.6,
           "modes_covered": 8.0, "hq_fraction": 0.9, "cells_occupied": 8.0, "cell_entropy": 2.07,
           "theta_final": np.nan, "dist_final": np.nan}
    row.update(kw)
    return row


COLLAPSED = dict(modes_covered=1.0, hq_fraction=0.93, cells_occupied=1.0, cell_entropy=0.0)
BESIDE_MODE = dict(modes_covered=0.0, hq_fraction=0.0, cells_occupied=1.0, cell_entropy=0.01)
DIFFUSE = dict(modes_covered=6.0, hq_fraction=0.02, cells_occupied=8.0, cell_entropy=2.05)
SUCCESS = dict(modes_covered=8.0, hq_fraction=0.91, cells_occupied=8.0, cell_entropy=2.07)


def history(n=50, every=10, g_norm=None, d_fake=None, d_real=None, d_loss=None, combo="c", seed=0,
            dataset="ring", **cols):
    steps = every * np.arange(1, n + 1)
    rng = np.random.default_rng(seed)
    h = pd.DataFrame({
        "dataset": dataset, "combo": combo, "seed": seed, "step": steps,
        "d_loss": 1.35 + 0.02 * rng.normal(size=n) if d_loss is None else d_loss,
        "g_loss": 0.7 + 0.02 * rng.normal(size=n),
        "g_grad_norm": rng.uniform(10, 60, n) if g_norm is None else g_norm,
        "d_grad_norm": rng.uniform(1, 2, n),
        "d_real": np.full(n, 0.55) if d_real is None else d_real,
        "d_fake": np.full(n, 0.45) if d_fake is None else d_fake,
    })
    for k, v in cols.items():
        h[k] = v
    return h


def names(vs):
    return [v.name for v in vs]


def dyn_of(h, probability=True):
    from ganbench.results.dynamics import trial_dynamics

    return trial_dynamics(h, probability)


# --------------------------------------------------------------------------------------------
# Coverage verdicts ("Reading coverage honestly")
# --------------------------------------------------------------------------------------------


def test_collapse_cap():
    assert collapse_cap(8) == 2 and collapse_cap(25) == 6 and collapse_cap(4) == 2
    assert collapse_cap(8, DiagnoseConfig(collapse_cell_fraction=0.5)) == 4


def test_collapsed_ring_row_is_mode_collapse():
    vs = diagnose(ring_row(**COLLAPSED), dyn_of(history()))
    assert names(vs) == ["mode_collapse"]
    ev = vs[0].evidence[0]
    assert (ev.metric, ev.value, ev.threshold, ev.comparison) == ("cells_occupied", 1.0, 2, "<=")
    assert "cells_occupied=1 <= 2" in dg.format_evidence(vs)


def test_blob_beside_a_mode_is_collapse_not_diffuse():
    vs = diagnose(ring_row(**BESIDE_MODE), dyn_of(history()))
    assert names(vs) == ["mode_collapse"]


def test_diffuse_row_is_non_convergence_not_collapse():
    vs = diagnose(ring_row(**DIFFUSE), dyn_of(history()))
    assert names(vs) == ["non_convergence"]
    metrics = {e.metric: e for e in vs[0].evidence}
    assert metrics["hq_fraction"].comparison == "<" and metrics["hq_fraction"].threshold == dg.HQ_MIN
    assert metrics["modes_covered"].threshold == 5.6      # coverage shown against chance


def test_success_row_is_healthy():
    vs = diagnose(ring_row(**SUCCESS), dyn_of(history()))
    assert names(vs) == ["healthy"]
    assert any(e.metric == "hq_fraction" for e in vs[0].evidence)


def test_few_high_quality_modes_is_collapse():
    # grid: 7 cells hold mass (> cap 6), but the high-quality mass sits on 4 modes
    row = ring_row(modes_total=25.0, modes_covered=4.0, hq_fraction=0.8, cells_occupied=7.0)
    vs = diagnose(row, dyn_of(history()))
    assert names(vs) == ["mode_collapse"]
    assert vs[0].evidence[0].metric == "modes_covered"
    # the same spread with the modes covered: healthy
    assert names(diagnose(dict(row, modes_covered=22.0), dyn_of(history()))) == ["healthy"]


def test_partial_collapse_of_a_sharp_generator():
    # the cases: a sharp ring generator on 3 of 8 modes, a sharp grid one on 7 of 25
    ring = diagnose(ring_row(modes_covered=3.0, hq_fraction=0.95, cells_occupied=3.0), dyn_of(history()))
    assert names(ring) == ["mode_collapse"]
    ev = ring[0].evidence[0]
    assert (ev.metric, ev.value, ev.threshold, ev.comparison) == ("modes_covered", 3.0, 6, "<=")
    assert "partial collapse" in ev.note
    grid = ring_row(modes_total=25.0, modes_covered=7.0, hq_fraction=0.9, cells_occupied=8.0)
    assert names(diagnose(grid, dyn_of(history()))) == ["mode_collapse"]
    out = dg.judge(grid, dyn_of(history()))
    assert [o.rule for o in out if o.outcome == "fired"] == ["partial_coverage"]
    # the boundary: 7 of 8 and 19 of 25 are not partial collapse; 6 of 8 and 18 of 25 are
    assert dg.partial_cap(8) == 6 and dg.partial_cap(25) == 18
    assert names(diagnose(ring_row(modes_covered=7.0, hq_fraction=0.9, cells_occupied=8.0),
                          dyn_of(history()))) == ["healthy"]
    assert names(diagnose(ring_row(modes_covered=6.0, hq_fraction=0.9, cells_occupied=8.0),
                          dyn_of(history()))) == ["mode_collapse"]
    # a diffuse generator is never partially collapsed, however few modes it covers
    assert names(diagnose(ring_row(modes_covered=3.0, hq_fraction=0.02, cells_occupied=8.0),
                          dyn_of(history()))) == ["non_convergence"]


def image_row(**kw):
    row = {"dataset": "stacked_digits", "combo": "c", "seed": 0, "status": "ok",
           "modes_total": 1000.0, "modes_covered": 990.0, "reverse_kl": 0.05,
           "real_modes_covered": 1000.0, "real_reverse_kl": 0.03, "fid": 3.0}
    row.update(kw)
    return row


def test_image_collapse_is_calibrated_on_the_real_data():
    dyn = dyn_of(history())
    # 50 of the 1000 modes the real data reaches: collapsed (it used to be "healthy")
    vs = diagnose(image_row(modes_covered=50.0, reverse_kl=2.9), dyn)
    assert names(vs) == ["mode_collapse"]
    assert {e.metric for e in vs[0].evidence} == {"modes_covered", "reverse_kl"}
    assert vs[0].evidence[0].threshold == 750
    # near the real data on both counts: not collapsed
    assert "mode_collapse" not in names(diagnose(image_row(), dyn))
    # enough modes reached, but the mass is very uneven: effective modes K·exp(-KL) < 3/4 real
    uneven = diagnose(image_row(modes_covered=900.0, reverse_kl=0.03 + np.log(4 / 3) + 0.01), dyn)
    assert names(uneven) == ["mode_collapse"] and uneven[0].evidence[0].metric == "reverse_kl"
    # the threshold follows the real data: a weak classifier that reaches only 800 real modes
    assert "mode_collapse" not in names(diagnose(
        image_row(modes_covered=700.0, real_modes_covered=800.0), dyn))


def test_missing_data_is_not_judged_never_passed():
    dyn = dyn_of(history())
    # FID only (no mode classifier): collapse not judged, and the evidence says so
    out = dg.judge(image_row(modes_covered=np.nan, modes_total=np.nan, reverse_kl=np.nan,
                             real_modes_covered=np.nan, real_reverse_kl=np.nan), dyn)
    collapse = [o for o in out if o.verdict == "mode_collapse"][0]
    assert collapse.outcome == "not_judged" and "not judged" in collapse.evidence[0].note
    vs = diagnose(image_row(modes_covered=np.nan, modes_total=np.nan, real_modes_covered=np.nan), dyn)
    assert names(vs) == ["healthy"] and "not judged" in dg.format_evidence(vs)
    # a critic loss on images whose gradient fell: never "G reached the data" without a data metric
    h = history(g_norm=5.0 * 1e-5 ** (np.arange(50) / 49), d_fake=np.full(50, -3.0),
                d_real=np.full(50, 4.0))
    out = dg.judge(image_row(), dyn_of(h, False))
    vg = [o for o in out if o.verdict == "vanishing_gradients"][0]
    assert vg.outcome == "not_judged"
    assert "reached the data" not in " ".join(e.note for e in vg.evidence)
    # no history at all: the dynamics rules are not judged
    out = dg.judge(ring_row(**SUCCESS), {})
    by_rule = {o.rule: o.outcome for o in out}
    assert by_rule["mode_hopping"] == "not_judged" and by_rule["grad_decay"] == "not_judged"
    assert by_rule["partial_coverage"] == "passed"


def test_verdict_table_is_long_and_typed():
    trials = pd.DataFrame([dict(ring_row(**COLLAPSED), seed=0), dict(ring_row(**SUCCESS), seed=1),
                           dict(ring_row(status="failed"), seed=2)])
    h = pd.concat([history(seed=0), history(seed=1)])
    out, table = dg.diagnose_tables(trials, h)
    assert list(out["verdicts"]) == ["mode_collapse", "healthy", ""]
    assert list(table.columns) == [c for c in dg.VERDICT_TABLE_COLUMNS if c != "hp_id"]
    fired = table[table.outcome == "fired"]
    assert set(fired["seed"]) == {0} and set(fired["verdict"]) == {"mode_collapse"}
    row = fired[fired.metric == "cells_occupied"].iloc[0]
    assert (row["value"], row["comparison"], row["threshold"]) == (1.0, "<=", 2.0)
    assert table[table.seed == 2]["outcome"].tolist() == ["not_judged"]
    assert set(table["outcome"]) <= set(dg.OUTCOMES)


def test_thresholds_carry_their_reasons():
    cfg = DiagnoseConfig().to_dict()
    assert set(cfg) == set(dg.THRESHOLDS)
    assert all(cfg[k] == dg.THRESHOLDS[k][0] and len(dg.THRESHOLDS[k][1]) > 20 for k in cfg)


def test_modes_info_overrides_row():
    row = ring_row(**COLLAPSED)
    row["modes_total"] = np.nan
    assert names(diagnose(row, dyn_of(history()))) == ["healthy"]   # K unknown: no coverage rule
    assert names(diagnose(row, dyn_of(history()), 8)) == ["mode_collapse"]
    assert names(diagnose(row, dyn_of(history()), {"modes_total": 8})) == ["mode_collapse"]


def test_diverged_is_alone_and_failed_has_none():
    row = ring_row(status="diverged", diverged_step=120.0, **COLLAPSED)
    h = history(g_norm=0.1 * 0.7 ** np.arange(50), d_fake=np.full(50, 0.001))
    vs = diagnose(row, dyn_of(h))
    assert names(vs) == ["diverged"]
    assert any(e.metric == "diverged_step" and e.value == 120.0 for e in vs[0].evidence)
    assert diagnose(ring_row(status="failed"), {}) == []
    assert diagnose(ring_row(status="missing"), {}) == []


# --------------------------------------------------------------------------------------------
# Vanishing gradients (the protocol that shows them: minimax 1e-1 → 6e-6 with D(fake) 0.000;
# non-saturating 10–60 with D(fake) ≈ 0.1)
# --------------------------------------------------------------------------------------------


def minimax_like():
    n = 50
    g = 0.1 * (6e-6 / 0.1) ** (np.arange(n) / (n - 1))      # 1e-1 → 6e-6, geometric
    d_fake = 0.3 * np.exp(-np.arange(n) / 4.0)             # → 0
    return history(n=n, g_norm=g, d_fake=d_fake, d_real=1 - d_fake)


def test_minimax_like_history_is_vanishing_gradients():
    h = minimax_like()
    dyn = dyn_of(h, True)
    assert dyn["g_grad_decay"] < -3 and dyn["d_fake_late"] < 0.05
    vs = diagnose(ring_row(**COLLAPSED), dyn)
    assert names(vs) == ["mode_collapse", "vanishing_gradients"]
    ev = {e.metric: e for e in vs[1].evidence}
    assert ev["g_grad_decay"].value == pytest.approx(dyn["g_grad_decay"])
    assert ev["g_grad_decay"].threshold == -3.0 and ev["d_fake_late"].threshold == 0.05


def test_non_saturating_like_history_is_not():
    h = history(g_norm=np.random.default_rng(3).uniform(10, 60, 50), d_fake=np.full(50, 0.1),
                d_real=np.full(50, 0.9))
    dyn = dyn_of(h, True)
    assert abs(dyn["g_grad_decay"]) < 1
    assert "vanishing_gradients" not in names(diagnose(ring_row(**COLLAPSED), dyn))


def test_decay_without_saturation_is_not_vanishing():
    # G's gradient falls 1e5-fold but D is undecided (½): convergence, e.g. R1 on the Dirac-GAN
    h = history(g_norm=0.3 * 1e-5 ** (np.arange(50) / 49), d_fake=np.full(50, 0.5))
    assert names(diagnose(ring_row(**SUCCESS), dyn_of(h, True))) == ["healthy"]


def test_critic_losses_need_generator_away_from_data():
    h = history(g_norm=5.0 * 1e-5 ** (np.arange(50) / 49), d_fake=np.full(50, -3.0),
                d_real=np.full(50, 4.0))
    dyn = dyn_of(h, False)
    assert dyn["d_output_is_probability"] == 0.0
    assert names(diagnose(ring_row(**SUCCESS), dyn)) == ["healthy"]
    vs = diagnose(ring_row(**DIFFUSE), dyn)
    assert names(vs) == ["non_convergence", "vanishing_gradients"]
    assert any(e.metric == "hq_fraction" for e in vs[1].evidence)


# --------------------------------------------------------------------------------------------
# Oscillation: mode hopping and losses
# --------------------------------------------------------------------------------------------


def test_mode_hopping_gives_non_convergence():
    n = 50
    hists = [None] * n
    for j, i in enumerate(range(9, n, 10)):
        hists[i] = [100, 0, 0, 0] if j % 2 == 0 else [0, 0, 100, 0]
    h = history(n=n, mode_hist=hists)
    dyn = dyn_of(h)
    assert dyn["mode_hopping_mean"] == 1.0
    row = ring_row(modes_total=4.0, modes_covered=1.0, hq_fraction=0.95, cells_occupied=1.0)
    vs = diagnose(row, dyn)
    assert names(vs) == ["mode_collapse", "non_convergence"]
    assert vs[1].evidence[0].metric == "mode_hopping_mean"
    steady = [None if x is None else [25, 25, 25, 25] for x in hists]
    dyn = dyn_of(history(n=n, mode_hist=steady))
    assert dyn["mode_hopping_mean"] == 0.0
    assert names(diagnose(ring_row(**SUCCESS), dyn)) == ["healthy"]


def test_large_periodic_loss_oscillation_gives_non_convergence():
    n = 200
    steps = 10 * np.arange(1, n + 1)
    d_loss = 1.0 + 0.8 * np.sin(2 * np.pi * steps / 300.0)
    dyn = dyn_of(history(n=n, d_loss=d_loss))
    assert dyn["d_loss_rel_amplitude"] > 0.5 and dyn["d_loss_period"] == pytest.approx(300, rel=0.05)
    vs = diagnose(ring_row(**SUCCESS), dyn)
    assert names(vs) == ["non_convergence"]
    assert {e.metric for e in vs[0].evidence} >= {"d_loss_rel_amplitude", "d_loss_period"}
    # equally large but aperiodic noise is not called an oscillation
    noisy = 1.0 + 0.8 * np.random.default_rng(0).uniform(-1, 1, n)
    dyn = dyn_of(history(n=n, d_loss=noisy))
    assert dyn["d_loss_rel_amplitude"] > 0.5 and math.isnan(dyn["d_loss_period"])
    assert names(diagnose(ring_row(**SUCCESS), dyn)) == ["healthy"]
    # critic losses: the relative amplitude is not used
    assert names(diagnose(ring_row(**SUCCESS), dyn_of(history(n=n, d_loss=d_loss), False))) == ["healthy"]


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


def test_config_override_and_unknown_keys():
    assert DiagnoseConfig().hq_min == dg.HQ_MIN == 0.5
    strict = DiagnoseConfig.from_dict({"hq_min": 0.95})
    assert names(diagnose(ring_row(**SUCCESS), dyn_of(history()), cfg=strict)) == ["non_convergence"]
    with pytest.raises(ValueError, match="hq_mim"):
        DiagnoseConfig.from_dict({"hq_mim": 0.9})
    dyn_cfg, cfg = diagnostics_config({"late_window": 0.5, "hop_max": 0.2})
    assert dyn_cfg == DynamicsConfig(late_window=0.5) and cfg == DiagnoseConfig(hop_max=0.2)
    with pytest.raises(ValueError, match="nonsense"):
        diagnostics_config({"late_window": 0.5, "nonsense": 1})


def test_evidence_strings():
    e = Evidence("cells_occupied", 1.0, 2, "<=", "collapse")
    assert str(e) == "cells_occupied=1 <= 2 (collapse)"
    assert str(Evidence("g_grad_decay", -4.2345, -3.0, "<=")) == "g_grad_decay=-4.23 <= -3"
    v = Verdict("mode_collapse", [e])
    assert dg.format_evidence([v, Verdict("healthy")]) == \
        "mode_collapse: cells_occupied=1 <= 2 (collapse) | healthy"


# --------------------------------------------------------------------------------------------
# Frame API
# --------------------------------------------------------------------------------------------


def test_diagnose_frame_columns_and_order():
    rows = [ring_row(combo="mm", seed=0, **COLLAPSED), ring_row(combo="ns", seed=0, **SUCCESS),
            ring_row(combo="ns", seed=1, **DIFFUSE), ring_row(combo="ns", seed=2, status="failed"),
            ring_row(combo="mm", seed=1, status="diverged", diverged_step=40.0)]
    trials = pd.DataFrame(rows)
    h_mm = minimax_like()
    h_mm["combo"] = "mm"
    hist = pd.concat([h_mm, history(combo="ns", seed=0), history(combo="ns", seed=1)],
                     ignore_index=True)
    manifest = {"combos": {"mm": {"loss": "minimax"}, "ns": {"loss": "non_saturating"}}}
    out = diagnose_frame(trials, hist, manifest)
    assert list(out[["combo", "seed"]].itertuples(index=False, name=None)) == \
        [("mm", 0), ("ns", 0), ("ns", 1), ("ns", 2), ("mm", 1)]
    assert out["verdicts"].tolist() == ["mode_collapse;vanishing_gradients", "healthy",
                                        "non_convergence", "", "diverged"]
    assert "cells_occupied=1 <= 2" in out.loc[0, "evidence"]
    assert "g_grad_decay=" in out.loc[0, "evidence"]
    assert out.loc[3, "evidence"] == "status=failed: not diagnosed"
    for col in ("g_grad_decay", "d_grad_decay", "d_loss_amplitude", "d_loss_period",
                "g_loss_amplitude", "g_loss_period", "d_real_late", "d_fake_late",
                "d_accuracy_late", "dirac_final_dist", "dirac_log_dist_slope", "dirac_winding",
                "mode_hopping_mean"):
        assert col in out.columns, col
    assert math.isnan(out.loc[3, "g_grad_decay"])        # no history
    assert len(trials.columns) < len(out.columns) and "verdicts" not in trials.columns
    # the stats module reads the column
    rates = verdict_rates(out, ["combo"])
    assert rates.set_index("combo").loc["ns", "rate_healthy"] == pytest.approx(1 / 3)
    assert split_verdicts(out.loc[0, "verdicts"]) == {"mode_collapse", "vanishing_gradients"}


def test_diagnose_frame_mapping_cfg_and_missing_loss():
    trials = pd.DataFrame([ring_row(**SUCCESS)])
    hist = history()
    out = diagnose_frame(trials, hist, {"combos": {"c": {"loss": "non_saturating"}}},
                         cfg={"hq_min": 0.95})
    assert out.loc[0, "verdicts"] == "non_convergence"
    with pytest.raises(ValueError, match="'c'"):
        diagnose_frame(trials, hist, {"combos": {}})
    # without a manifest, D outputs in [0, 1] count as probabilities
    assert diagnose_frame(trials, hist)["d_output_is_probability"].tolist() == [1.0]


# --------------------------------------------------------------------------------------------
# Dirac-GAN through the real trainer (Mescheder et al. 2018)
# --------------------------------------------------------------------------------------------

DIRAC_SUITE = """\
name: dirac_verdicts
seeds: 1
budget: {steps: 500, eval_every: 100, eval_samples: 2500, log_every: 10}
datasets:
  dirac: {h: 0.2}
optimizer: {name: sgd, lr: 0.2, batch_size: 64}
combos:
  minimax_sim:   {loss: minimax, update: simultaneous}
  minimax_alt:   {loss: minimax, update: alternating}
  wgan_clip_sim: {loss: wasserstein, update: simultaneous, remedies: {weight_clipping: {clip: 1.0}}}
  wgan_clip_alt: {loss: wasserstein, update: alternating, remedies: {weight_clipping: {clip: 1.0}}}
  r1_sim:        {loss: minimax, update: simultaneous, remedies: {gradient_penalty: {kind: r1, weight: 1.0}}}
  r1_alt:        {loss: minimax, update: alternating, remedies: {gradient_penalty: {kind: r1, weight: 1.0}}}
  noise_sim:     {loss: minimax, update: simultaneous, remedies: {instance_noise: {std: 0.7, anneal: 0}}}
  noise_alt:     {loss: minimax, update: alternating, remedies: {instance_noise: {std: 0.7, anneal: 0}}}
"""

EXPECTED = {"minimax_sim": "non_convergence", "minimax_alt": "non_convergence",
            "wgan_clip_sim": "non_convergence", "wgan_clip_alt": "non_convergence",
            "r1_sim": "healthy", "r1_alt": "healthy", "noise_sim": "healthy", "noise_alt": "healthy"}


@pytest.fixture(scope="module")
def dirac_run():
    from ganbench.train.training import train_trial

    threads = torch.get_num_threads()
    suite = parse_suite(DIRAC_SUITE)
    trial_rows, hist_frames = [], []
    try:
        for spec in expand(suite):
            res = train_trial(spec)
            for r in res.rows:
                trial_rows.append({"dataset": spec.dataset, "combo": spec.combo, **r})
            h = pd.DataFrame(res.history)
            h.insert(0, "combo", spec.combo)
            h.insert(0, "dataset", spec.dataset)
            hist_frames.append(h)
    finally:
        torch.set_num_threads(threads)
    manifest = {"combos": {name: resolved_combo(suite, name) for name in suite.combos}}
    return pd.DataFrame(trial_rows), pd.concat(hist_frames, ignore_index=True), manifest


def test_dirac_verdicts_match_mescheder(dirac_run):
    trials, hist, manifest = dirac_run
    out = diagnose_frame(trials, hist, manifest).set_index("combo")
    got = out["verdicts"].to_dict()
    assert got == EXPECTED, out[["verdicts", "evidence"]].to_string()
    # the numbers behind them
    assert out.loc["minimax_sim", "dirac_final_dist"] == pytest.approx(3.1, abs=0.1)
    assert out.loc["minimax_sim", "dirac_log_dist_slope"] > 0              # spirals out
    assert out.loc["minimax_alt", "dirac_final_dist"] == pytest.approx(1.41, abs=0.1)
    assert abs(out.loc["minimax_alt", "dirac_log_dist_slope"]) < 1e-3      # orbits
    assert out.loc["minimax_alt", "dirac_winding"] > 3
    assert out.loc["r1_sim", "dirac_final_dist"] < 1e-5
    assert out.loc["noise_sim", "dirac_final_dist"] < 0.1
    assert "dirac_final_dist=3.1 > 0.1" in out.loc["minimax_sim", "evidence"]
    # R1's gradients vanish because G reached the equilibrium, with D undecided: not a verdict
    assert out.loc["r1_sim", "g_grad_decay"] < -3
    assert out.loc["r1_sim", "d_fake_late"] == pytest.approx(0.5, abs=1e-3)


def test_interrupted_and_failed_runs_get_no_verdict():
    # a seed whose trial was interrupted has no final metrics: it is not judged, never "healthy"
    for status in ("interrupted", "failed", "missing"):
        row = ring_row(status=status, modes_covered=np.nan, hq_fraction=np.nan,
                       cells_occupied=np.nan)
        assert diagnose(row, dyn_of(history())) == []
        assert dg.judge(row, {}) == []
