"""The metric catalog: every metric of a run declared once.

Each :class:`MetricSpec` gives a metric's column name, its label (plain text and LaTeX), its
unit, which direction is better, the dataset kinds it applies to, whether it is summarised over
seeds and compared with the baseline, and a one-line definition. Evaluation, the results stage,
the exports, the report and the CLI read their lists from here (:func:`labels`,
:func:`higher_is_better`, :data:`COMPARED`, :data:`DISPLAYED`, :data:`MAIN_BY_KIND`).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MetricSpec", "CATALOG", "COMPARED", "DISPLAYED", "MAIN_BY_KIND", "TERMINAL", "labels",
           "tex_labels", "higher_is_better", "spec"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric. ``better`` is ``"higher"``, ``"lower"`` or ``""`` (no direction: a
    reference level or a description); ``kinds`` lists the dataset kinds (``toy2d``,
    ``image``, ``dirac``) whose trial rows carry it (empty: any). ``short`` is the column
    header of narrow tables (the terminal summary), at most 6 characters; empty: the name.
    A short label ending in ``%`` marks a share shown in percent."""

    name: str
    label: str
    definition: str
    unit: str = ""
    better: str = ""
    kinds: tuple[str, ...] = ()
    summarised: bool = True
    compared: bool = False
    displayed: bool = False
    tex: str = ""
    short: str = ""

    @property
    def tex_label(self) -> str:
        return self.tex or self.label

    @property
    def short_label(self) -> str:
        """The header of narrow tables: ``short``, else the name."""
        return self.short or self.name


_T, _I, _D = ("toy2d",), ("image",), ("dirac",)

CATALOG: tuple[MetricSpec, ...] = (
    MetricSpec("modes_covered", "Modes covered",
               "modes with at least min_count high-quality samples (toy); digit classes or triples "
               "with at least one sample (digits: 10, stacked_digits: 1000)",
               "modes", "higher", _T + _I, compared=True, displayed=True, short="modes"),
    MetricSpec("modes_total", "Modes total", "number of modes K of the dataset", "modes",
               kinds=_T + _I, summarised=False),
    MetricSpec("real_modes_covered", "Real data: modes",
               "modes the real data reaches, classified the same way at the same sample count "
               "(the calibration of the image collapse rule)", "modes", kinds=_I, displayed=True),
    MetricSpec("real_reverse_kl", "Real data: reverse KL",
               "KL(p_real ‖ uniform) of the real data's mode histogram at the same sample count",
               "nats", kinds=_I, displayed=True),
    MetricSpec("chance_coverage", "Chance coverage",
               "modes a uniform spread of the same samples would cover by chance (toy)", "modes",
               kinds=_T, displayed=True),
    MetricSpec("cells_occupied", "Cells occupied",
               "nearest-mode cells holding at least 1/(4K) of all samples, no quality filter (toy)",
               "cells", "higher", _T, compared=True, displayed=True, short="cells"),
    MetricSpec("cell_entropy", "Cell entropy",
               "entropy of the nearest-mode histogram of all samples (toy)", "nats", "higher", _T),
    MetricSpec("hq_fraction", "HQ fraction",
               "share of samples within hq_std·std of their nearest mode (toy)", "share", "higher",
               _T, compared=True, displayed=True, short="HQ%"),
    MetricSpec("reverse_kl", "Reverse KL",
               "KL(p_gen ‖ uniform) of the high-quality mode histogram (toy; images: of the "
               "classifier's mode histogram)", "nats", "lower", _T + _I, compared=True,
               displayed=True, short="rKL"),
    MetricSpec("frechet_distance", "Fréchet distance",
               "Fréchet distance of Gaussians fitted to real and generated samples (toy, via "
               "torch-fidelity)", "", "lower", _T, compared=True, displayed=True,
               tex=r"Fr\'echet distance", short="FD"),
    MetricSpec("fid", "FID", "FID via torch-fidelity (extractor named in the protocol)", "",
               "lower", _I, compared=True, displayed=True, short="FID"),
    MetricSpec("kid_mean", "KID", "KID mean over subsets via torch-fidelity", "", "lower", _I,
               compared=True, displayed=True, short="KID"),
    MetricSpec("kid_std", "KID std", "KID standard deviation over subsets via torch-fidelity",
               "", "", _I),
    MetricSpec("precision", "Precision", "improved precision (Kynkäänniemi et al. 2019)", "share",
               "higher", _I, compared=True, displayed=True, short="prec%"),
    MetricSpec("recall", "Recall", "improved recall (Kynkäänniemi et al. 2019)", "share",
               "higher", _I, compared=True, displayed=True, short="rec%"),
    MetricSpec("dist_final", "Distance to equilibrium",
               "Dirac-GAN distance to equilibrium sqrt(θ² + ψ²) at the end", "", "lower", _D,
               compared=True, displayed=True, short="dist"),
    MetricSpec("theta_final", "θ (final)", "Dirac-GAN generator parameter at the end", "",
               kinds=_D, displayed=True, tex=r"$\theta$ (final)"),
    MetricSpec("psi_final", "ψ (final)", "Dirac-GAN discriminator parameter at the end", "",
               kinds=_D, displayed=True, tex=r"$\psi$ (final)"),
    MetricSpec("g_grad_norm_final", "G grad norm (final)", "L2 norm of ∂L_G/∂θ_G at the last probe"),
    MetricSpec("d_grad_norm_final", "D grad norm (final)", "L2 norm of ∂L_D/∂θ_D at the last probe"),
    MetricSpec("d_real_final", "D(real) (final)", "D's mean output on real samples at the last probe"),
    MetricSpec("d_fake_final", "D(fake) (final)", "D's mean output on generated samples at the last probe"),
    MetricSpec("d_loss_final", "D loss (final)", "D's loss at the last probe"),
    MetricSpec("g_loss_final", "G loss (final)", "G's loss at the last probe"),
    MetricSpec("diverged_step", "Diverged at step", "first step with a non-finite value", "steps"),
    MetricSpec("wall_s", "Wall time (s)", "wall-clock time of the trial", "s"),
    MetricSpec("steps", "Steps", "training steps run", "steps"),
)

_BY_NAME = {m.name: m for m in CATALOG}

#: Metrics compared with the baseline (comparisons.csv and the report), in order.
COMPARED: tuple[str, ...] = tuple(m.name for m in CATALOG if m.compared)
#: Metrics of the summary table in the report, in order.
DISPLAYED: tuple[str, ...] = tuple(m.name for m in CATALOG if m.displayed)
#: The headline metric of each dataset kind (the first with a finite value is used).
MAIN_BY_KIND: dict[str, tuple[str, ...]] = {
    "toy2d": ("modes_covered", "hq_fraction", "frechet_distance"),
    "dirac": ("dist_final", "dirac_final_dist"),
    "image": ("modes_covered", "fid", "kid_mean", "frechet_distance"),
}
#: Metrics of the terminal summary after a run, in order (those with a finite mean are shown).
TERMINAL: tuple[str, ...] = ("modes_covered", "hq_fraction", "frechet_distance", "fid", "dist_final")
# History columns and dynamics columns that have a label but are not per-seed results.
_EXTRA_LABELS = {
    "d_loss": "D loss", "g_loss": "G loss", "g_grad_norm": "G gradient norm",
    "d_grad_norm": "D gradient norm", "d_real": "D(real)", "d_fake": "D(fake)", "theta": "θ",
    "psi": "ψ", "dist": "Distance to equilibrium √(θ²+ψ²)",
}


def spec(name: str) -> MetricSpec | None:
    """The catalog entry of ``name`` (None if it is not a cataloged metric)."""
    return _BY_NAME.get(name)


def labels() -> dict[str, str]:
    """Column name → plain-text label, for every cataloged metric and history column."""
    return {**{m.name: m.label for m in CATALOG}, **_EXTRA_LABELS}


def tex_labels() -> dict[str, str]:
    """Column name → LaTeX label where it differs from the plain label."""
    return {m.name: m.tex for m in CATALOG if m.tex}


def higher_is_better() -> dict[str, bool]:
    """Metric → True (higher is better) / False (lower is better), for directed metrics."""
    out = {m.name: m.better == "higher" for m in CATALOG if m.better}
    out["dirac_final_dist"] = False
    return out
