"""Training dynamics (docs/architecture.md §4), as pure functions.

Every definition below is what the report's Methods section quotes; every threshold or window
size lives in :class:`DynamicsConfig` (defaults in brackets), which a suite's ``diagnostics:``
block can override (:meth:`DynamicsConfig.from_dict`).

**Series and windows.** A series is one seed's logged values in step order (``log_every`` steps
apart; every step for the Dirac-GAN). Rows at step 0 are dropped, and windows are taken by
*count* of logged points: with ``n`` points, the *early window* is the first
``max(1, ceil(early_window·n))`` points [10 %], the *late window* the last
``max(1, ceil(late_window·n))`` [25 %], and *burn-in* drops the first ``floor(burn_in·n)``
points [25 %]. Windows are chosen before non-finite values are dropped, so a value that turned
NaN shrinks its window instead of shifting it.

**Gradient-norm decay.** ``log10(median(late) / median(early))`` of the L2 norm of ∂L/∂θ, for
G and D, in total and per layer. Norms are floored at ``norm_floor`` [1e-30] before the ratio so
that an exactly zero gradient gives a large finite negative decay, not −inf. −3 means the
typical gradient fell 1000-fold. NaN when either window has no finite value or ``n < 2``.

**D saturation.** Late-window means of D's mean output on the real and the fake batch,
``d_real_late`` and ``d_fake_late``. For the cross-entropy losses these are probabilities and
``d_accuracy_late = (d_real_late + 1 − d_fake_late) / 2`` is a *soft accuracy*: the expected
accuracy, on a balanced real/fake batch, of a classifier that answers "real" with probability
D(x). (Hard accuracies ``[D(x) > ½]`` would need per-sample outputs, which the probes do not
store; the soft accuracy equals the hard one when D saturates at 0 and 1.) For critic losses
(raw outputs) no accuracy is defined (NaN) and the late gap ``d_gap_late = d_real_late −
d_fake_late`` is the quantity to read; the gap is reported for every loss.

**Loss oscillation.** After burn-in, the loss is detrended by a least-squares line in the step,
and non-finite points are dropped. The *amplitude* is half the range between the
``amplitude_quantiles`` [5 %, 95 %] percentiles of the residual: robust to isolated spikes,
and for a pure sinusoid of amplitude A it gives cos(0.05π)·A ≈ 0.988·A. The *relative
amplitude* is amplitude / (|mean loss after burn-in| + ``rel_eps`` [1e-8]); it is only
meaningful for losses whose mean is away from 0 (the cross-entropy losses, ≈ 1.39 for D at
equilibrium), not for Wasserstein critics whose loss hovers around 0.

**Dominant period: test against red noise.** Logged losses are autocorrelated, so a peak is
judged against a stationary AR(1) ("red noise") null, not white noise. The residual is linearly
interpolated onto a uniform grid with the median step spacing (n points; frequencies f in
cycles per point) and its periodogram I(f) = |Σ_t r_t e^(−2πift)|² / n is taken on a
``period_padding``-times [8] zero-padded FFT grid.

*Fit.* φ is the lag-1 autocorrelation r₁ of the residual after removing, by least squares, the
sinusoid at the frequency of the largest periodogram ordinate (on the padded grid, in the tested
band, whitened with a first φ fitted on the residual itself), so that a real oscillation does
not inflate φ and hide in its own red spectrum. With ``ar1_bias_correction`` [on], r₁ is
corrected for its small-sample bias after detrending, E r₁ ≈ φ − (2 + 4φ)/n, i.e. φ = (n·r₁ +
2)/(n − 4). φ is clipped to [``ar1_phi_min``, ``ar1_phi_max``] [−0.99, 0.99].

*Null spectrum.* S(f) = c·s_φ(f) with s_φ(f) = (1 − φ²)/(1 − 2φ cos 2πf + φ²), the AR(1)
spectrum relative to the process variance, and the level c = mean of I(f_k)/s_φ(f_k) over the
tested Fourier frequencies f_k = k/n (a Whittle estimate of the series' variance; the sample
variance itself is too small for φ near 1, whose short detrended series lose much of their
variance to the trend line). Under the null each ratio I(f)/S(f) is ≈ Exp(1) (χ²₂/2).

*Tested frequencies.* Fourier indices k = ``period_min_index`` [2] … ⌊(n − 1)/2⌋, on a grid
``period_test_padding`` [2] times finer (Fourier and half-bin frequencies: a period between two
Fourier frequencies loses at most 19 % of its peak power instead of 59 %); m =
``period_test_padding``·(⌊(n − 1)/2⌋ − ``period_min_index``) + 1 ordinates. Excluded: k = 0 (the
mean); k = 1 (under two cycles, and the detrending line absorbs a third to a half of its power);
the Nyquist ordinate (χ²₁, not Exp(1)).

*Family-wise p-value.* An ordinate with ratio x has p = P(max of m iid Exp(1) ≥ x) = 1 − (1 −
e^(−x))^m, and is significant when p ≤ ``period_alpha`` [0.05].

*Peak and period.* The peak is the significant ordinate with the most raw power (the dominant
line: for a non-sinusoidal oscillation the fundamental rather than a harmonic that whitening
favours), or the largest ratio when none is significant; ``period_p`` is its p-value and
``ar1_phi`` the fitted φ. Its frequency is refined at the raw periodogram's maximum on the
padded grid within one test-grid step, then by a parabola through the log ordinates around it. The *dominant period* (in steps)
is NaN with fewer than ``min_points`` [8] points, with a constant residual, when the peak is not
significant (``period_p`` > ``period_alpha``: the residual is indistinguishable from red noise),
or when fewer than ``min_cycles`` [2] periods fit in the analysed span (a slow drift that the
line did not remove is not an oscillation).

*Calibration* at the defaults (Gaussian AR(1) series of 400 and 200 logged points, i.e. 300
and 150 after burn-in; 4000 series each; share given a finite period): φ = 0: 4.9 % / 4.6 %;
φ = 0.5: 5.3 % / 4.9 %; φ = 0.8: 5.5 % / 5.0 %; φ = 0.95: 5.4 % / 5.5 %; negatively
autocorrelated φ = −0.5: 5.2 % / 5.9 % (with a lower clip of 0 instead, such "blue" series
would be tested against white noise: 83 % / 64 %). *Power:* a sinusoid of amplitude 1 and
period 40 points in AR(1) noise with φ = 0.5 and standard deviation 1 (SNR = amplitude / noise
std = 1) is found within 10 % of its period in 98.9 % of 400-point series (period 25: 99.8 %;
period 80: 95.8 %), but only in 47 % of 200-point series (3.75 cycles in 150 points). A
non-sinusoidal oscillation with fewer than ``min_cycles`` cycles in the span can still reject
the null through its harmonics, and its period is then read from a harmonic (the simultaneous
minimax Dirac-GAN's loss after burn-in, about one revolution with two loss spikes:
``period_p`` ≈ 0.008, period ≈ 19 steps).

**Dirac-GAN.** With distance to equilibrium d_t = √(θ_t² + ψ_t²): the final distance, the
maximum distance, the slope of ln(max(d_t, ``norm_floor``)) against the step over the last
``dirac_tail`` [50 %] of points by least squares (per step; > 0 spirals out, ≈ 0 orbits,
< 0 converges: d shrinks by e^(slope) per step), and the *winding*: the total signed angle
turned around (0, 0) in the (θ, ψ) plane, from the unwrapped ``atan2(ψ, θ)``, in revolutions
(counter-clockwise positive). Unwrapping assumes successive points turn by less than half a
revolution, which holds for small step sizes (h = 0.2).

**Mode hopping.** Per evaluation, a histogram over the K modes is normalised to a distribution
p_t. Hopping between successive evaluations is the total variation
TV = ½ Σ_k |p_t,k − p_{t−1},k| ∈ [0, 1] (0: same mass per mode; 1: the mass moved entirely to
other modes). Histograms with too few samples are skipped and the next usable one is compared
with the last usable one: :func:`mode_hopping` skips only empty ones, while the per-seed
summary skips histograms of fewer than ``hop_min_count`` [100] samples, because the TV of tiny
histograms is noise (one stray sample hopping gives TV = 1; multinomial noise alone gives
TV ≈ 0.15 for 100 samples and ≈ 0.03 for 2500 samples spread over 8 modes). *Basis.* The
per-seed summary uses the cell histograms (``cell_hist``: every generated sample counted in
its nearest-centre cell, no quality filter) when the history has that column and at least
two of them are usable; they hold the full sample count, so a collapsed blob that moves from
cell to cell is hopping whether or not it sits on a mode. Otherwise it falls back to the
high-quality histograms (``mode_hist``: samples within the quality radius of their mode).
``mode_hopping_basis`` says which was used (``"cells"``, ``"hq_modes"``, or ``"none"`` when
neither gave a TV) and ``mode_hopping_min_samples`` is the smallest total among the
histograms behind the TVs. ``mode_hopping_mean`` and ``mode_hopping_max`` summarise the TVs of
one seed; NaN with fewer than two usable histograms.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ganbench.config.diagnostics import DynamicsConfig, reject_unknown_keys  # noqa: F401 (re-exported)

__all__ = [
    "DynamicsConfig",
    "window_slices",
    "dirac_metrics",
    "mode_hopping",
    "periodicity_test",
    "loss_oscillation",
    "grad_decay",
    "d_saturation",
    "trial_dynamics",
    "frame_dynamics",
]


DEFAULT = DynamicsConfig()


# ----------------------------------------------------------------------------------- helpers
def _f64(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1)


def window_slices(n: int, cfg: DynamicsConfig = DEFAULT) -> tuple[slice, slice]:
    """``(early, late)`` slices of ``n`` logged points (count-based; see the module docstring)."""
    k_early = max(1, math.ceil(cfg.early_window * n - 1e-9))
    k_late = max(1, math.ceil(cfg.late_window * n - 1e-9))
    return slice(0, min(k_early, n)), slice(max(0, n - k_late), n)


def _sorted_series(steps: Any, values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values as float arrays in step order, step-0 rows dropped."""
    s, v = _f64(steps), _f64(values)
    if s.shape != v.shape:
        raise ValueError(f"steps and values differ in length ({s.size} vs {v.size})")
    keep = s > 0
    s, v = s[keep], v[keep]
    order = np.argsort(s, kind="stable")
    return s[order], v[order]


def _finite_median(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else float("nan")


def _linfit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares ``(slope, intercept)``; slope 0 when x is constant."""
    xm = x.mean()
    dx = x - xm
    sxx = float(np.dot(dx, dx))
    slope = float(np.dot(dx, y - y.mean()) / sxx) if sxx > 0 else 0.0
    return slope, float(y.mean() - slope * xm)


# ------------------------------------------------------------------------------------ Dirac
def dirac_metrics(theta: Any, psi: Any, steps: Any | None = None,
                  cfg: DynamicsConfig = DEFAULT) -> dict[str, float]:
    """Distance-to-equilibrium metrics of one Dirac-GAN trajectory.

    Args:
        theta: G's parameter per logged step.
        psi: D's parameter per logged step.
        steps: the step of each point (default 1, 2, …); points are used in the given order.
        cfg: windows and floors.
    Returns:
        ``final_dist`` (last finite distance), ``max_dist``, ``log_dist_slope`` (per step, over
        the last ``dirac_tail`` of points) and ``winding`` (revolutions, counter-clockwise > 0).
        All NaN for an empty trajectory.
    """
    th, ps = _f64(theta), _f64(psi)
    if th.shape != ps.shape:
        raise ValueError("theta and psi differ in length")
    st = np.arange(1, th.size + 1, dtype=np.float64) if steps is None else _f64(steps)
    ok = np.isfinite(th) & np.isfinite(ps) & np.isfinite(st)
    th, ps, st = th[ok], ps[ok], st[ok]
    nan = float("nan")
    if th.size == 0:
        return {"final_dist": nan, "max_dist": nan, "log_dist_slope": nan, "winding": nan}
    dist = np.hypot(th, ps)
    n_tail = max(2, math.ceil(cfg.dirac_tail * th.size - 1e-9))
    if th.size >= 2:
        ld = np.log(np.maximum(dist[-n_tail:], cfg.norm_floor))
        slope = _linfit(st[-n_tail:], ld)[0]
        ang = np.unwrap(np.arctan2(ps, th))
        winding = float((ang[-1] - ang[0]) / (2 * math.pi))
    else:
        slope, winding = nan, 0.0
    return {"final_dist": float(dist[-1]), "max_dist": float(dist.max()),
            "log_dist_slope": float(slope), "winding": winding}


# ------------------------------------------------------------------------------ mode hopping
def mode_hopping(hists: Sequence[Any], min_count: float = 0.0) -> dict[str, float]:
    """Total variation between successive normalised mode histograms.

    Args:
        hists: per-evaluation histograms (counts, or already normalised weights, per mode) in
            evaluation order, all of one length K. ``None`` / non-finite entries, empty
            histograms and those whose total is below ``min_count`` are skipped.
        min_count: fewest samples a histogram needs (default 0: skip only empty ones).
    Returns:
        ``mean`` and ``max`` of TV = ½ Σ|p_t − p_{t−1}| over successive usable histograms
        (NaN with fewer than two), ``n`` the number of TVs and ``min_total`` the smallest total
        of the histograms that entered them (NaN with no TV).
    """
    ps: list[np.ndarray] = []
    totals: list[float] = []
    for h in hists:
        if h is None:
            continue
        a = _f64(h)
        if a.size == 0 or not np.isfinite(a).all():
            continue
        if np.any(a < 0):
            raise ValueError("mode histograms must be non-negative")
        tot = a.sum()
        if tot <= 0 or tot < min_count:
            continue
        if ps and a.size != ps[0].size:
            raise ValueError(f"mode histograms differ in length ({ps[0].size} vs {a.size})")
        ps.append(a / tot)
        totals.append(float(tot))
    tv = np.array([0.5 * np.abs(b - a).sum() for a, b in zip(ps[:-1], ps[1:])])
    if tv.size == 0:
        return {"mean": float("nan"), "max": float("nan"), "n": 0, "min_total": float("nan")}
    return {"mean": float(tv.mean()), "max": float(tv.max()), "n": int(tv.size),
            "min_total": float(min(totals))}


# ------------------------------------------------------------------------------------ losses
def _ar1_shape(phi: float, f: np.ndarray) -> np.ndarray:
    """AR(1) spectrum at frequencies ``f`` (cycles per point) relative to the process variance."""
    return (1.0 - phi * phi) / (1.0 - 2.0 * phi * np.cos(2.0 * np.pi * f) + phi * phi)


def _ar1_phi(r: np.ndarray, cfg: DynamicsConfig) -> float:
    """φ from the lag-1 autocorrelation of ``r`` (bias-corrected if asked), clipped."""
    r = r - r.mean()
    n = r.size
    den = float(np.dot(r, r))
    r1 = float(np.dot(r[:-1], r[1:]) / den) if den > 0 else 0.0
    phi = (n * r1 + 2.0) / (n - 4.0) if cfg.ar1_bias_correction and n > 4 else r1
    return float(np.clip(phi, cfg.ar1_phi_min, cfg.ar1_phi_max))


def _max_exp_p(x: float, m: int) -> float:
    """P(max of m iid Exp(1) >= x) = 1 − (1 − e^(−x))^m."""
    return float(-np.expm1(m * np.log1p(-math.exp(-x))))


def periodicity_test(resid: Any, cfg: DynamicsConfig = DEFAULT) -> dict[str, float]:
    """Test a uniformly spaced, detrended series for a periodic component against red noise.

    The null hypothesis is a stationary AR(1) process; see the module docstring ("Loss
    oscillation") for the statistic, the tested frequencies and the family-wise p-value.

    Args:
        resid: the residual, one value per grid point (no NaN).
        cfg: constants (``period_*``, ``ar1_*``).
    Returns:
        ``p`` (family-wise p-value of the peak ordinate: ≤ ``period_alpha`` iff some ordinate
        is significant), ``phi`` (fitted AR(1) coefficient), ``stat`` (the peak's ratio
        periodogram / fitted AR(1) spectrum), ``m`` (number of ordinates tested) and ``freq``
        (the refined peak frequency in cycles per grid point). NaN (``m`` 0) when fewer than
        two Fourier indices can be tested.
    """
    r = _f64(resid)
    r = r - r.mean()
    n = r.size
    nan = float("nan")
    out = {"p": nan, "phi": nan, "stat": nan, "m": 0, "freq": nan}
    k_lo, k_hi = int(cfg.period_min_index), (n - 1) // 2      # Nyquist (χ²₁) excluded
    if k_hi - k_lo < 1:
        return out
    pad = int(cfg.period_padding)
    step = pad // int(cfg.period_test_padding)
    nfft = n * pad
    power = np.abs(np.fft.rfft(r, nfft)) ** 2 / n        # index j <-> frequency j / nfft
    freqs = np.arange(power.size) / nfft
    fine = np.arange(k_lo * pad, k_hi * pad + 1)          # the band on the fine grid
    # Candidate sinusoid (whitened with φ from the raw residual), removed before fitting φ so
    # that a real oscillation does not inflate φ and hide itself in the red-noise spectrum.
    phi0 = _ar1_phi(r, cfg)
    jc = int(fine[np.argmax(power[fine] / _ar1_shape(phi0, freqs[fine]))])
    t = np.arange(n, dtype=np.float64)
    design = np.column_stack([np.cos(2 * np.pi * freqs[jc] * t), np.sin(2 * np.pi * freqs[jc] * t)])
    coef = np.linalg.lstsq(design, r, rcond=None)[0]
    phi = _ar1_phi(r - design @ coef, cfg)
    out["phi"] = phi
    shape = _ar1_shape(phi, freqs)
    # Scale: mean whitened Fourier ordinate over the band (peak included: conservative).
    fourier = np.arange(k_lo, k_hi + 1) * pad
    level = float(np.mean(power[fourier] / shape[fourier]))
    if not level > 0:
        return out
    ratio = power / (level * shape)
    tested = np.arange(k_lo * pad, k_hi * pad + 1, step)
    m = int(tested.size)
    # The peak: of the ordinates significant at period_alpha (family-wise), the one with the
    # most power (the dominant line, e.g. the fundamental of a non-sinusoidal oscillation
    # rather than a harmonic that whitening favours); the largest ratio when none is.
    crit = -math.log(-math.expm1(math.log1p(-cfg.period_alpha) / m))
    sig = tested[ratio[tested] >= crit]
    jt = int(sig[np.argmax(power[sig])]) if sig.size else int(tested[np.argmax(ratio[tested])])
    stat = float(ratio[jt])
    out.update(stat=stat, m=m, p=_max_exp_p(stat, m))
    # Refine on the fine grid within one test-grid step of the tested peak, then a parabola
    # through the log ordinates around the local maximum. The raw periodogram is used here: a
    # sinusoid's peak sits at its frequency, whereas whitening by a steep red spectrum would
    # pull a low-frequency peak upwards.
    lo, hi = max(1, jt - step), min(power.size - 1, jt + step)
    jr = lo + int(np.argmax(power[lo:hi + 1]))
    shift = 0.0
    if 1 <= jr - 1 and jr + 1 < power.size:
        a, b, c = np.log(power[jr - 1:jr + 2] + 1e-300)
        den = a - 2 * b + c
        if den < 0:
            shift = float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    out["freq"] = (jr + shift) / nfft
    return out


def loss_oscillation(steps: Any, values: Any, burn_in: float | None = None,
                     cfg: DynamicsConfig = DEFAULT) -> dict[str, float]:
    """Amplitude and dominant period of a detrended loss after burn-in.

    Args:
        steps: the step of each logged value (uniform spacing assumed; step-0 rows dropped).
        values: the loss.
        burn_in: fraction of points dropped first (default ``cfg.burn_in``).
        cfg: constants (see the module docstring).
    Returns:
        ``amplitude`` (loss units), ``rel_amplitude`` (amplitude / (|mean| + ε)), ``period``
        (steps; NaN when too few points, no significant peak or fewer than ``min_cycles``
        periods), ``period_p`` (family-wise p-value of the peak against the fitted AR(1)
        null), ``ar1_phi`` (the fitted φ), ``mean`` (after burn-in) and ``n`` (points used).
    """
    burn = cfg.burn_in if burn_in is None else float(burn_in)
    if not 0.0 <= burn < 1.0:
        raise ValueError(f"burn_in must lie in [0, 1), got {burn}")
    s, v = _sorted_series(steps, values)
    s, v = s[int(math.floor(burn * s.size)):], v[int(math.floor(burn * s.size)):]
    ok = np.isfinite(v)
    s, v = s[ok], v[ok]
    nan = float("nan")
    out = {"amplitude": nan, "rel_amplitude": nan, "period": nan, "period_p": nan,
           "ar1_phi": nan, "mean": float(v.mean()) if v.size else nan, "n": int(v.size)}
    if v.size < 3:
        return out
    slope, icpt = _linfit(s, v)
    resid = v - (slope * s + icpt)
    lo, hi = np.quantile(resid, cfg.amplitude_quantiles)
    amp = 0.5 * float(hi - lo)
    out["amplitude"] = amp
    out["rel_amplitude"] = amp / (abs(out["mean"]) + cfg.rel_eps)
    if v.size < cfg.min_points:
        return out
    dt = float(np.median(np.diff(s)))
    if not dt > 0:
        return out
    grid = s[0] + dt * np.arange(int(round((s[-1] - s[0]) / dt)) + 1)
    r = np.interp(grid, s, resid)
    r = r - r.mean()
    n = r.size
    scale = max(float(np.abs(v).max()), 1.0)
    if n < cfg.min_points or float(np.abs(r).max()) <= 1e-12 * scale:
        return out
    test = periodicity_test(r, cfg)
    out["period_p"], out["ar1_phi"] = test["p"], test["phi"]
    if not test["p"] <= cfg.period_alpha or not test["freq"] > 0:
        return out
    period = float(dt / test["freq"])
    if period * cfg.min_cycles <= n * dt:
        out["period"] = period
    return out


# ---------------------------------------------------------------------------- gradient norms
def grad_decay(steps: Any, norms: Any, cfg: DynamicsConfig = DEFAULT) -> dict[str, float]:
    """log10 of the late over the early median gradient norm.

    Args:
        steps: the step of each logged norm (step-0 rows dropped).
        norms: L2 gradient norms.
        cfg: windows and floor.
    Returns:
        ``decay`` (log10 ratio; −3 = a 1000-fold fall), ``early`` and ``late`` (the window
        medians, unfloored). NaN where a window has no finite value or fewer than 2 points.
    """
    _, v = _sorted_series(steps, norms)
    nan = float("nan")
    if v.size < 2:
        return {"decay": nan, "early": nan, "late": nan}
    e_sl, l_sl = window_slices(v.size, cfg)
    early, late = _finite_median(v[e_sl]), _finite_median(v[l_sl])
    if not (np.isfinite(early) and np.isfinite(late)):
        return {"decay": nan, "early": early, "late": late}
    decay = math.log10(max(late, cfg.norm_floor) / max(early, cfg.norm_floor))
    return {"decay": decay, "early": early, "late": late}


# ------------------------------------------------------------------------------- saturation
def d_saturation(d_real: Any, d_fake: Any, probability: bool, steps: Any | None = None,
                 cfg: DynamicsConfig = DEFAULT) -> dict[str, float]:
    """Late-window D outputs on real and fake batches.

    Args:
        d_real: D's mean output on the real batch, per logged step.
        d_fake: the same on the fake batch.
        probability: whether the outputs are probabilities (cross-entropy losses).
        steps: the steps (default: the given order, all > 0).
        cfg: windows.
    Returns:
        ``d_real_late``, ``d_fake_late``, ``d_gap_late`` (real − fake) and ``d_accuracy_late``
        (the soft accuracy (D(real) + 1 − D(fake)) / 2 for probabilities, else NaN).
    """
    r, f = _f64(d_real), _f64(d_fake)
    if r.shape != f.shape:
        raise ValueError("d_real and d_fake differ in length")
    st = np.arange(1, r.size + 1, dtype=np.float64) if steps is None else _f64(steps)
    _, r = _sorted_series(st, r)
    _, f = _sorted_series(st, f)
    nan = float("nan")
    out = {"d_real_late": nan, "d_fake_late": nan, "d_gap_late": nan, "d_accuracy_late": nan}
    if r.size == 0:
        return out
    _, l_sl = window_slices(r.size, cfg)
    rl, fl = r[l_sl], f[l_sl]
    out["d_real_late"] = float(np.mean(rl[np.isfinite(rl)])) if np.isfinite(rl).any() else nan
    out["d_fake_late"] = float(np.mean(fl[np.isfinite(fl)])) if np.isfinite(fl).any() else nan
    out["d_gap_late"] = out["d_real_late"] - out["d_fake_late"]
    if probability:
        out["d_accuracy_late"] = (out["d_real_late"] + 1.0 - out["d_fake_late"]) / 2.0
    return out


# --------------------------------------------------------------------------- one seed, flat
def trial_dynamics(history: pd.DataFrame, probability: bool,
                   cfg: DynamicsConfig = DEFAULT) -> dict[str, Any]:
    """Every dynamics metric of one seed's history, as a flat dict.

    Args:
        history: one seed's history rows (columns ``step``, ``d_loss``, ``g_loss``,
            ``g_grad_norm``, ``d_grad_norm``, ``g_grad_norm.<layer>``, ``d_grad_norm.<layer>``,
            ``d_real``, ``d_fake``; Dirac rows ``theta``, ``psi``; optionally, at evaluation
            rows, ``cell_hist`` (all generated samples per nearest-centre cell) and
            ``mode_hist`` (high-quality samples per mode)). Missing columns give NaN.
        probability: whether D's outputs are probabilities (the loss's ``probability``).
        cfg: windows and constants.
    Returns:
        ``g_grad_decay``, ``d_grad_decay`` (+ ``.<layer>``), ``g_grad_early``, ``g_grad_late``,
        ``d_grad_early``, ``d_grad_late``; ``d_loss_amplitude``, ``d_loss_rel_amplitude``,
        ``d_loss_period``, ``d_loss_period_p``, ``d_loss_ar1_phi`` and the same for ``g_loss``;
        ``d_real_late``, ``d_fake_late``, ``d_gap_late``, ``d_accuracy_late``,
        ``d_output_is_probability`` (1.0 / 0.0); ``dirac_final_dist``, ``dirac_max_dist``,
        ``dirac_log_dist_slope``, ``dirac_winding``; ``mode_hopping_mean``,
        ``mode_hopping_max``, ``mode_hopping_basis`` (the string ``"cells"``, ``"hq_modes"`` or
        ``"none"``) and ``mode_hopping_min_samples`` (smallest histogram total behind the TVs);
        ``n_logged``. Every value is a float except ``mode_hopping_basis``.
    """
    nan = float("nan")
    h = history
    if "step" in h.columns and len(h):
        h = h[pd.to_numeric(h["step"], errors="coerce") > 0].sort_values("step", kind="stable")
    steps = h["step"].to_numpy(dtype=np.float64) if "step" in h.columns else np.arange(1.0, len(h) + 1)
    out: dict[str, float] = {"n_logged": float(len(h))}

    def col(name: str) -> np.ndarray:
        if name in h.columns:
            return pd.to_numeric(h[name], errors="coerce").to_numpy(dtype=np.float64)
        return np.full(len(h), np.nan)

    for net in ("g", "d"):
        gd = grad_decay(steps, col(f"{net}_grad_norm"), cfg)
        out[f"{net}_grad_decay"] = gd["decay"]
        out[f"{net}_grad_early"] = gd["early"]
        out[f"{net}_grad_late"] = gd["late"]
        prefix = f"{net}_grad_norm."
        for c in h.columns:
            if isinstance(c, str) and c.startswith(prefix):
                out[f"{net}_grad_decay.{c[len(prefix):]}"] = grad_decay(steps, col(c), cfg)["decay"]
    for loss in ("d_loss", "g_loss"):
        osc = loss_oscillation(steps, col(loss), cfg.burn_in, cfg)
        out[f"{loss}_amplitude"] = osc["amplitude"]
        out[f"{loss}_rel_amplitude"] = osc["rel_amplitude"]
        out[f"{loss}_period"] = osc["period"]
        out[f"{loss}_period_p"] = osc["period_p"]
        out[f"{loss}_ar1_phi"] = osc["ar1_phi"]
    out.update(d_saturation(col("d_real"), col("d_fake"), probability, steps, cfg))
    out["d_output_is_probability"] = 1.0 if probability else 0.0
    if "theta" in h.columns and "psi" in h.columns and np.isfinite(col("theta")).any():
        dm = dirac_metrics(col("theta"), col("psi"), steps, cfg)
    else:
        dm = {"final_dist": nan, "max_dist": nan, "log_dist_slope": nan, "winding": nan}
    out["dirac_final_dist"] = dm["final_dist"]
    out["dirac_max_dist"] = dm["max_dist"]
    out["dirac_log_dist_slope"] = dm["log_dist_slope"]
    out["dirac_winding"] = dm["winding"]
    mh, basis = {"mean": nan, "max": nan, "n": 0, "min_total": nan}, "none"
    for name, label in (("cell_hist", "cells"), ("mode_hist", "hq_modes")):
        if name in h.columns:
            got = mode_hopping([x for x in h[name].tolist() if _is_hist(x)], cfg.hop_min_count)
            if got["n"] > 0:
                mh, basis = got, label
                break
    out["mode_hopping_mean"] = mh["mean"]
    out["mode_hopping_max"] = mh["max"]
    out["mode_hopping_basis"] = basis
    out["mode_hopping_min_samples"] = mh["min_total"]
    return out


def _is_hist(x: Any) -> bool:
    if x is None:
        return False
    if isinstance(x, float) and math.isnan(x):
        return False
    return np.ndim(x) == 1 and len(x) > 0


def frame_dynamics(history: pd.DataFrame, probability: Mapping[str, bool] | bool,
                   cfg: DynamicsConfig = DEFAULT,
                   keys: Sequence[str] = ("dataset", "combo", "seed")) -> pd.DataFrame:
    """:func:`trial_dynamics` for every ``keys`` group of a history frame.

    Args:
        history: the run's history (``history.parquet``).
        probability: per combo name (or one bool for all) whether D's outputs are probabilities.
        cfg: windows and constants.
        keys: the grouping columns (those present are used).
    Returns:
        One row per group: the keys, then the dynamics columns.
    """
    keys = [k for k in keys if k in history.columns]
    rows = []
    if not len(history):
        return pd.DataFrame(columns=keys)
    for key, sub in history.groupby(keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        rec = dict(zip(keys, key))
        prob = probability if isinstance(probability, bool) else bool(probability[rec["combo"]])
        rec.update(trial_dynamics(sub, prob, cfg))
        rows.append(rec)
    return pd.DataFrame(rows)
