"""Tests for ganbench.analysis.dynamics on constructed series with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ganbench.analysis.dynamics import (
    DynamicsConfig,
    d_saturation,
    dirac_metrics,
    frame_dynamics,
    grad_decay,
    loss_oscillation,
    mode_hopping,
    trial_dynamics,
    window_slices,
)

# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------


def test_config_defaults_and_override():
    cfg = DynamicsConfig()
    assert (cfg.burn_in, cfg.early_window, cfg.late_window, cfg.min_points) == (0.25, 0.10, 0.25, 8)
    cfg2 = DynamicsConfig.from_dict({"late_window": 0.5, "amplitude_quantiles": [0.1, 0.9]})
    assert cfg2.late_window == 0.5 and cfg2.amplitude_quantiles == (0.1, 0.9)
    assert cfg2.burn_in == 0.25
    assert DynamicsConfig.from_dict(None) == cfg
    assert DynamicsConfig.from_dict(cfg2.to_dict()) == cfg2


def test_config_unknown_key_names_it():
    with pytest.raises(ValueError, match="late_windw") as exc:
        DynamicsConfig.from_dict({"late_windw": 0.5, "burn_in": 0.1, "zzz": 1})
    assert "zzz" in str(exc.value) and "burn_in" not in str(exc.value).split("(known")[0]


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="burn_in"):
        DynamicsConfig.from_dict({"burn_in": 1.0})
    with pytest.raises(ValueError, match="late_window"):
        DynamicsConfig(late_window=0.0)


def test_window_slices_count_based():
    e, l = window_slices(100)
    assert (e.start, e.stop) == (0, 10) and (l.start, l.stop) == (75, 100)
    e, l = window_slices(7)          # ceil(0.7) = 1, ceil(1.75) = 2
    assert (e.stop - e.start, l.stop - l.start) == (1, 2)


# --------------------------------------------------------------------------------------------
# Loss oscillation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n,period,spacing", [(600, 40.0, 1), (533, 40.0, 1), (400, 40.0, 10),
                                              (1000, 137.0, 1)])
def test_sinusoid_plus_trend(n, period, spacing):
    steps = spacing * np.arange(1, n + 1, dtype=float)
    amp = 2.0
    values = 3.0 + 0.004 * steps + amp * np.sin(2 * np.pi * steps / (period * spacing) + 0.7)
    out = loss_oscillation(steps, values, burn_in=0.25)
    # half the 5–95 % range of a sinusoid is cos(0.05π)·A ≈ 0.988·A
    assert out["amplitude"] == pytest.approx(amp, rel=0.05)
    assert out["amplitude"] == pytest.approx(amp * math.cos(0.05 * math.pi), rel=0.01)
    assert out["period"] == pytest.approx(period * spacing, rel=0.05)
    assert out["period_p"] < 1e-6
    assert out["n"] == n - int(0.25 * n)
    mean = values[int(0.25 * n):].mean()
    assert out["rel_amplitude"] == pytest.approx(out["amplitude"] / abs(mean), rel=1e-6)


def test_burn_in_removes_initial_transient():
    steps = np.arange(1, 401, dtype=float)
    values = np.sin(2 * np.pi * steps / 20)
    values[:100] += 50.0                      # a huge early transient
    assert loss_oscillation(steps, values, burn_in=0.25)["amplitude"] == pytest.approx(1.0, rel=0.05)
    assert loss_oscillation(steps, values, burn_in=0.0)["amplitude"] > 5


def test_noise_has_no_period_and_few_points_give_nan():
    rng = np.random.default_rng(1)
    steps = np.arange(1, 401, dtype=float)
    out = loss_oscillation(steps, rng.normal(size=400))
    assert math.isnan(out["period"]) and out["period_p"] > 0.05
    assert out["amplitude"] == pytest.approx(1.645, rel=0.15)   # half the 5–95 % range of N(0, 1)
    few = loss_oscillation(np.arange(1, 11.0), np.sin(np.arange(1, 11.0)), burn_in=0.25)
    assert few["n"] == 8                     # 10 points, floor(2.5) = 2 burnt
    short = loss_oscillation(np.arange(1, 9.0), np.sin(np.arange(1, 9.0)), burn_in=0.25)
    assert short["n"] == 6 and math.isnan(short["period"]) and np.isfinite(short["amplitude"])
    flat = loss_oscillation(steps, 2.0 + 0.01 * steps)     # a pure trend: no residual, no peak
    assert flat["amplitude"] == pytest.approx(0.0, abs=1e-9) and math.isnan(flat["period"])


def test_period_needs_two_cycles():
    steps = np.arange(1, 401, dtype=float)        # 300 points after burn-in
    one_and_a_half = np.sin(2 * np.pi * steps / 200.0)
    assert math.isnan(loss_oscillation(steps, one_and_a_half)["period"])
    assert np.isfinite(loss_oscillation(steps, one_and_a_half,
                                        cfg=DynamicsConfig(min_cycles=1.0))["period"])
    two_and_a_half = np.sin(2 * np.pi * steps / 120.0)
    assert loss_oscillation(steps, two_and_a_half)["period"] == pytest.approx(120, rel=0.05)


def test_loss_oscillation_nan_safe_and_unsorted():
    steps = np.arange(1, 301, dtype=float)
    values = np.sin(2 * np.pi * steps / 25)
    values[200] = np.nan
    perm = np.random.default_rng(0).permutation(300)
    out = loss_oscillation(steps[perm], values[perm])
    assert out["period"] == pytest.approx(25, rel=0.05)
    assert out["n"] == 300 - 75 - 1


# --------------------------------------------------------------------------------------------
# Gradient-norm decay
# --------------------------------------------------------------------------------------------


def test_geometric_decay_matches_window_medians():
    t = np.arange(1, 201, dtype=float)
    norms = 0.1 * 0.98 ** t
    out = grad_decay(t, norms)
    # early window: t = 1..20 (median between t=10 and 11); late: t = 151..200 (t=175, 176)
    early = 0.1 * (0.98 ** 10 + 0.98 ** 11) / 2
    late = 0.1 * (0.98 ** 175 + 0.98 ** 176) / 2
    assert out["early"] == pytest.approx(early, rel=1e-12)
    assert out["late"] == pytest.approx(late, rel=1e-12)
    assert out["decay"] == pytest.approx(math.log10(late / early), rel=1e-12)
    assert out["decay"] == pytest.approx(-1.4477, abs=1e-3)


def test_decay_floor_nan_and_step_zero():
    t = np.arange(0, 101, dtype=float)         # step 0 is dropped
    norms = np.where(t < 50, 1.0, 0.0)
    norms[0] = 1e9
    out = grad_decay(t, norms)
    assert out["decay"] == pytest.approx(-30.0)   # 0 floored at 1e-30, early median 1
    assert out["early"] == 1.0 and out["late"] == 0.0
    norms = np.full(101, 2.0)
    norms[90:] = np.nan                          # the late window keeps its finite values
    assert grad_decay(t, norms)["decay"] == pytest.approx(0.0)
    norms[75:] = np.nan
    assert math.isnan(grad_decay(t, norms)["decay"])
    assert math.isnan(grad_decay([1.0], [1.0])["decay"])


# --------------------------------------------------------------------------------------------
# Saturation
# --------------------------------------------------------------------------------------------


def test_saturation_probability_and_critic():
    n = 100
    d_real = np.linspace(0.5, 0.99, n)
    d_fake = np.linspace(0.5, 0.01, n)
    out = d_saturation(d_real, d_fake, probability=True)
    rl, fl = d_real[75:].mean(), d_fake[75:].mean()
    assert out["d_real_late"] == pytest.approx(rl) and out["d_fake_late"] == pytest.approx(fl)
    assert out["d_accuracy_late"] == pytest.approx((rl + 1 - fl) / 2)
    assert out["d_gap_late"] == pytest.approx(rl - fl)
    crit = d_saturation(d_real * 10, -d_fake * 10, probability=False)
    assert math.isnan(crit["d_accuracy_late"])
    assert crit["d_gap_late"] == pytest.approx(10 * rl + 10 * fl)
    # an undecided D: soft accuracy ½
    assert d_saturation(np.full(8, 0.5), np.full(8, 0.5), True)["d_accuracy_late"] == 0.5


# --------------------------------------------------------------------------------------------
# Dirac
# --------------------------------------------------------------------------------------------


def test_fixed_point_zero_winding():
    out = dirac_metrics(np.full(50, 0.3), np.full(50, -0.4))
    assert out["winding"] == 0.0
    assert out["final_dist"] == pytest.approx(0.5) and out["max_dist"] == pytest.approx(0.5)
    assert out["log_dist_slope"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("turns", [2, -1])
def test_circle_winding(turns):
    a = np.linspace(0, 2 * np.pi * turns, 400)
    out = dirac_metrics(1.5 * np.cos(a), 1.5 * np.sin(a))
    assert out["winding"] == pytest.approx(turns, abs=1e-9)
    assert out["final_dist"] == pytest.approx(1.5)
    assert out["log_dist_slope"] == pytest.approx(0.0, abs=1e-9)


def test_spirals():
    t = np.arange(1, 501, dtype=float)
    a = 0.1 * t
    r_out = np.exp(0.002 * t)
    out = dirac_metrics(r_out * np.cos(a), r_out * np.sin(a), t)
    assert out["log_dist_slope"] == pytest.approx(0.002, rel=1e-6)
    assert out["winding"] == pytest.approx(0.1 * 499 / (2 * np.pi), rel=1e-9)
    r_in = np.exp(-0.03 * t)
    out = dirac_metrics(r_in * np.cos(a), r_in * np.sin(a), t)
    assert out["log_dist_slope"] == pytest.approx(-0.03, rel=1e-6)
    assert out["max_dist"] == pytest.approx(math.exp(-0.03))


def test_dirac_empty_and_floor():
    assert all(math.isnan(v) for v in dirac_metrics([], []).values())
    out = dirac_metrics(np.zeros(10), np.zeros(10))
    assert out["final_dist"] == 0.0 and out["log_dist_slope"] == pytest.approx(0.0)


# --------------------------------------------------------------------------------------------
# Mode hopping
# --------------------------------------------------------------------------------------------


def test_mode_hopping_hand_histograms():
    assert mode_hopping([[1, 0], [0, 1]])["mean"] == 1.0
    out = mode_hopping([[10, 0, 0], [10, 0, 0], [0, 5, 5], [0, 0, 0], [0, 10, 0]])
    # TVs: 0, 1, (empty skipped) ½·(0 + ½ + ½) = ½
    assert out["n"] == 3
    assert out["mean"] == pytest.approx(0.5) and out["max"] == 1.0
    assert mode_hopping([[3, 1], [6, 2], [30, 10]])["mean"] == 0.0   # counts are normalised
    assert math.isnan(mode_hopping([[1, 0]])["mean"])
    assert math.isnan(mode_hopping([])["mean"])
    with pytest.raises(ValueError):
        mode_hopping([[1, 0], [1, 0, 0]])
    # min_count: a one-sample "hop" is noise and can be skipped
    hists = [[100, 0], [0, 1], [100, 0]]
    assert mode_hopping(hists)["mean"] == 1.0
    assert mode_hopping(hists, min_count=50)["mean"] == 0.0
    assert mode_hopping([[0.5, 0.5], [1.0, 0.0]])["mean"] == 0.5      # normalised input


# --------------------------------------------------------------------------------------------
# One seed, flat
# --------------------------------------------------------------------------------------------


def _history(n=200, every=10, hists=None):
    steps = every * np.arange(1, n + 1)
    h = pd.DataFrame({
        "step": steps, "d_loss": 1.3 + 0.2 * np.sin(2 * np.pi * steps / 400.0),
        "g_loss": 0.7 + 0.0 * steps,
        "g_grad_norm": 0.1 * 0.97 ** np.arange(n), "d_grad_norm": np.full(n, 2.0),
        "g_grad_norm.0": np.full(n, 1.0), "g_grad_norm.1": 0.1 * 0.97 ** np.arange(n),
        "d_grad_norm.0": np.full(n, 2.0),
        "d_real": np.full(n, 0.9), "d_fake": np.full(n, 0.02),
    })
    if hists is not None:
        col = [None] * n
        idx = list(range(9, n, 40))
        assert len(idx) >= len(hists)
        for i, hh in zip(idx, hists):
            col[i] = hh
        h["mode_hist"] = col
    return h


def test_trial_dynamics_flat_dict():
    h = _history()
    d = trial_dynamics(h, probability=True)
    gd = grad_decay(h["step"], h["g_grad_norm"])["decay"]
    assert d["g_grad_decay"] == pytest.approx(gd)
    assert d["g_grad_decay"] == pytest.approx(math.log10(0.97) * 165, rel=0.02)
    assert d["g_grad_decay.1"] == pytest.approx(gd) and d["g_grad_decay.0"] == 0.0
    assert d["d_grad_decay"] == 0.0 and d["d_grad_decay.0"] == 0.0
    assert d["d_loss_period"] == pytest.approx(400, rel=0.05)
    assert d["d_loss_amplitude"] == pytest.approx(0.2, rel=0.05)
    assert math.isnan(d["g_loss_period"]) and d["g_loss_amplitude"] == pytest.approx(0.0, abs=1e-12)
    assert d["d_fake_late"] == pytest.approx(0.02) and d["d_accuracy_late"] == pytest.approx(0.94)
    assert d["d_output_is_probability"] == 1.0
    assert math.isnan(d["dirac_final_dist"]) and math.isnan(d["mode_hopping_mean"])
    assert d["n_logged"] == 200


def test_trial_dynamics_mode_hist_and_dirac():
    h = _history(hists=[[500, 0], [0, 500], [3, 0], [0, 500], [500, 1500]])
    d = trial_dynamics(h, probability=False)
    # the 3-sample histogram is below hop_min_count (100) and skipped: TVs 1, 0, ¼
    assert d["mode_hopping_mean"] == pytest.approx((1 + 0 + 0.25) / 3)
    assert d["mode_hopping_max"] == 1.0
    assert math.isnan(d["d_accuracy_late"]) and d["d_output_is_probability"] == 0.0
    a = np.linspace(0, 4 * np.pi, len(h))
    h["theta"], h["psi"] = np.cos(a), np.sin(a)
    d = trial_dynamics(h, probability=True)
    assert d["dirac_winding"] == pytest.approx(2.0) and d["dirac_final_dist"] == pytest.approx(1.0)


def test_frame_dynamics_groups():
    h1, h2 = _history(), _history()
    h1["dataset"], h1["combo"], h1["seed"] = "ring", "a", 0
    h2["dataset"], h2["combo"], h2["seed"] = "ring", "b", 0
    h2["d_fake"] = 3.0
    out = frame_dynamics(pd.concat([h1, h2], ignore_index=True), {"a": True, "b": False})
    assert list(out["combo"]) == ["a", "b"]
    assert out["d_output_is_probability"].tolist() == [1.0, 0.0]
    assert out.loc[1, "d_gap_late"] == pytest.approx(0.9 - 3.0)
