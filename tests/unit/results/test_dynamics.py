"""Tests for ganbench.results.dynamics on constructed series with known answers, and by
simulation (seeded) for the red-noise periodicity test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ganbench.results.dynamics import (
    DynamicsConfig,
    d_saturation,
    dirac_metrics,
    frame_dynamics,
    grad_decay,
    loss_oscillation,
    mode_hopping,
    periodicity_test,
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
    with pytest.raises(ValueError, match="period_test_padding"):
        DynamicsConfig(period_padding=8, period_test_padding=3)
    with pytest.raises(ValueError, match="period_min_index"):
        DynamicsConfig(period_min_index=0)
    with pytest.raises(ValueError, match="ar1_phi"):
        DynamicsConfig(ar1_phi_max=1.0)
    with pytest.raises(ValueError, match="ar1_phi"):
        DynamicsConfig(ar1_phi_min=0.5, ar1_phi_max=0.4)


def test_config_red_noise_defaults_round_trip():
    cfg = DynamicsConfig()
    assert (cfg.period_alpha, cfg.period_min_index, cfg.period_test_padding, cfg.period_padding) \
        == (0.05, 2, 2, 8)
    assert (cfg.ar1_phi_min, cfg.ar1_phi_max, cfg.ar1_bias_correction) == (-0.99, 0.99, True)
    d = {"period_alpha": 0.01, "ar1_phi_max": 0.9, "ar1_bias_correction": False}
    cfg2 = DynamicsConfig.from_dict(d)
    assert DynamicsConfig.from_dict(cfg2.to_dict()) == cfg2
    assert cfg2.to_dict()["ar1_bias_correction"] is False


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
    assert abs(out["ar1_phi"]) < 0.25                     # white noise: φ ≈ 0 (SE ≈ 0.06)
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
# Dominant period against a red-noise (AR(1)) null, by simulation
# --------------------------------------------------------------------------------------------


def ar1_series(rng, reps, n, phi, noise_std=1.0, warm=300):
    """``reps`` stationary AR(1) series of length ``n`` with marginal std ``noise_std``."""
    e = rng.normal(size=(reps, n + warm)) * noise_std * math.sqrt(1.0 - phi ** 2)
    x = np.empty_like(e)
    x[:, 0] = rng.normal(size=reps) * noise_std
    for t in range(1, x.shape[1]):
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return x[:, warm:]


def fisher_g_p(resid):
    """White-noise Fisher g p-value (first term) of a residual: the test the AR(1) null replaced."""
    r = resid - resid.mean()
    n = r.size
    ords = np.abs(np.fft.rfft(r))[1:(n - 1) // 2 + 1] ** 2
    g = ords.max() / ords.sum()
    return min(1.0, ords.size * (1 - g) ** (ords.size - 1))


LOG_EVERY = 50     # 20k steps / log_every 50 = 400 logged points per seed


# Share of aperiodic AR(1) loss series given a finite period (1000 series per case, seed 100 + i;
# the 25 % burn-in leaves 300 / 150 points). Measured here, period_alpha = 0.05:
#   400 points: φ=0 4.9 %, φ=0.5 6.9 %, φ=0.8 6.3 %, φ=0.95 5.5 %
#   200 points: φ=0 4.7 %, φ=0.5 5.5 %, φ=0.8 4.8 %, φ=0.95 5.5 %
# (4000 series per case: 4.9 / 5.3 / 5.5 / 5.4 % and 4.6 / 4.9 / 5.0 / 5.5 %.) The requirement is
# <= 10 %. Fisher's white-noise g test (p <= 0.05) on the same detrended series: 400 points
# 3.8 / 78.7 / 100 / 100 %, 200 points 4.7 / 62.9 / 99.4 / 100 %.
@pytest.mark.parametrize("i,n_logged,phi", [(i, n, phi) for i, (n, phi) in enumerate(
    [(n, phi) for n in (400, 200) for phi in (-0.5, 0.0, 0.5, 0.8, 0.95)])])
def test_red_noise_false_positive_rate(i, n_logged, phi):
    rng = np.random.default_rng(100 + i)
    steps = LOG_EVERY * np.arange(1, n_logged + 1, dtype=float)
    series = 1.39 + 0.1 * ar1_series(rng, 1000, n_logged, phi)
    outs = [loss_oscillation(steps, v) for v in series]
    rate = np.mean([np.isfinite(o["period"]) for o in outs])
    assert rate <= 0.10
    # the period is finite exactly when the peak is significant (min_cycles aside)
    assert all(o["period_p"] <= 0.05 for o in outs if np.isfinite(o["period"]))
    # φ is recovered on average (bias-corrected lag-1 autocorrelation)
    phis = np.array([o["ar1_phi"] for o in outs])
    assert np.mean(phis) == pytest.approx(phi, abs=0.05)
    if phi >= 0.5 and n_logged == 400:
        # what the white-noise null did on the same series
        fisher = np.mean([fisher_g_p(v[n_logged // 4:] - np.polyval(np.polyfit(
            steps[n_logged // 4:], v[n_logged // 4:], 1), steps[n_logged // 4:])) <= 0.05
            for v in series])
        assert fisher > 0.4


# Detection: amplitude 1 in AR(1) noise of std 1 (φ = 0.5, innovation std √(1 − φ²)), i.e.
# SNR = amplitude / noise std = 1, period 40 logged points, 300 series of 400 points (seed 7):
# found within 10 % of the period in 99.0 % here (98.9 % over 4000 series). With 200 points
# (3.75 cycles after burn-in) it is found in only ≈ 47 %; that length is not asserted.
def test_sinusoid_in_red_noise_is_detected():
    rng = np.random.default_rng(7)
    n, period, amp = 400, 40.0, 1.0
    steps = LOG_EVERY * np.arange(1, n + 1, dtype=float)
    phase = rng.uniform(0, 2 * np.pi, size=(300, 1))
    series = (1.39 + ar1_series(rng, 300, n, 0.5)
              + amp * np.sin(2 * np.pi * np.arange(n) / period + phase))
    periods = np.array([loss_oscillation(steps, v)["period"] for v in series]) / LOG_EVERY
    hit = np.abs(periods - period) <= 0.1 * period
    assert hit.mean() >= 0.80


def test_periodicity_test_contract():
    rng = np.random.default_rng(3)
    r = ar1_series(rng, 1, 3000, 0.7)[0]
    out = periodicity_test(r)
    # tested: Fourier indices 2 … 1499 and the half-bin points between them
    assert out["m"] == 2 * (1499 - 2) + 1
    assert out["phi"] == pytest.approx(0.7, abs=0.03)
    assert out["p"] == pytest.approx(1 - (1 - math.exp(-out["stat"])) ** out["m"], rel=1e-9)
    # a smoother series (integrated random walk, r₁ ≈ 1) is tested with φ = ar1_phi_max
    assert periodicity_test(np.cumsum(np.cumsum(rng.normal(size=300))))["phi"] == 0.99
    # a sinusoid between two Fourier frequencies (7.5 cycles) is still located
    t = np.arange(300)
    out = periodicity_test(np.sin(2 * np.pi * t / 40) + 0.5 * rng.normal(size=300))
    assert out["p"] < 1e-6 and 1 / out["freq"] == pytest.approx(40, rel=0.02)
    # too short to test two Fourier indices: NaN, m = 0
    short = periodicity_test(np.sin(np.arange(5.0)))
    assert short["m"] == 0 and math.isnan(short["p"])
    # negative autocorrelation is fitted by default, and clipped to 0 on request
    blue = ar1_series(rng, 1, 400, -0.5)[0]
    assert periodicity_test(blue)["phi"] == pytest.approx(-0.5, abs=0.1)
    assert periodicity_test(blue, DynamicsConfig(ar1_phi_min=0.0))["phi"] == 0.0


def test_red_noise_that_fisher_g_calls_periodic_has_no_period():
    # One φ = 0.8 series on which the white-noise Fisher g test finds a "period": the AR(1)
    # null explains the peak.
    rng = np.random.default_rng(11)
    steps = LOG_EVERY * np.arange(1, 401, dtype=float)
    for v in ar1_series(rng, 50, 400, 0.8):
        resid = v[100:] - np.polyval(np.polyfit(steps[100:], v[100:], 1), steps[100:])
        if fisher_g_p(resid) < 0.01:
            break
    else:
        pytest.fail("no series with a Fisher g p-value below 0.01")
    out = loss_oscillation(steps, v)
    assert math.isnan(out["period"]) and out["period_p"] > 0.05
    assert out["ar1_phi"] == pytest.approx(0.8, abs=0.1)


def dirac_closed_form(steps=500, h=0.2, theta=1.0, psi=1.0):
    """Simultaneous gradient steps on L = f(ψθ) + f(0), f(t) = −log(1 + e^(−t)) (minimax)."""
    th, ps = np.empty(steps), np.empty(steps)
    for i in range(steps):
        fp = 1.0 / (1.0 + math.exp(psi * theta))          # f'(ψθ)
        theta, psi = theta - h * psi * fp, psi + h * theta * fp
        th[i], ps[i] = theta, psi
    loss = -np.log1p(np.exp(-ps * th)) - math.log(2.0)
    return th, ps, loss


# The simultaneous minimax Dirac-GAN (h = 0.2, from θ = ψ = 1, 500 steps) spirals out and its
# loss spikes whenever ψθ < 0 (twice a revolution). After the 25 % burn-in the 375 analysed steps
# hold about one revolution (the rotation slows as ψθ grows), so the loss is a train of two
# sharp spikes on a smooth background: the AR(1) null (fitted φ ≈ 0.975) is rejected
# (period_p ≈ 0.008) and the dominant significant line lies at ≈ 18.9 steps, a harmonic of the
# spike train rather than the revolution (≈ 130 steps between spikes, fewer than min_cycles).
# ψθ: period_p ≈ 0.031, line at ≈ 45 steps.
def test_dirac_gan_loss_has_a_significant_period():
    th, ps, loss = dirac_closed_form()
    steps = np.arange(1, 501, dtype=float)
    assert dirac_metrics(th, ps, steps)["winding"] > 2          # it does turn around (0, 0)
    out = loss_oscillation(steps, loss)
    assert np.isfinite(out["period"]) and out["period_p"] <= 0.05
    assert out["period_p"] == pytest.approx(0.0081, abs=0.002)
    assert out["period"] == pytest.approx(18.9, rel=0.02)
    assert out["ar1_phi"] == pytest.approx(0.975, abs=0.01)
    prod = loss_oscillation(steps, ps * th)
    assert np.isfinite(prod["period"]) and prod["period_p"] <= 0.05


@pytest.fixture
def keep_threads():
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def test_dirac_trial_in_process_oscillates(keep_threads):
    # the real training loop, in-process (no Ray): D's logged loss after burn-in
    from ganbench.config.suite import expand, parse_suite
    from ganbench.train.training import train_trial

    text = ("name: dirac_osc\nseeds: 1\nbudget: {steps: 500}\ndatasets: {dirac: {h: 0.2}}\n"
            "optimizer: {batch_size: 4}\n"
            "combos: {c: {loss: minimax, update: simultaneous, n_critic: 1}}\n")
    (spec,) = expand(parse_suite(text))
    hist = pd.DataFrame(train_trial(spec, probes=True).history)
    assert len(hist) == 500
    d = trial_dynamics(hist, probability=True)
    assert np.isfinite(d["d_loss_period"]) and d["d_loss_period_p"] <= 0.05
    assert d["d_loss_period"] == pytest.approx(18.9, rel=0.02)
    assert d["d_loss_ar1_phi"] == pytest.approx(0.975, abs=0.01)
    th, ps, _ = dirac_closed_form()
    assert hist["theta"].iloc[-1] == pytest.approx(th[-1], rel=1e-3)


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
    assert mode_hopping(hists, min_count=50)["min_total"] == 100.0
    assert mode_hopping([[3, 1], [6, 2]])["min_total"] == 4.0
    assert math.isnan(mode_hopping([[1, 0]])["min_total"])


# --------------------------------------------------------------------------------------------
# One seed, flat
# --------------------------------------------------------------------------------------------


def _history(n=200, every=10, hists=None, cells=None):
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
    if cells is not None:
        col = [None] * n
        for i, hh in zip(range(9, n, 40), cells):
            col[i] = hh
        h["cell_hist"] = col
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
    assert d["mode_hopping_basis"] == "none" and math.isnan(d["mode_hopping_min_samples"])
    assert d["n_logged"] == 200
    # the periodicity test's p-value and fitted φ, per loss
    assert d["d_loss_period_p"] < 1e-6 and 0.0 <= d["d_loss_ar1_phi"] <= 0.99
    assert math.isnan(d["g_loss_period_p"]) and math.isnan(d["g_loss_ar1_phi"])   # constant


def test_trial_dynamics_mode_hist_and_dirac():
    h = _history(hists=[[500, 0], [0, 500], [3, 0], [0, 500], [500, 1500]])
    d = trial_dynamics(h, probability=False)
    # the 3-sample histogram is below hop_min_count (100) and skipped: TVs 1, 0, ¼
    assert d["mode_hopping_mean"] == pytest.approx((1 + 0 + 0.25) / 3)
    assert d["mode_hopping_max"] == 1.0
    assert d["mode_hopping_basis"] == "hq_modes" and d["mode_hopping_min_samples"] == 500.0
    assert math.isnan(d["d_accuracy_late"]) and d["d_output_is_probability"] == 0.0
    a = np.linspace(0, 4 * np.pi, len(h))
    h["theta"], h["psi"] = np.cos(a), np.sin(a)
    d = trial_dynamics(h, probability=True)
    assert d["dirac_winding"] == pytest.approx(2.0) and d["dirac_final_dist"] == pytest.approx(1.0)


HQ_BLIP = [[0, 0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 6, 0]]
BLOB_3_TO_6 = [[0, 0, 0, 2500, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 2500, 0]]


def test_mode_hopping_prefers_cells():
    # a handful of high-quality samples "moving" from mode 3 to mode 6 is never hopping
    d = trial_dynamics(_history(hists=HQ_BLIP), probability=True)
    assert math.isnan(d["mode_hopping_mean"]) and d["mode_hopping_basis"] == "none"
    # the whole 2500-sample blob moving from cell 3 to cell 6 is (TV = 1), even when its
    # few high-quality samples alone could not show it
    d = trial_dynamics(_history(hists=HQ_BLIP, cells=BLOB_3_TO_6), probability=True)
    assert d["mode_hopping_mean"] == pytest.approx(1.0) and d["mode_hopping_max"] == 1.0
    assert d["mode_hopping_basis"] == "cells" and d["mode_hopping_min_samples"] == 2500.0
    # nearly all of it: TV ≈ 1
    near = [[5, 3, 1, 2480, 4, 2, 3, 2], [2, 4, 1, 3, 2, 6, 2478, 4]]
    d = trial_dynamics(_history(cells=near), probability=True)
    assert d["mode_hopping_mean"] == pytest.approx(0.99, abs=0.01)
    # the cells win over the HQ histograms when both are usable: a steady spread of all
    # samples whose HQ subset alternates is not called hopping
    steady = [[300] * 8] * 4
    flip = [[200, 0, 0, 0, 0, 0, 0, 0], [0, 200, 0, 0, 0, 0, 0, 0]] * 2
    d = trial_dynamics(_history(hists=flip, cells=steady), probability=True)
    assert d["mode_hopping_mean"] == 0.0 and d["mode_hopping_basis"] == "cells"
    # a cell column without usable histograms falls back to the HQ ones
    d = trial_dynamics(_history(hists=flip, cells=[None, [0] * 8, [40] + [0] * 7]),
                       probability=True)
    assert d["mode_hopping_mean"] == 1.0 and d["mode_hopping_basis"] == "hq_modes"
    assert d["mode_hopping_min_samples"] == 200.0
    # cell histograms below hop_min_count are skipped like HQ ones
    d = trial_dynamics(_history(cells=BLOB_3_TO_6), probability=True,
                       cfg=DynamicsConfig(hop_min_count=3000))
    assert d["mode_hopping_basis"] == "none"

def test_frame_dynamics_groups():
    h1, h2 = _history(), _history()
    h1["dataset"], h1["combo"], h1["seed"] = "ring", "a", 0
    h2["dataset"], h2["combo"], h2["seed"] = "ring", "b", 0
    h2["d_fake"] = 3.0
    out = frame_dynamics(pd.concat([h1, h2], ignore_index=True), {"a": True, "b": False})
    assert list(out["combo"]) == ["a", "b"]
    assert out["d_output_is_probability"].tolist() == [1.0, 0.0]
    assert out.loc[1, "d_gap_late"] == pytest.approx(0.9 - 3.0)
    assert {"d_loss_period_p", "d_loss_ar1_phi", "g_loss_period_p", "g_loss_ar1_phi",
            "mode_hopping_basis", "mode_hopping_min_samples"} <= set(out.columns)
    assert out["mode_hopping_basis"].tolist() == ["none", "none"]
