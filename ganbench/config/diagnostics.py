"""Diagnostics settings: the thresholds of the verdict rules and the windows and test levels
of the dynamics measures, with their defaults and the reasons for them.

These are configuration: a suite's ``diagnostics:`` block overrides them (validated when the
suite loads), the manifest records the values in force, and the results stage
(:mod:`ganbench.results.dynamics`, :mod:`ganbench.results.diagnose`) applies them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

__all__ = ["THRESHOLDS", "DynamicsConfig", "DiagnoseConfig", "diagnostics_config", "describe_rules",
           "reject_unknown_keys", "COLLAPSE_MIN_CELLS", "COLLAPSE_CELL_FRACTION",
           "PARTIAL_MISS_FRACTION", "HQ_MIN", "HOP_MAX", "LOSS_REL_AMPLITUDE_MAX", "DIRAC_DIST_MAX",
           "DIRAC_SLOPE_MIN", "GRAD_DECAY_MAX", "D_FAKE_SATURATED"]


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
        period_padding: zero-padding factor of the FFT used to refine the period (and to
            locate the candidate sinusoid removed before fitting φ); a multiple of
            ``period_test_padding``.
        period_test_padding: oversampling of the frequency grid on which the red-noise test
            takes its maximum (2: Fourier and half-bin frequencies).
        period_min_index: lowest Fourier index k (frequency k/n) tested; lower ones are
            excluded (k = 0 is the mean, k = 1 is largely absorbed by the detrending line).
        period_alpha: family-wise significance level of the red-noise (AR(1)) periodicity test;
            a peak with a larger p-value is no period.
        ar1_phi_min: lower clip of the fitted AR(1) coefficient φ (at 0, a negatively
            autocorrelated, "blue" series would be tested against white noise and show
            spurious high-frequency periods).
        ar1_phi_max: upper clip of the fitted AR(1) coefficient φ.
        ar1_bias_correction: whether the lag-1 autocorrelation is corrected for its
            small-sample bias before use as φ.
        min_cycles: fewest whole periods the analysed span must hold for a period to count.
        hop_min_count: fewest samples a per-evaluation histogram (all samples per cell, or
            high-quality samples per mode) needs to enter a seed's mode-hopping summary.
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
    period_test_padding: int = 2
    period_min_index: int = 2
    period_alpha: float = 0.05
    ar1_phi_min: float = -0.99
    ar1_phi_max: float = 0.99
    ar1_bias_correction: bool = True
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
        if self.period_test_padding < 1 or self.period_padding % self.period_test_padding:
            raise ValueError("period_test_padding must be >= 1 and divide period_padding, got "
                             f"{self.period_test_padding} and {self.period_padding}")
        if self.period_min_index < 1:
            raise ValueError(f"period_min_index must be >= 1, got {self.period_min_index}")
        if not -1.0 < self.ar1_phi_min <= self.ar1_phi_max < 1.0:
            raise ValueError("ar1_phi_min and ar1_phi_max must satisfy -1 < min <= max < 1, got "
                             f"{(self.ar1_phi_min, self.ar1_phi_max)}")

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



#: Each verdict threshold: its default and the reason for that value. :class:`DiagnoseConfig`
#: takes its defaults from here and the report's Methods section renders the reasons.
THRESHOLDS: dict[str, tuple[float, str]] = {
    "collapse_min_cells": (2, "collapse is \"the mass sits in one or two cells\", so at least 2 "
                              "cells always count"),
    "collapse_cell_fraction": (0.25, "mass in at most a quarter of the K cells counts as collapse "
                                     "(2 of the ring's 8, 6 of the grid's 25); a diffuse generator "
                                     "occupies at least ~75% of the cells and a successful one all "
                                     "of them, so the quarter leaves a wide margin on both sides"),
    "partial_miss_fraction": (0.25, "partial collapse: a sharp generator (HQ share >= hq_min) that "
                                    "misses at least this share of the modes (ring: covers <= 6 "
                                    "of 8; grid: <= 18 of 25). A sharp generator spreading 2,500 "
                                    "samples over all K modes misses none by chance, so every "
                                    "missing mode is the generator's. On images the same share "
                                    "is taken of the modes the real data reaches at the same "
                                    "sample count, and of its effective mode count K·exp(-KL)"),
    "hq_min": (0.5, "\"mostly high quality\": at least half the samples within 3 std of a "
                    "centre; diffuse runs sit near 0% and converged runs above 80%"),
    "hop_max": (0.3, "mean total variation between successive cell histograms above which the "
                     "generator hops between modes; multinomial noise alone gives TV ~ 0.03 "
                     "(2,500 samples, 8 cells); 0.3 means on average 30% of the mass moved cell "
                     "between evaluations"),
    "loss_rel_amplitude_max": (0.5, "D-loss oscillation (half the 5-95% range of the detrended "
                                    "loss) relative to its mean above which D repeatedly swings "
                                    "between winning and losing; called oscillation only with a "
                                    "dominant period significant against a red-noise (AR(1)) null"),
    "dirac_dist_max": (0.1, "Dirac-GAN final distance to the equilibrium above which it is not "
                            "reached: runs start at sqrt(2); instance noise settles at a noise "
                            "floor of 0.03-0.07, R1 below 1e-5, unregularised and WGAN-clip runs "
                            "stay at 0.15-3.1 after 500 steps"),
    "dirac_slope_min": (5e-3, "Dirac-GAN: the log-distance must fall faster than this per step "
                              "(last half) to count as still converging; R1 shrinks at "
                              "0.025-0.14 per step, unregularised and WGAN runs change by at "
                              "most 1.3e-3 per step"),
    "grad_decay_max": (-3.0, "G's gradient norm fell at least 1000-fold (log10 late/early "
                             "median); minimax on a saturated D falls ~4 orders, ordinary "
                             "training drifts by less than one"),
    "d_fake_saturated": (0.05, "D(fake) late mean below which D is saturated (cross-entropy "
                               "losses): D is more than 95% sure every fake is fake; an "
                               "undecided D sits at 0.5"),
}
COLLAPSE_MIN_CELLS = int(THRESHOLDS["collapse_min_cells"][0])
COLLAPSE_CELL_FRACTION = THRESHOLDS["collapse_cell_fraction"][0]
PARTIAL_MISS_FRACTION = THRESHOLDS["partial_miss_fraction"][0]
HQ_MIN = THRESHOLDS["hq_min"][0]
HOP_MAX = THRESHOLDS["hop_max"][0]
LOSS_REL_AMPLITUDE_MAX = THRESHOLDS["loss_rel_amplitude_max"][0]
DIRAC_DIST_MAX = THRESHOLDS["dirac_dist_max"][0]
DIRAC_SLOPE_MIN = THRESHOLDS["dirac_slope_min"][0]
GRAD_DECAY_MAX = THRESHOLDS["grad_decay_max"][0]
D_FAKE_SATURATED = THRESHOLDS["d_fake_saturated"][0]


@dataclass(frozen=True)
class DiagnoseConfig:
    """Verdict thresholds (defaults: the module constants; see their comments)."""

    collapse_min_cells: int = COLLAPSE_MIN_CELLS
    collapse_cell_fraction: float = COLLAPSE_CELL_FRACTION
    partial_miss_fraction: float = PARTIAL_MISS_FRACTION
    hq_min: float = HQ_MIN
    hop_max: float = HOP_MAX
    loss_rel_amplitude_max: float = LOSS_REL_AMPLITUDE_MAX
    dirac_dist_max: float = DIRAC_DIST_MAX
    dirac_slope_min: float = DIRAC_SLOPE_MIN
    grad_decay_max: float = GRAD_DECAY_MAX
    d_fake_saturated: float = D_FAKE_SATURATED

    def __post_init__(self) -> None:
        if self.collapse_min_cells < 0 or not 0.0 <= self.collapse_cell_fraction <= 1.0:
            raise ValueError("collapse_min_cells must be >= 0 and collapse_cell_fraction in [0, 1]")
        if not 0.0 < self.partial_miss_fraction < 1.0:
            raise ValueError("partial_miss_fraction must lie in (0, 1)")
        if not 0.0 <= self.hq_min <= 1.0 or not 0.0 <= self.hop_max <= 1.0:
            raise ValueError("hq_min and hop_max must lie in [0, 1]")
        if self.dirac_dist_max < 0 or self.dirac_slope_min < 0 or self.loss_rel_amplitude_max < 0:
            raise ValueError("dirac_dist_max, dirac_slope_min and loss_rel_amplitude_max must be >= 0")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "DiagnoseConfig":
        """Defaults overridden by ``d``; raises ValueError naming unknown keys."""
        d = dict(d or {})
        reject_unknown_keys(cls, d)
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def diagnostics_config(d: Mapping[str, Any] | None) -> tuple[DynamicsConfig, DiagnoseConfig]:
    """Split one flat ``diagnostics:`` block into the dynamics and the verdict settings.

    Each key goes to whichever of :class:`DynamicsConfig` / :class:`DiagnoseConfig` has it.

    Raises:
        ValueError: naming every key that neither knows.
    """
    d = dict(d or {})
    dyn_names = {f.name for f in fields(DynamicsConfig)}
    diag_names = {f.name for f in fields(DiagnoseConfig)}
    unknown = sorted(set(d) - dyn_names - diag_names)
    if unknown:
        raise ValueError(f"unknown diagnostics key(s): {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(dyn_names | diag_names))})")
    return (DynamicsConfig.from_dict({k: v for k, v in d.items() if k in dyn_names}),
            DiagnoseConfig.from_dict({k: v for k, v in d.items() if k in diag_names}))


def describe_rules(cfg: DiagnoseConfig | None = None) -> dict[str, str]:
    """One sentence per verdict with the thresholds in force (for the Methods section)."""
    c = cfg or DiagnoseConfig()
    cap = (f"max({c.collapse_min_cells}, floor({c.collapse_cell_fraction}·K))")
    return {
        "diverged": "status diverged (a loss or parameter became non-finite); nothing else is judged",
        "mode_collapse": f"toy: cells_occupied <= {cap}, or hq_fraction >= {c.hq_min} and "
                         f"modes_covered <= {cap}, or (partial collapse) hq_fraction >= {c.hq_min} "
                         f"and modes_covered <= floor({1 - c.partial_miss_fraction:g}·K); images "
                         f"with a mode classifier: modes_covered <= floor("
                         f"{1 - c.partial_miss_fraction:g}·real modes at the same sample count) or "
                         f"reverse_kl >= real KL + log(1/{1 - c.partial_miss_fraction:g}); "
                         f"not judged without a mode metric (FID only) or on the Dirac-GAN",
        "non_convergence": f"Dirac: final distance > {c.dirac_dist_max} and log-distance slope > "
                           f"-{c.dirac_slope_min}/step; toy: not collapsed but hq_fraction < "
                           f"{c.hq_min} (diffuse), or mode hopping mean TV > {c.hop_max}, or "
                           f"(cross-entropy losses) D-loss relative amplitude > "
                           f"{c.loss_rel_amplitude_max} with a dominant period significant "
                           f"against an AR(1) red-noise null",
        "vanishing_gradients": f"g_grad_decay <= {c.grad_decay_max} with D(fake) late < "
                               f"{c.d_fake_saturated} (cross-entropy losses), or with G still away "
                               f"from the data (critic losses; not judged without a data-distance "
                               f"metric)",
        "healthy": "none of the above",
    }
