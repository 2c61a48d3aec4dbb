"""Training dynamics (DESIGN.md §4, "Gradient norms", "Oscillation"), as pure functions.

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
equilibrium), not for Wasserstein critics whose loss hovers around 0. The *dominant period* (in
steps) is read from the periodogram of the residual, linearly interpolated onto a uniform grid
with the median step spacing: the largest ordinate at a non-zero frequency of the zero-padded
(``period_padding`` [8]×) FFT, refined by a parabola through its neighbours. It is NaN with
fewer than ``min_points`` [8] points, with a constant residual, or when the peak is not
significant by Fisher's g test (g = largest / sum of the unpadded ordinates, p ≈ m(1 − g)^(m−1)
for m ordinates; NaN when p > ``period_alpha`` [0.05]), i.e. when the residual looks like noise,
or when fewer than ``min_cycles`` [2] periods fit in the analysed span (a slow drift that the
line did not remove is not an oscillation).

**Dirac-GAN.** With distance to equilibrium d_t = √(θ_t² + ψ_t²): the final distance, the
maximum distance, the slope of ln(max(d_t, ``norm_floor``)) against the step over the last
``dirac_tail`` [50 %] of points by least squares (per step; > 0 spirals out, ≈ 0 orbits,
< 0 converges: d shrinks by e^(slope) per step), and the *winding*: the total signed angle
turned around (0, 0) in the (θ, ψ) plane, from the unwrapped ``atan2(ψ, θ)``, in revolutions
(counter-clockwise positive). Unwrapping assumes successive points turn by less than half a
revolution, which holds for small step sizes (h = 0.2).

**Mode hopping.** Per evaluation, the histogram of high-quality samples per mode is normalised
to a distribution p_t. Hopping between successive evaluations is the total variation
TV = ½ Σ_k |p_t,k − p_{t−1},k| ∈ [0, 1] (0: same mass per mode; 1: the mass moved entirely to
other modes). Histograms with too few samples are skipped and the next usable one is compared
with the last usable one: :func:`mode_hopping` skips only empty ones, while the per-seed
summary skips histograms of fewer than ``hop_min_count`` [100] high-quality samples, because
the TV of tiny histograms is noise (one stray sample hopping gives TV = 1; multinomial noise
alone gives TV ≈ 0.15 for 100 samples and ≈ 0.03 for 2500 samples spread over 8 modes).
``mode_hopping_mean`` and ``mode_hopping_max`` summarise the TVs of one seed; NaN with fewer
than two usable histograms.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "DynamicsConfig",
    "window_slices",
    "dirac_metrics",
    "mode_hopping",
    "loss_oscillation",
    "grad_decay",
    "d_saturation",
    "trial_dynamics",
    "frame_dynamics",
]


def reject_unknown_keys(cls: type, d: Mapping[str, Any]) -> None:
    """Raise ValueError naming every key of ``d`` that is not a field of dataclass ``cls``."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} key(s): {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(names))})")


@dataclass(frozen=True)
class DynamicsConfig:
    """Windows and constants of the dynamics metrics (see the module docstring).

    Attributes:
        burn_in: fraction of logged points dropped before the loss-oscillation analysis.
        early_window: fraction of logged points (from the start) forming the early window.
        late_window: fraction of logged points (at the end) forming the late window.
        dirac_tail: fraction of points (at the end) over which the Dirac log-distance slope is fitted.
        norm_floor: floor applied to gradient norms and Dirac distances before taking logs.
        min_points: fewest residual points for which a dominant period is reported.
        amplitude_quantiles: lower and upper percentiles (as fractions) of the residual whose
            half-range is the oscillation amplitude.
        rel_eps: ε in amplitude / (|mean| + ε).
        period_padding: zero-padding factor of the FFT used to locate the periodogram peak.
        period_alpha: largest Fisher-g p-value at which a periodogram peak counts as a period.
        min_cycles: fewest whole periods the analysed span must hold for a period to count.
        hop_min_count: fewest (high-quality) samples a per-evaluation mode histogram needs to
            enter a seed's mode-hopping summary.
    """

    burn_in: float = 0.25
    early_window: float = 0.10
    late_window: float = 0.25
    dirac_tail: float = 0.5
    norm_floor: float = 1e-30
    min_points: int = 8
    amplitude_quantiles: tuple[float, float] = (0.05, 0.95)
    rel_eps: float = 1e-8
    period_padding: int = 8
    period_alpha: float = 0.05
    min_cycles: float = 2.0
    hop_min_count: float = 100.0

    def __post_init__(self) -> None:
        for name in ("burn_in",):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{name} must lie in [0, 1), got {v}")
        for name in ("early_window", "late_window", "dirac_tail"):
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise ValueError(f"{name} must lie in (0, 1], got {v}")
        lo, hi = self.amplitude_quantiles
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"amplitude_quantiles must satisfy 0 <= lo < hi <= 1, got {(lo, hi)}")
        if self.norm_floor <= 0 or self.rel_eps < 0:
            raise ValueError("norm_floor must be > 0 and rel_eps >= 0")
        if self.min_points < 3 or self.period_padding < 1:
            raise ValueError("min_points must be >= 3 and period_padding >= 1")
        if self.min_cycles < 0:
            raise ValueError(f"min_cycles must be >= 0, got {self.min_cycles}")
        if self.hop_min_count < 0:
            raise ValueError(f"hop_min_count must be >= 0, got {self.hop_min_count}")
        if not 0.0 < self.period_alpha <= 1.0:
            raise ValueError(f"period_alpha must lie in (0, 1], got {self.period_alpha}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "DynamicsConfig":
        """Defaults overridden by ``d`` (e.g. a suite's ``diagnostics:`` block).

        Raises:
            ValueError: naming every key that is not a field of this class, or an invalid value.
        """
        d = dict(d or {})
        reject_unknown_keys(cls, d)
        if "amplitude_quantiles" in d:
            d["amplitude_quantiles"] = tuple(float(q) for q in d["amplitude_quantiles"])
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data (for the manifest / Methods section)."""
        out = asdict(self)
        out["amplitude_quantiles"] = list(self.amplitude_quantiles)
        return out


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
        (NaN with fewer than two) and ``n`` the number of TVs.
    """
    ps: list[np.ndarray] = []
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
    tv = np.array([0.5 * np.abs(b - a).sum() for a, b in zip(ps[:-1], ps[1:])])
    if tv.size == 0:
        return {"mean": float("nan"), "max": float("nan"), "n": 0}
    return {"mean": float(tv.mean()), "max": float(tv.max()), "n": int(tv.size)}


# ------------------------------------------------------------------------------------ losses
def _fisher_p(g: float, m: int) -> float:
    """First-term approximation of Fisher's g-test p-value, clipped to [0, 1]."""
    if m <= 1:
        return 1.0
    return float(min(1.0, m * (1.0 - g) ** (m - 1)))


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
        (steps; NaN when too few points or no significant peak), ``period_p`` (Fisher's g-test
        p-value of the peak), ``mean`` (after burn-in) and ``n`` (points used).
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
           "mean": float(v.mean()) if v.size else nan, "n": int(v.size)}
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
    power = np.abs(np.fft.rfft(r)) ** 2
    ords = power[1:(n - 1) // 2 + 1]     # non-zero frequencies below Nyquist
    if ords.size < 2 or ords.sum() <= 0:
        return out
    g = float(ords.max() / ords.sum())
    p = _fisher_p(g, ords.size)
    out["period_p"] = p
    if p > cfg.period_alpha:
        return out
    nfft = n * cfg.period_padding
    pp = np.abs(np.fft.rfft(r, nfft)) ** 2
    k = int(np.argmax(pp[1:])) + 1
    shift = 0.0
    if 1 <= k - 1 and k + 1 < pp.size:
        a, b, c = np.log(pp[k - 1:k + 2] + 1e-300)
        den = a - 2 * b + c
        if den < 0:
            shift = float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))
    freq = (k + shift) / nfft           # cycles per grid point
    period = float(dt / freq) if freq > 0 else nan
    if np.isfinite(period) and period * cfg.min_cycles <= n * dt:
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
                   cfg: DynamicsConfig = DEFAULT) -> dict[str, float]:
    """Every dynamics metric of one seed's history, as a flat dict.

    Args:
        history: one seed's history rows (columns ``step``, ``d_loss``, ``g_loss``,
            ``g_grad_norm``, ``d_grad_norm``, ``g_grad_norm.<layer>``, ``d_grad_norm.<layer>``,
            ``d_real``, ``d_fake``; Dirac rows ``theta``, ``psi``; optionally ``mode_hist``, the
            high-quality sample counts per mode at evaluation rows). Missing columns give NaN.
        probability: whether D's outputs are probabilities (the loss's ``probability``).
        cfg: windows and constants.
    Returns:
        ``g_grad_decay``, ``d_grad_decay`` (+ ``.<layer>``), ``g_grad_early``, ``g_grad_late``,
        ``d_grad_early``, ``d_grad_late``; ``d_loss_amplitude``, ``d_loss_rel_amplitude``,
        ``d_loss_period`` and the same for ``g_loss``; ``d_real_late``, ``d_fake_late``,
        ``d_gap_late``, ``d_accuracy_late``, ``d_output_is_probability`` (1.0 / 0.0);
        ``dirac_final_dist``, ``dirac_max_dist``, ``dirac_log_dist_slope``, ``dirac_winding``;
        ``mode_hopping_mean``, ``mode_hopping_max``; ``n_logged``.
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
    if "mode_hist" in h.columns:
        hists = [x for x in h["mode_hist"].tolist() if _is_hist(x)]
        mh = mode_hopping(hists, cfg.hop_min_count)
    else:
        mh = {"mean": nan, "max": nan}
    out["mode_hopping_mean"] = mh["mean"]
    out["mode_hopping_max"] = mh["max"]
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
