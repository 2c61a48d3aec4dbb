"""Verdicts per trial × seed (DESIGN.md §4, "Verdicts" and "Reading coverage honestly").

Each trial × seed gets one or more of ``mode_collapse``, ``non_convergence``,
``vanishing_gradients``, or ``diverged`` (alone), or else ``healthy``; ``failed`` and ``missing``
trials get no verdict. Every verdict carries the numbers that triggered it (:class:`Evidence`:
metric, value, threshold, comparison). The rules, with the defaults of :class:`DiagnoseConfig`
(each a module constant below, with the reason for its value):

* **diverged** — ``status == "diverged"`` (a loss or parameter went non-finite). Nothing else
  is judged: the metrics of a dead run are undefined.
* **mode_collapse** (toy datasets with K modes) — the mass sits in few nearest-centre cells:
  ``cells_occupied ≤ cap`` with ``cap = max(COLLAPSE_MIN_CELLS, floor(COLLAPSE_CELL_FRACTION·K))``
  (ring K=8: 2; grid K=25: 6), whether or not the blob lies on a mode; *or* most samples are
  high quality but they sit on few modes: ``hq_fraction ≥ HQ_MIN`` and ``modes_covered ≤ cap``.
  A diffuse generator (mass spread over the cells, rarely high quality) is *not* collapsed,
  however many modes it "covers" by chance.
* **non_convergence** —
  *Dirac-GAN* (ground truth): ``dirac_final_dist > DIRAC_DIST_MAX`` and the distance is not
  shrinking, ``dirac_log_dist_slope > −DIRAC_SLOPE_MIN`` (per step, over the last half).
  *Toy datasets*, any of: diffuse — not collapsed (``cells_occupied > cap``) but
  ``hq_fraction < HQ_MIN``; mode hopping — ``mode_hopping_mean > HOP_MAX``; loss oscillation —
  for the cross-entropy losses, ``d_loss_rel_amplitude > LOSS_REL_AMPLITUDE_MAX`` *and* a
  dominant period was found (``d_loss_period`` finite: a significant periodogram peak), so that
  large minibatch noise is not called oscillation (the relative amplitude is not used for
  critic losses, whose mean hovers around 0).
* **vanishing_gradients** — G's gradient collapsed, ``g_grad_decay ≤ GRAD_DECAY_MAX`` (log10
  late/early median), *together with* a saturated D: for the cross-entropy losses
  ``d_fake_late < D_FAKE_SATURATED``. A critic (Wasserstein, hinge, least squares) has no
  saturation level, so for those the fall must instead come while the generator is still away
  from the data (toy ``hq_fraction < HQ_MIN``; Dirac ``dirac_final_dist > DIRAC_DIST_MAX``): a
  gradient that shrinks because G reached the equilibrium (R1 on the Dirac-GAN falls by 5–17
  orders of magnitude with D(fake) = ½) is convergence, not a vanishing gradient.
* **healthy** — none of the above applies; its evidence lists the checks that passed.

:func:`diagnose_frame` adds the dynamics columns (:mod:`ganbench.analysis.dynamics`), a
``verdicts`` column (``;``-separated names, e.g. ``"mode_collapse;vanishing_gradients"``) and an
``evidence`` column (``"verdict: metric=value op threshold (why); … | verdict: …"``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ganbench.analysis.dynamics import DynamicsConfig, frame_dynamics, reject_unknown_keys

__all__ = [
    "COLLAPSE_MIN_CELLS", "COLLAPSE_CELL_FRACTION", "HQ_MIN", "HOP_MAX", "LOSS_REL_AMPLITUDE_MAX",
    "DIRAC_DIST_MAX", "DIRAC_SLOPE_MIN", "GRAD_DECAY_MAX", "D_FAKE_SATURATED", "VERDICTS",
    "Evidence", "Verdict", "DiagnoseConfig", "diagnostics_config", "collapse_cap", "diagnose",
    "format_verdicts", "format_evidence", "diagnose_frame", "describe_rules",
]

#: DESIGN: "collapse: the mass sits in one or two cells" — so at least 2 cells always count.
COLLAPSE_MIN_CELLS = 2
#: Mass in at most a quarter of the K cells counts as collapse: 2 of the ring's 8, 6 of the
#: grid's 25. A diffuse generator occupies ≥ ~75 % of the cells (uniform mass fills them all),
#: a successful one all of them, so the quarter leaves a wide margin on both sides.
COLLAPSE_CELL_FRACTION = 0.25
#: "Mostly high quality" (DESIGN, success): at least half the samples within 3σ of a centre.
#: Diffuse runs sit near 0 % and converged runs well above 80 %, so ½ separates them robustly.
HQ_MIN = 0.5
#: Mean total variation between successive mode histograms above which the generator is
#: hopping between modes. Multinomial noise alone gives TV ≈ 0.03 (2500 samples, 8 modes) and
#: ≈ 0.15 at the 100-sample minimum (``DynamicsConfig.hop_min_count``); 0.3 means on average
#: 30 % of the mass moved mode between evaluations, which only a generator chasing the
#: discriminator does (a collapsed vanilla ring blob moving between modes gave TV = 1).
HOP_MAX = 0.3
#: D-loss oscillation (half the 5–95 % range of the detrended loss after burn-in) relative to
#: its mean, above which training is called oscillating — and only with a significant dominant
#: period. Cross-entropy D losses near 2·log 2 ≈ 1.39 (ring, 10k steps) showed 0.04–0.06; with
#: a strong D (25 D steps, mean loss ≈ 0.3) minibatch noise alone reached 0.23–0.58 but with no
#: significant period, which is why the period is required. Half the mean means D repeatedly
#: swings between winning and losing.
LOSS_REL_AMPLITUDE_MAX = 0.5
#: Dirac-GAN: final distance to the equilibrium above which it is not reached. Runs start at
#: √2 ≈ 1.41; instance noise (std 0.7) settles at a noise floor of 0.03–0.07, R1 below 1e-5,
#: while unregularised and WGAN-clip runs stay at 0.15–3.1 after 500 steps.
DIRAC_DIST_MAX = 0.1
#: Dirac-GAN: the log-distance must fall faster than this per step (over the last half) to
#: count as still converging. R1 shrinks at 0.025–0.14 per step; unregularised and WGAN runs
#: change by at most 1.3e-3 per step (orbits, slow drift) or grow (simultaneous minimax:
#: +6.7e-4). 5e-3 (the distance halves in < 140 steps) sits between the two groups.
DIRAC_SLOPE_MIN = 5e-3
#: G's gradient norm fell at least 1000-fold (log10 late/early median). DESIGN's protocol:
#: minimax on a saturated D fell from ~1e-1 to ~6e-6 (≈ −4.2), non-saturating stayed in 10–60
#: (≈ 0); ordinary training drifts by less than one order of magnitude.
GRAD_DECAY_MAX = -3.0
#: D(fake) late mean below which D is saturated (cross-entropy losses). DESIGN's protocol:
#: minimax with 25 D steps reached D(fake) = 0.000, non-saturating about 0.1, and an undecided
#: D sits at 0.5; 0.05 (D is > 95 % sure every fake is fake) separates them.
D_FAKE_SATURATED = 0.05

#: Every verdict name, in reporting order.
VERDICTS = ("diverged", "mode_collapse", "non_convergence", "vanishing_gradients", "healthy")

_NO_VERDICT_STATUSES = ("failed", "missing")


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


@dataclass(frozen=True)
class DiagnoseConfig:
    """Verdict thresholds (defaults: the module constants; see their comments)."""

    collapse_min_cells: int = COLLAPSE_MIN_CELLS
    collapse_cell_fraction: float = COLLAPSE_CELL_FRACTION
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


# ---------------------------------------------------------------------------------- diagnose
def diagnose(trial_row: Mapping[str, Any], dyn: Mapping[str, Any], modes_info: Any = None,
             cfg: DiagnoseConfig | None = None) -> list[Verdict]:
    """The verdicts of one trial × seed.

    Args:
        trial_row: one row of ``trials`` (``status``, ``modes_covered``, ``hq_fraction``,
            ``cells_occupied``, ``modes_total``, ``dist_final``, …).
        dyn: its dynamics (:func:`ganbench.analysis.dynamics.trial_dynamics`), which also
            says whether D's outputs are probabilities (``d_output_is_probability``).
        modes_info: the number of modes K (an int, or a mapping with ``modes_total``);
            default: ``trial_row["modes_total"]``. Ignored for the Dirac-GAN.
        cfg: thresholds (default :class:`DiagnoseConfig`).
    Returns:
        The verdicts in :data:`VERDICTS` order; ``[Verdict("diverged", …)]`` alone for a
        diverged run, ``[]`` for a failed or missing one, ``[Verdict("healthy", …)]`` when
        nothing applies.
    """
    cfg = cfg or DiagnoseConfig()
    status = str(trial_row.get("status", "ok") or "ok")
    if status in _NO_VERDICT_STATUSES:
        return []
    if status == "diverged":
        return [Verdict("diverged", [
            Evidence("status", "diverged", "", "", "a loss or parameter became non-finite"),
            Evidence("diverged_step", _num(trial_row, "diverged_step"), "", "")])]

    hq = _num(trial_row, "hq_fraction")
    covered = _num(trial_row, "modes_covered")
    cells = _num(trial_row, "cells_occupied")
    k = _modes_total(trial_row, modes_info)
    dist = _num(dyn, "dirac_final_dist")
    if not _fin(dist):
        dist = _num(trial_row, "dist_final")
    slope = _num(dyn, "dirac_log_dist_slope")
    is_dirac = _fin(dist) or _fin(_num(trial_row, "theta_final"))
    prob = _num(dyn, "d_output_is_probability")

    verdicts: list[Verdict] = []
    passed: list[Evidence] = []

    # ---- mode collapse (toy)
    collapsed = False
    cap = collapse_cap(int(k), cfg) if _fin(k) and k > 0 else None
    if not is_dirac and cap is not None:
        ev: list[Evidence] = []
        if _fin(cells) and cells <= cap:
            ev.append(Evidence("cells_occupied", cells, cap, "<=",
                               f"collapse: mass in <= {cap} of {int(k)} cells"))
            ev.append(Evidence("hq_fraction", hq, "", "", "on a mode" if _fin(hq) and hq >= cfg.hq_min
                               else "blob mostly off the modes"))
        elif _fin(hq) and hq >= cfg.hq_min and _fin(covered) and covered <= cap:
            ev.append(Evidence("modes_covered", covered, cap, "<=",
                               f"collapse: high-quality mass on <= {cap} of {int(k)} modes"))
            ev.append(Evidence("hq_fraction", hq, cfg.hq_min, ">="))
        if ev:
            collapsed = True
            verdicts.append(Verdict("mode_collapse", ev))
        elif _fin(cells):
            passed.append(Evidence("cells_occupied", cells, cap, ">"))

    # ---- non-convergence
    ev = []
    if is_dirac:
        if _fin(dist) and dist > cfg.dirac_dist_max:
            if not (_fin(slope) and slope <= -cfg.dirac_slope_min):
                ev.append(Evidence("dirac_final_dist", dist, cfg.dirac_dist_max, ">",
                                   "equilibrium not reached"))
                ev.append(Evidence("dirac_log_dist_slope", slope, -cfg.dirac_slope_min, ">",
                                   "distance growing" if _fin(slope) and slope > 0
                                   else "not shrinking fast enough"))
                if _fin(_num(dyn, "dirac_winding")):
                    ev.append(Evidence("dirac_winding", _num(dyn, "dirac_winding"), "", "", "revolutions"))
            else:
                passed.append(Evidence("dirac_log_dist_slope", slope, -cfg.dirac_slope_min, "<=",
                                       "still converging"))
        elif _fin(dist):
            passed.append(Evidence("dirac_final_dist", dist, cfg.dirac_dist_max, "<="))
    else:
        if cap is not None and not collapsed and _fin(hq) and _fin(cells):
            if hq < cfg.hq_min:
                ev.append(Evidence("hq_fraction", hq, cfg.hq_min, "<",
                                   "diffuse: mass spread over cells but rarely high quality"))
                ev.append(Evidence("cells_occupied", cells, cap, ">"))
                chance = _num(trial_row, "chance_coverage")
                if _fin(covered) and _fin(chance):
                    ev.append(Evidence("modes_covered", covered, chance, "vs chance"))
            else:
                passed.append(Evidence("hq_fraction", hq, cfg.hq_min, ">="))
        hop = _num(dyn, "mode_hopping_mean")
        if _fin(hop):
            if hop > cfg.hop_max:
                ev.append(Evidence("mode_hopping_mean", hop, cfg.hop_max, ">",
                                   "mass moves between modes across evaluations"))
            else:
                passed.append(Evidence("mode_hopping_mean", hop, cfg.hop_max, "<="))
        rel = _num(dyn, "d_loss_rel_amplitude")
        per = _num(dyn, "d_loss_period")
        if prob == 1.0 and _fin(rel):
            if rel > cfg.loss_rel_amplitude_max and _fin(per):
                ev.append(Evidence("d_loss_rel_amplitude", rel, cfg.loss_rel_amplitude_max, ">",
                                   "D loss oscillates"))
                ev.append(Evidence("d_loss_period", per, "", "", "steps, significant periodogram peak"))
            elif rel > cfg.loss_rel_amplitude_max:
                passed.append(Evidence("d_loss_rel_amplitude", rel, cfg.loss_rel_amplitude_max, ">",
                                       "but no dominant period: noise, not oscillation"))
            else:
                passed.append(Evidence("d_loss_rel_amplitude", rel, cfg.loss_rel_amplitude_max, "<="))
    if ev:
        verdicts.append(Verdict("non_convergence", ev))

    # ---- vanishing gradients
    decay = _num(dyn, "g_grad_decay")
    if _fin(decay):
        if decay <= cfg.grad_decay_max:
            ev = [Evidence("g_grad_decay", decay, cfg.grad_decay_max, "<=",
                           f"G gradient median {_fmt(_num(dyn, 'g_grad_early'))} -> "
                           f"{_fmt(_num(dyn, 'g_grad_late'))}")]
            fake = _num(dyn, "d_fake_late")
            if prob == 1.0:
                if _fin(fake) and fake < cfg.d_fake_saturated:
                    ev.append(Evidence("d_fake_late", fake, cfg.d_fake_saturated, "<", "D saturated"))
                    verdicts.append(Verdict("vanishing_gradients", ev))
                else:
                    passed.append(Evidence("d_fake_late", fake, cfg.d_fake_saturated, ">=",
                                           "D not saturated"))
            else:
                away = None
                if is_dirac and _fin(dist):
                    away = Evidence("dirac_final_dist", dist, cfg.dirac_dist_max, ">",
                                    "critic loss: G still away from the data")
                    away_ok = dist > cfg.dirac_dist_max
                elif _fin(hq):
                    away = Evidence("hq_fraction", hq, cfg.hq_min, "<",
                                    "critic loss: G still away from the data")
                    away_ok = hq < cfg.hq_min
                else:
                    away_ok = False
                if away is not None and away_ok:
                    ev.append(away)
                    verdicts.append(Verdict("vanishing_gradients", ev))
                else:
                    passed.append(Evidence("g_grad_decay", decay, cfg.grad_decay_max, "<=",
                                           "but G reached the data (convergence)"))
        else:
            passed.append(Evidence("g_grad_decay", decay, cfg.grad_decay_max, ">"))

    if not verdicts:
        return [Verdict("healthy", passed)]
    return verdicts


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
    from ganbench.objectives import LOSSES

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


def diagnose_frame(trials: pd.DataFrame, history: pd.DataFrame,
                   manifest: Mapping[str, Any] | None = None,
                   cfg: DiagnoseConfig | Mapping[str, Any] | None = None,
                   dyn_cfg: DynamicsConfig | None = None) -> pd.DataFrame:
    """Dynamics and verdicts for every trial × seed.

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
        no history), ``verdicts`` and ``evidence`` added.
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
        dyn_cols = [c for c in dyn.columns if c not in keys and c not in out.columns]
        out = out.merge(dyn[keys + dyn_cols], on=keys, how="left", sort=False)
    else:
        dyn_cols = []
    if not len(out):
        out["verdicts"] = pd.Series([], dtype=object)
        out["evidence"] = pd.Series([], dtype=object)
        return out
    verdicts, evidence = [], []
    records = out.to_dict("records")
    for rec in records:
        combo = rec.get("combo")
        d = {c: rec.get(c, np.nan) for c in dyn_cols}
        if not _fin(_num(d, "d_output_is_probability")) and combo in prob:
            d["d_output_is_probability"] = 1.0 if prob[combo] else 0.0
        vs = diagnose(rec, d, None, cfg)
        verdicts.append(format_verdicts(vs))
        status = str(rec.get("status", "ok") or "ok")
        evidence.append(format_evidence(vs) if vs else f"status={status}: not diagnosed")
    out["verdicts"] = verdicts
    out["evidence"] = evidence
    return out


def describe_rules(cfg: DiagnoseConfig | None = None) -> dict[str, str]:
    """One sentence per verdict with the thresholds in force (for the Methods section)."""
    c = cfg or DiagnoseConfig()
    cap = (f"max({c.collapse_min_cells}, floor({c.collapse_cell_fraction}·K))")
    return {
        "diverged": "status diverged (a loss or parameter became non-finite); nothing else is judged",
        "mode_collapse": f"cells_occupied <= {cap}, or hq_fraction >= {c.hq_min} and "
                         f"modes_covered <= {cap}",
        "non_convergence": f"Dirac: final distance > {c.dirac_dist_max} and log-distance slope > "
                           f"-{c.dirac_slope_min}/step; toy: not collapsed but hq_fraction < "
                           f"{c.hq_min} (diffuse), or mode hopping mean TV > {c.hop_max}, or "
                           f"(cross-entropy losses) D-loss relative amplitude > "
                           f"{c.loss_rel_amplitude_max} with a significant dominant period",
        "vanishing_gradients": f"g_grad_decay <= {c.grad_decay_max} with D(fake) late < "
                               f"{c.d_fake_saturated} (cross-entropy losses), or with G still away "
                               f"from the data (critic losses)",
        "healthy": "none of the above",
    }
