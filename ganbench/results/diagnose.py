"""Verdicts per trial × seed (docs/architecture.md §4).

Each trial × seed gets one or more of ``mode_collapse``, ``non_convergence``,
``vanishing_gradients``, or ``diverged`` (alone), or else ``healthy``; ``failed``, ``missing`` and ``interrupted``
trials get no verdict. Every verdict carries the numbers that triggered it (:class:`Evidence`:
metric, value, threshold, comparison). The rules, with the defaults of :class:`DiagnoseConfig`
(each a module constant below, with the reason for its value):

* **diverged** — ``status == "diverged"`` (a loss or parameter went non-finite). Nothing else
  is judged: the metrics of a dead run are undefined.
* **mode_collapse** — *toy datasets with K modes*: the mass sits in few nearest-centre cells:
  ``cells_occupied ≤ cap`` with ``cap = max(collapse_min_cells, floor(collapse_cell_fraction·K))``
  (ring K=8: 2; grid K=25: 6), whether or not the blob lies on a mode; *or* most samples are
  high quality but they sit on few modes: ``hq_fraction ≥ hq_min`` and ``modes_covered ≤ cap``;
  *or* (rule ``partial_coverage``) a sharp generator misses a large share of the modes:
  ``hq_fraction ≥ hq_min`` and ``modes_covered ≤ floor((1 − partial_miss_fraction)·K)`` (ring 6
  of 8, grid 18 of 25). A diffuse generator (mass spread over the cells, rarely high quality) is
  *not* collapsed, however many modes it "covers" by chance. *Images with a mode classifier*
  (rule ``image_modes``): calibrated on the real data evaluated the same way at the same sample
  count (``real_modes_covered``, ``real_reverse_kl``): ``modes_covered ≤ floor((1 −
  partial_miss_fraction)·real_modes_covered)`` or ``reverse_kl ≥ real_reverse_kl −
  log(1 − partial_miss_fraction)`` (the effective mode count K·exp(−KL) at most 3/4 of the
  real data's). Without a mode metric (FID only) collapse is *not judged*.
* **non_convergence** —
  *Dirac-GAN* (ground truth): ``dirac_final_dist > DIRAC_DIST_MAX`` and the distance is not
  shrinking, ``dirac_log_dist_slope > −DIRAC_SLOPE_MIN`` (per step, over the last half).
  *Toy datasets*, any of: diffuse — not collapsed (``cells_occupied > cap``) but
  ``hq_fraction < HQ_MIN``; mode hopping — ``mode_hopping_mean > HOP_MAX``; loss oscillation —
  for the cross-entropy losses, ``d_loss_rel_amplitude > LOSS_REL_AMPLITUDE_MAX`` *and* a
  dominant period was found (``d_loss_period`` finite: a periodogram peak significant against an
  AR(1) red-noise null, :mod:`ganbench.results.dynamics`), so that autocorrelated minibatch noise
  is not called oscillation (the relative amplitude is not used for
  critic losses, whose mean hovers around 0).
* **vanishing_gradients** — G's gradient collapsed, ``g_grad_decay ≤ GRAD_DECAY_MAX`` (log10
  late/early median), *together with* a saturated D: for the cross-entropy losses
  ``d_fake_late < D_FAKE_SATURATED``. A critic (Wasserstein, hinge, least squares) has no
  saturation level, so for those the fall must instead come while the generator is still away
  from the data (toy ``hq_fraction < HQ_MIN``; Dirac ``dirac_final_dist > DIRAC_DIST_MAX``): a
  gradient that shrinks because G reached the equilibrium (R1 on the Dirac-GAN falls by 5–17
  orders of magnitude with D(fake) = ½) is convergence, not a vanishing gradient.
* **healthy** — none of the above applies; its evidence lists the checks that passed and,
  marked "not judged", those whose data was missing (never counted as passed).

Every rule reports an outcome (:class:`RuleOutcome`: ``fired``, ``passed`` or ``not_judged``);
:func:`verdict_table` writes them as a long table. The thresholds and the reasons for their
values are data (:data:`ganbench.config.diagnostics.THRESHOLDS`), overridable from the suite's
``diagnostics:`` block.

:func:`diagnose_frame` adds the dynamics columns (:mod:`ganbench.results.dynamics`), a
``verdicts`` column (``;``-separated names, e.g. ``"mode_collapse;vanishing_gradients"``) and an
``evidence`` column (``"verdict: metric=value op threshold (why); … | verdict: …"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ganbench.components.objectives import LOSSES
from ganbench.results.dynamics import frame_dynamics
from ganbench.config.diagnostics import (  # noqa: F401 (re-exported: the settings the rules apply)
    COLLAPSE_CELL_FRACTION,
    COLLAPSE_MIN_CELLS,
    D_FAKE_SATURATED,
    DIRAC_DIST_MAX,
    DIRAC_SLOPE_MIN,
    GRAD_DECAY_MAX,
    HOP_MAX,
    HQ_MIN,
    LOSS_REL_AMPLITUDE_MAX,
    PARTIAL_MISS_FRACTION,
    THRESHOLDS,
    DiagnoseConfig,
    DynamicsConfig,
    describe_rules,
    diagnostics_config,
)

__all__ = [
    "COLLAPSE_MIN_CELLS", "COLLAPSE_CELL_FRACTION", "HQ_MIN", "HOP_MAX", "LOSS_REL_AMPLITUDE_MAX",
    "DIRAC_DIST_MAX", "DIRAC_SLOPE_MIN", "GRAD_DECAY_MAX", "D_FAKE_SATURATED", "VERDICTS",
    "PARTIAL_MISS_FRACTION", "THRESHOLDS", "OUTCOMES", "VERDICT_TABLE_COLUMNS",
    "Evidence", "Verdict", "RuleOutcome", "DiagnoseConfig", "diagnostics_config", "collapse_cap",
    "partial_cap", "judge", "diagnose", "format_verdicts", "format_evidence", "diagnose_frame",
    "verdict_table", "describe_rules",
]

#: Every verdict name, in reporting order.
VERDICTS = ("diverged", "mode_collapse", "non_convergence", "vanishing_gradients", "healthy")
#: What a rule concluded for one run.
OUTCOMES = ("fired", "passed", "not_judged")

_NO_VERDICT_STATUSES = ("failed", "missing", "interrupted")


@dataclass(frozen=True)
class Evidence:
    """One number behind a verdict: ``metric`` ``comparison`` ``threshold`` held for ``value``."""

    metric: str
    value: Any
    threshold: Any
    comparison: str
    note: str = ""

    def __str__(self) -> str:
        s = f"{self.metric}={_fmt(self.value)}"
        if self.comparison:
            s += f" {self.comparison} {_fmt(self.threshold)}"
        return s + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class Verdict:
    """A verdict name and the evidence that triggered it."""

    name: str
    evidence: list[Evidence] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.name}: " + "; ".join(str(e) for e in self.evidence) if self.evidence else self.name


# ----------------------------------------------------------------------------------- helpers
def _fmt(x: Any) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if math.isnan(x):
            return "nan"
        if x == int(x) and abs(x) < 1e6:
            return str(int(x))
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e4):
            return f"{x:.2e}"
        return f"{x:.3g}"
    return str(x)


def _num(d: Mapping[str, Any], key: str) -> float:
    v = d.get(key, np.nan)
    try:
        v = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return v


def _fin(x: float) -> bool:
    return x is not None and math.isfinite(x)


def collapse_cap(k: int, cfg: DiagnoseConfig = DiagnoseConfig()) -> int:
    """Most occupied cells (or covered modes) that still count as collapse for K modes."""
    return max(int(cfg.collapse_min_cells), int(math.floor(cfg.collapse_cell_fraction * k + 1e-9)))


def _modes_total(trial_row: Mapping[str, Any], modes_info: Any) -> float:
    if isinstance(modes_info, Mapping):
        for key in ("modes_total", "n_modes", "K"):
            if key in modes_info:
                return float(modes_info[key])
    elif modes_info is not None:
        return float(modes_info)
    return _num(trial_row, "modes_total")


def partial_cap(k: float, cfg: DiagnoseConfig = DiagnoseConfig()) -> int:
    """Most modes a sharp generator may cover and still count as partially collapsed, out of
    ``k`` reachable: ``floor((1 − partial_miss_fraction)·k)`` (ring 6 of 8, grid 18 of 25)."""
    return int(math.floor((1.0 - cfg.partial_miss_fraction) * k + 1e-9))


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule concluded for one run: ``outcome`` is ``fired`` (the verdict applies),
    ``passed`` (checked, does not apply) or ``not_judged`` (the data the rule needs is
    missing); ``evidence`` holds the numbers it read."""

    verdict: str
    rule: str
    outcome: str
    evidence: list[Evidence] = field(default_factory=list)


class _Run:
    """The numbers of one trial × seed that the rules read (NaN where absent)."""

    def __init__(self, row: Mapping[str, Any], dyn: Mapping[str, Any], modes_info: Any):
        self.row, self.dyn = row, dyn
        self.hq = _num(row, "hq_fraction")
        self.covered = _num(row, "modes_covered")
        self.cells = _num(row, "cells_occupied")
        self.k = _modes_total(row, modes_info)
        dist = _num(dyn, "dirac_final_dist")
        self.dist = dist if _fin(dist) else _num(row, "dist_final")
        self.slope = _num(dyn, "dirac_log_dist_slope")
        self.is_dirac = _fin(self.dist) or _fin(_num(row, "theta_final"))
        self.prob = _num(dyn, "d_output_is_probability")
        self.real_covered = _num(row, "real_modes_covered")
        self.real_kl = _num(row, "real_reverse_kl")
        self.kl = _num(row, "reverse_kl")
        self.is_toy = _fin(self.cells)
        self.is_image = not self.is_toy and not self.is_dirac and (
            _fin(self.real_covered) or any(_fin(_num(row, m)) for m in ("fid", "kid_mean")))


def _not_judged(verdict: str, rule: str, metric: str, why: str) -> RuleOutcome:
    return RuleOutcome(verdict, rule, "not_judged", [Evidence(metric, float("nan"), "", "",
                                                              f"not judged: {why}")])


def _rule_collapse(r: _Run, cfg: DiagnoseConfig) -> RuleOutcome:
    """Toy: few occupied cells, few HQ modes, or a sharp generator missing many modes."""
    if r.is_dirac:
        return _not_judged("mode_collapse", "toy_cells", "modes_covered",
                           "the Dirac-GAN's data is a single point mass")
    if r.is_image or not (_fin(r.k) and r.k > 0 and _fin(r.cells)):
        return _rule_image_collapse(r, cfg)
    k = int(r.k)
    cap = collapse_cap(k, cfg)
    if r.cells <= cap:
        return RuleOutcome("mode_collapse", "toy_cells", "fired", [
            Evidence("cells_occupied", r.cells, cap, "<=", f"collapse: mass in <= {cap} of {k} cells"),
            Evidence("hq_fraction", r.hq, "", "", "on a mode" if _fin(r.hq) and r.hq >= cfg.hq_min
                     else "blob mostly off the modes")])
    if _fin(r.hq) and r.hq >= cfg.hq_min and _fin(r.covered):
        if r.covered <= cap:
            return RuleOutcome("mode_collapse", "toy_hq_modes", "fired", [
                Evidence("modes_covered", r.covered, cap, "<=",
                         f"collapse: high-quality mass on <= {cap} of {k} modes"),
                Evidence("hq_fraction", r.hq, cfg.hq_min, ">=")])
        pcap = partial_cap(k, cfg)
        if r.covered <= pcap:
            return RuleOutcome("mode_collapse", "partial_coverage", "fired", [
                Evidence("modes_covered", r.covered, pcap, "<=",
                         f"partial collapse: a sharp generator misses >= "
                         f"{_fmt(cfg.partial_miss_fraction * 100)}% of the {k} modes"),
                Evidence("hq_fraction", r.hq, cfg.hq_min, ">=")])
        return RuleOutcome("mode_collapse", "partial_coverage", "passed", [
            Evidence("cells_occupied", r.cells, cap, ">"),
            Evidence("modes_covered", r.covered, pcap, ">")])
    return RuleOutcome("mode_collapse", "toy_cells", "passed",
                       [Evidence("cells_occupied", r.cells, cap, ">")])


def _rule_image_collapse(r: _Run, cfg: DiagnoseConfig) -> RuleOutcome:
    """Images: modes reached and KL to uniform against the real data at the same sample count."""
    if not (_fin(r.covered) and _fin(r.k) and r.k > 0):
        return _not_judged("mode_collapse", "image_modes", "modes_covered",
                           "no mode metric for this dataset (FID-type metrics only)")
    if not _fin(r.real_covered):
        return _not_judged("mode_collapse", "image_modes", "real_modes_covered",
                           "the real data's own mode count was not recorded")
    keep = 1.0 - cfg.partial_miss_fraction
    cap = math.floor(keep * r.real_covered + 1e-9)
    ev = []
    if r.covered <= cap:
        ev.append(Evidence("modes_covered", r.covered, cap, "<=",
                           f"misses >= {_fmt(cfg.partial_miss_fraction * 100)}% of the "
                           f"{_fmt(r.real_covered)} modes the real data reaches"))
    if _fin(r.kl) and _fin(r.real_kl):
        kl_max = r.real_kl - math.log(keep)
        if r.kl >= kl_max:
            ev.append(Evidence("reverse_kl", r.kl, kl_max, ">=",
                               f"effective modes K·exp(-KL) <= {_fmt(keep)}× the real data's "
                               f"(real KL {_fmt(r.real_kl)})"))
    if ev:
        return RuleOutcome("mode_collapse", "image_modes", "fired", ev)
    return RuleOutcome("mode_collapse", "image_modes", "passed",
                       [Evidence("modes_covered", r.covered, cap, ">",
                                 f"real data: {_fmt(r.real_covered)} modes")])


def _rule_dirac(r: _Run, cfg: DiagnoseConfig) -> RuleOutcome:
    """Dirac-GAN: the distance to the equilibrium is large and not shrinking."""
    if r.dist > cfg.dirac_dist_max:
        if _fin(r.slope) and r.slope <= -cfg.dirac_slope_min:
            return RuleOutcome("non_convergence", "dirac_distance", "passed", [
                Evidence("dirac_log_dist_slope", r.slope, -cfg.dirac_slope_min, "<=",
                         "still converging")])
        ev = [Evidence("dirac_final_dist", r.dist, cfg.dirac_dist_max, ">", "equilibrium not reached"),
              Evidence("dirac_log_dist_slope", r.slope, -cfg.dirac_slope_min, ">",
                       "distance growing" if _fin(r.slope) and r.slope > 0
                       else "not shrinking fast enough")]
        if _fin(_num(r.dyn, "dirac_winding")):
            ev.append(Evidence("dirac_winding", _num(r.dyn, "dirac_winding"), "", "", "revolutions"))
        return RuleOutcome("non_convergence", "dirac_distance", "fired", ev)
    return RuleOutcome("non_convergence", "dirac_distance", "passed",
                       [Evidence("dirac_final_dist", r.dist, cfg.dirac_dist_max, "<=")])


def _rule_diffuse(r: _Run, cfg: DiagnoseConfig, collapsed: bool) -> RuleOutcome | None:
    """Toy: mass spread over the cells but rarely high quality (not for a collapsed run)."""
    if collapsed or not r.is_toy or not (_fin(r.k) and r.k > 0):
        return None
    if not _fin(r.hq):
        return _not_judged("non_convergence", "diffuse", "hq_fraction", "no HQ share recorded")
    cap = collapse_cap(int(r.k), cfg)
    if r.hq < cfg.hq_min:
        ev = [Evidence("hq_fraction", r.hq, cfg.hq_min, "<",
                       "diffuse: mass spread over cells but rarely high quality"),
              Evidence("cells_occupied", r.cells, cap, ">")]
        chance = _num(r.row, "chance_coverage")
        if _fin(r.covered) and _fin(chance):
            ev.append(Evidence("modes_covered", r.covered, chance, "vs chance"))
        return RuleOutcome("non_convergence", "diffuse", "fired", ev)
    return RuleOutcome("non_convergence", "diffuse", "passed",
                       [Evidence("hq_fraction", r.hq, cfg.hq_min, ">=")])


def _rule_hopping(r: _Run, cfg: DiagnoseConfig) -> RuleOutcome | None:
    """Mass moving between modes across evaluations (toy and image mode histograms)."""
    if r.is_dirac:
        return None
    hop = _num(r.dyn, "mode_hopping_mean")
    basis = r.dyn.get("mode_hopping_basis") if isinstance(r.dyn, Mapping) else None
    where = f" ({basis} histograms)" if isinstance(basis, str) and basis else ""
    if not _fin(hop):
        return _not_judged("non_convergence", "mode_hopping", "mode_hopping_mean",
                           "fewer than two evaluations with enough samples in the histogram")
    if hop > cfg.hop_max:
        return RuleOutcome("non_convergence", "mode_hopping", "fired", [
            Evidence("mode_hopping_mean", hop, cfg.hop_max, ">",
                     f"mass moves between modes across evaluations{where}")])
    return RuleOutcome("non_convergence", "mode_hopping", "passed",
                       [Evidence("mode_hopping_mean", hop, cfg.hop_max, "<=")])


def _rule_oscillation(r: _Run, cfg: DiagnoseConfig) -> RuleOutcome | None:
    """Cross-entropy losses: a large D-loss swing with a period significant against red noise."""
    if r.is_dirac:
        return None
    rel = _num(r.dyn, "d_loss_rel_amplitude")
    per = _num(r.dyn, "d_loss_period")
    if r.prob != 1.0:
        return _not_judged("non_convergence", "loss_oscillation", "d_loss_rel_amplitude",
                           "a critic loss has no reference level for a relative amplitude")
    if not _fin(rel):
        return _not_judged("non_convergence", "loss_oscillation", "d_loss_rel_amplitude",
                           "too few logged losses")
    if rel > cfg.loss_rel_amplitude_max and _fin(per):
        return RuleOutcome("non_convergence", "loss_oscillation", "fired", [
            Evidence("d_loss_rel_amplitude", rel, cfg.loss_rel_amplitude_max, ">", "D loss oscillates"),
            Evidence("d_loss_period", per, "", "", "steps, significant against an AR(1) red-noise null")])
    if rel > cfg.loss_rel_amplitude_max:
        return RuleOutcome("non_convergence", "loss_oscillation", "passed", [
            Evidence("d_loss_rel_amplitude", rel, cfg.loss_rel_amplitude_max, ">",
                     "but no period beyond red noise: noise, not oscillation")])
    return RuleOutcome("non_convergence", "loss_oscillation", "passed",
                       [Evidence("d_loss_rel_amplitude", rel, cfg.loss_rel_amplitude_max, "<=")])


def _rule_vanishing(r: _Run, cfg: DiagnoseConfig) -> RuleOutcome:
    """G's gradient collapsed, with D saturated (cross-entropy) or G away from the data (critic)."""
    decay = _num(r.dyn, "g_grad_decay")
    if not _fin(decay):
        return _not_judged("vanishing_gradients", "grad_decay", "g_grad_decay",
                           "too few logged gradient norms")
    if decay > cfg.grad_decay_max:
        return RuleOutcome("vanishing_gradients", "grad_decay", "passed",
                           [Evidence("g_grad_decay", decay, cfg.grad_decay_max, ">")])
    ev = [Evidence("g_grad_decay", decay, cfg.grad_decay_max, "<=",
                   f"G gradient median {_fmt(_num(r.dyn, 'g_grad_early'))} -> "
                   f"{_fmt(_num(r.dyn, 'g_grad_late'))}")]
    if r.prob == 1.0:
        fake = _num(r.dyn, "d_fake_late")
        if not _fin(fake):
            return RuleOutcome("vanishing_gradients", "saturated_d", "not_judged", ev + [
                Evidence("d_fake_late", fake, "", "", "not judged: no D(fake) recorded")])
        if fake < cfg.d_fake_saturated:
            return RuleOutcome("vanishing_gradients", "saturated_d", "fired", ev + [
                Evidence("d_fake_late", fake, cfg.d_fake_saturated, "<", "D saturated")])
        return RuleOutcome("vanishing_gradients", "saturated_d", "passed", ev + [
            Evidence("d_fake_late", fake, cfg.d_fake_saturated, ">=", "D not saturated")])
    if r.is_dirac and _fin(r.dist):
        away = Evidence("dirac_final_dist", r.dist, cfg.dirac_dist_max,
                        ">" if r.dist > cfg.dirac_dist_max else "<=")
        fired = r.dist > cfg.dirac_dist_max
    elif _fin(r.hq):
        away = Evidence("hq_fraction", r.hq, cfg.hq_min, "<" if r.hq < cfg.hq_min else ">=")
        fired = r.hq < cfg.hq_min
    else:
        return RuleOutcome("vanishing_gradients", "critic_away", "not_judged", ev + [
            Evidence("hq_fraction", float("nan"), "", "",
                     "not judged: critic loss and no data-distance metric for this dataset")])
    if fired:
        return RuleOutcome("vanishing_gradients", "critic_away", "fired", ev + [
            Evidence(away.metric, away.value, away.threshold, away.comparison,
                     "critic loss: G still away from the data")])
    return RuleOutcome("vanishing_gradients", "critic_away", "passed", ev + [
        Evidence(away.metric, away.value, away.threshold, away.comparison,
                 "G reached the data: convergence, not a vanishing gradient")])


def judge(trial_row: Mapping[str, Any], dyn: Mapping[str, Any], modes_info: Any = None,
          cfg: DiagnoseConfig | None = None) -> list[RuleOutcome]:
    """Every rule's outcome for one trial × seed (see the module docstring for the rules).

    Args:
        trial_row: one row of ``trials``.
        dyn: its dynamics (:func:`ganbench.results.dynamics.trial_dynamics`).
        modes_info: the number of modes K (an int, or a mapping with ``modes_total``);
            default ``trial_row["modes_total"]``.
        cfg: thresholds (default :class:`DiagnoseConfig`).
    Returns:
        ``[]`` for a failed or missing run; one ``diverged`` outcome for a diverged run;
        otherwise one outcome per applicable rule, in :data:`VERDICTS` order.
    """
    cfg = cfg or DiagnoseConfig()
    status = str(trial_row.get("status", "ok") or "ok")
    if status in _NO_VERDICT_STATUSES:
        return []
    if status == "diverged":
        return [RuleOutcome("diverged", "non_finite", "fired", [
            Evidence("status", "diverged", "", "", "a loss or parameter became non-finite"),
            Evidence("diverged_step", _num(trial_row, "diverged_step"), "", "")])]
    r = _Run(trial_row, dyn, modes_info)
    out = [_rule_collapse(r, cfg)]
    collapsed = out[0].outcome == "fired"
    if r.is_dirac:
        out.append(_rule_dirac(r, cfg))
    else:
        out += [o for o in (_rule_diffuse(r, cfg, collapsed), _rule_hopping(r, cfg),
                            _rule_oscillation(r, cfg)) if o is not None]
    out.append(_rule_vanishing(r, cfg))
    return out


def verdicts_of(outcomes: list[RuleOutcome]) -> list[Verdict]:
    """Fired outcomes grouped into verdicts (in :data:`VERDICTS` order), or one ``healthy``
    verdict whose evidence lists what passed and, marked, what could not be judged."""
    fired: dict[str, list[Evidence]] = {}
    for o in outcomes:
        if o.outcome == "fired":
            fired.setdefault(o.verdict, []).extend(o.evidence)
    if fired:
        return [Verdict(v, fired[v]) for v in VERDICTS if v in fired]
    if not outcomes:
        return []
    return [Verdict("healthy", [e for o in outcomes for e in o.evidence])]


def diagnose(trial_row: Mapping[str, Any], dyn: Mapping[str, Any], modes_info: Any = None,
             cfg: DiagnoseConfig | None = None) -> list[Verdict]:
    """The verdicts of one trial × seed: :func:`judge`, grouped by :func:`verdicts_of`.

    Returns:
        The verdicts in :data:`VERDICTS` order; ``[Verdict("diverged", …)]`` alone for a
        diverged run, ``[]`` for a failed or missing one, ``[Verdict("healthy", …)]`` when
        nothing fired.
    """
    return verdicts_of(judge(trial_row, dyn, modes_info, cfg))


def format_verdicts(verdicts: list[Verdict]) -> str:
    """``;``-separated verdict names (empty for none)."""
    return ";".join(v.name for v in verdicts)


def format_evidence(verdicts: list[Verdict]) -> str:
    """``"verdict: ev; ev | verdict: ev"``, compact and human-readable."""
    return " | ".join(str(v) for v in verdicts)


def _probability_by_combo(trials: pd.DataFrame, history: pd.DataFrame,
                          manifest: Mapping[str, Any] | None) -> dict[str, bool]:
    """Whether each combo's D outputs are probabilities, from its loss in the manifest.

    Without a manifest, a combo counts as probability-valued when all its finite ``d_real`` /
    ``d_fake`` values lie in [0, 1] (a heuristic; pass the manifest for reports).
    """
    combos = list(dict.fromkeys(list(trials.get("combo", pd.Series([], dtype=object)))
                                + list(history.get("combo", pd.Series([], dtype=object)))))
    out: dict[str, bool] = {}
    for c in combos:
        if manifest is not None:
            spec = (manifest.get("combos") or {}).get(c)
            if spec is None or "loss" not in spec:
                raise ValueError(f"manifest has no loss for combo {c!r}")
            out[c] = bool(LOSSES.get(spec["loss"]).probability)
        else:
            sub = history[history["combo"] == c] if "combo" in history.columns else history
            vals = pd.concat([pd.to_numeric(sub.get(k, pd.Series([], dtype=float)), errors="coerce")
                              for k in ("d_real", "d_fake")])
            vals = vals[np.isfinite(vals)]
            out[c] = bool(len(vals)) and bool(((vals >= 0) & (vals <= 1)).all())
    return out


def diagnose_tables(trials: pd.DataFrame, history: pd.DataFrame,
                    manifest: Mapping[str, Any] | None = None,
                    cfg: DiagnoseConfig | Mapping[str, Any] | None = None,
                    dyn_cfg: DynamicsConfig | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Dynamics and verdicts for every trial × seed, and the long verdict table.

    Args:
        trials: one row per dataset × combo × seed (``trials.parquet``).
        history: per logged step (``history.parquet``).
        manifest: the run manifest; ``manifest["combos"][combo]["loss"]`` says whether D's
            outputs are probabilities (None: inferred from the values, see
            :func:`_probability_by_combo`).
        cfg: a :class:`DiagnoseConfig`, or a flat ``diagnostics:`` mapping (split by
            :func:`diagnostics_config`, which then also sets the dynamics settings).
        dyn_cfg: dynamics settings (default :class:`DynamicsConfig`; a mapping ``cfg``
            takes precedence).
    Returns:
        A copy of ``trials`` (same row order) with the dynamics columns (NaN where a seed has
        no history), ``verdicts`` and ``evidence`` added; and the verdict table
        (:func:`verdict_table`) of every rule's outcome.
    """
    if isinstance(cfg, Mapping):
        dyn_cfg, cfg = diagnostics_config(cfg)
    cfg = cfg or DiagnoseConfig()
    dyn_cfg = dyn_cfg or DynamicsConfig()
    out = trials.copy().reset_index(drop=True)
    keys = [k for k in ("dataset", "combo", "hp_id", "seed") if k in out.columns and k in history.columns]
    prob = _probability_by_combo(out, history, manifest)
    if len(history) and keys:
        dyn = frame_dynamics(history, prob if "combo" in history.columns else
                             next(iter(prob.values()), True), dyn_cfg, keys)
        dyn_cols = [c for c in dyn.columns if c not in keys]
        # dynamics already in the rows (an earlier pass) are replaced, never mixed with new ones
        out = out.drop(columns=[c for c in dyn_cols if c in out.columns])
        out = out.merge(dyn[keys + dyn_cols], on=keys, how="left", sort=False)
    else:
        dyn_cols = []
    if not len(out):
        out["verdicts"] = pd.Series([], dtype=object)
        out["evidence"] = pd.Series([], dtype=object)
        return out, verdict_table([], [])
    verdicts, evidence, judged = [], [], []
    records = out.to_dict("records")
    for rec in records:
        combo = rec.get("combo")
        d = {c: rec.get(c, np.nan) for c in dyn_cols}
        if not _fin(_num(d, "d_output_is_probability")) and combo in prob:
            d["d_output_is_probability"] = 1.0 if prob[combo] else 0.0
        outcomes = judge(rec, d, None, cfg)
        judged.append(outcomes)
        vs = verdicts_of(outcomes)
        verdicts.append(format_verdicts(vs))
        status = str(rec.get("status", "ok") or "ok")
        evidence.append(format_evidence(vs) if vs else f"status={status}: not diagnosed")
    out["verdicts"] = verdicts
    out["evidence"] = evidence
    return out, verdict_table(records, judged)


def diagnose_frame(trials: pd.DataFrame, history: pd.DataFrame,
                   manifest: Mapping[str, Any] | None = None,
                   cfg: DiagnoseConfig | Mapping[str, Any] | None = None,
                   dyn_cfg: DynamicsConfig | None = None) -> pd.DataFrame:
    """The trials with dynamics, ``verdicts`` and ``evidence`` (:func:`diagnose_tables`)."""
    return diagnose_tables(trials, history, manifest, cfg, dyn_cfg)[0]


#: Columns of the verdict table: one row per run × rule × evidence item.
VERDICT_TABLE_COLUMNS = ("dataset", "combo", "hp_id", "seed", "status", "verdict", "rule", "outcome",
                         "metric", "value", "comparison", "threshold", "reason")


def _cell(x: Any) -> Any:
    if isinstance(x, (bool, np.bool_)):
        return float(x)
    if isinstance(x, (int, float, np.integer, np.floating)):
        return float(x)
    return np.nan


def verdict_table(records: list[Mapping[str, Any]], judged: list[list[RuleOutcome]]) -> pd.DataFrame:
    """The long verdict table: one row per run × rule × evidence item.

    ``outcome`` is ``fired`` / ``passed`` / ``not_judged`` (:data:`OUTCOMES`); a failed or
    missing run gets one row with outcome ``not_judged`` and its status as the reason.
    ``value`` and ``threshold`` are numbers (NaN where the evidence is not numeric).
    """
    rows: list[dict[str, Any]] = []
    for rec, outcomes in zip(records, judged):
        key = {k: rec.get(k, np.nan) for k in ("dataset", "combo", "hp_id", "seed")}
        key["status"] = str(rec.get("status", "ok") or "ok")
        if not outcomes:
            rows.append({**key, "verdict": "", "rule": "", "outcome": "not_judged", "metric": "",
                         "value": np.nan, "comparison": "", "threshold": np.nan,
                         "reason": f"status {key['status']}: not diagnosed"})
        for o in outcomes:
            for e in o.evidence or [Evidence("", np.nan, "", "")]:
                rows.append({**key, "verdict": o.verdict, "rule": o.rule, "outcome": o.outcome,
                             "metric": e.metric, "value": _cell(e.value),
                             "comparison": e.comparison, "threshold": _cell(e.threshold),
                             "reason": e.note})
    table = pd.DataFrame(rows, columns=list(VERDICT_TABLE_COLUMNS))
    if table["hp_id"].isna().all():
        table = table.drop(columns="hp_id")
    return table
