"""The report's diagnosis sections: Overview, failure modes, Sensitivity and Methods.

Everything here turns a loaded run (:class:`ganbench.report.build.RunData`) into plain template
context: lists and dicts of already formatted strings, plus figures made through the report's
figure collector. :func:`ganbench.report.build.build_report` calls these and renders them with
``templates/_overview.html.j2``, ``_failures.html.j2``, ``_sensitivity.html.j2`` and
``_methods.html.j2``.

* **Overview** — the verdict matrix (share of runs per verdict, per dataset × combo, colour
  coded), one generated sentence per comparison with the baseline on the dataset's main metric
  (:data:`MAIN_METRIC_BY_KIND`), and every run's verdicts with their evidence.
* **Failure modes** — one section per verdict present among :data:`FAILURE_MODES`: the numbers
  that triggered it for every run, per-run curves with the thresholds, and the mass per mode at
  each checkpoint (toy data keeps its generated samples only at the end of training, so the
  per-evaluation mode histogram stands in for "samples at checkpoints").
* **Sensitivity** (sweeps) — renders the results stage's sensitivity tables
  (:mod:`ganbench.results.sensitivity`).
* **Methods** — metric definitions, the dynamics definitions (``_methods_dynamics.html.j2``),
  verdict rules and the thresholds in force with their reasons (data:
  :data:`ganbench.config.diagnostics.THRESHOLDS`), sample counts, the statistics the results
  stage used, and the feature extractor.

Nothing here computes a statistic or a verdict: those come from the results stage.
* :data:`SORT_SCRIPT` — the report's only script: click a table header to sort
  (``static/sort.js``), sections as tabs and the training-evolution players
  (``static/report.js``).
"""

from __future__ import annotations

import base64
import hashlib
import math
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ganbench.results import dynamics, stats
from ganbench.results.diagnose import THRESHOLDS, DiagnoseConfig, collapse_cap, describe_rules
from ganbench.report import diagnostic_plots as dplots
from ganbench.report import plots
from ganbench.config import catalog
from ganbench.results.sensitivity import main_metric
from ganbench.report.export import METRIC_LABELS, _finite, _signed, _sort_key, format_number

__all__ = [
    "VERDICT_ORDER",
    "FAILURE_MODES",
    "MAIN_METRIC_BY_KIND",
    "HIGHER_IS_BETTER",
    "SORT_SCRIPT",
    "SORT_JS",
    "script_csp_hash",
    "main_metric",
    "overview_context",
    "failure_sections",
    "sensitivity_context",
    "methods_context",
    "timing_rows",
]

#: Verdicts in the order of the matrix columns.
VERDICT_ORDER = ("diverged", "mode_collapse", "non_convergence", "vanishing_gradients", "healthy")
#: Verdicts that get a section of their own.
FAILURE_MODES = ("mode_collapse", "non_convergence", "vanishing_gradients")
VERDICT_TITLES = {
    "diverged": "Diverged",
    "mode_collapse": "Mode collapse",
    "non_convergence": "Non-convergence",
    "vanishing_gradients": "Vanishing gradients",
    "healthy": "Healthy",
}
# Matrix colours (RGB); a cell's opacity grows with the share of runs.
_VERDICT_RGB = {
    "diverged": (110, 40, 40),
    "mode_collapse": (217, 83, 79),
    "non_convergence": (232, 150, 40),
    "vanishing_gradients": (142, 68, 173),
    "healthy": (60, 160, 90),
}
#: The headline metric of each dataset kind (first one with a finite value is used).
MAIN_METRIC_BY_KIND: dict[str, tuple[str, ...]] = catalog.MAIN_BY_KIND
#: Direction of "better" of the metrics used in sentences and sensitivity.
HIGHER_IS_BETTER: dict[str, bool] = catalog.higher_is_better()
#: Most combos drawn in one failure-mode figure (most affected first; the rest are listed).
MAX_FAILURE_COMBOS = 8
#: Combos without the verdict drawn beside the affected ones for contrast (baseline first).
CONTRAST_COMBOS = 2
#: Most checkpoints per row of the mode-mass small multiples.
MAX_CHECKPOINTS = 6
#: Failure-mode tables with more rows than this start folded.
OPEN_ROWS = 24

# Numbers shown for the runs of each failure mode (only those with a finite value).
_FAILURE_COLUMNS: dict[str, tuple[str, ...]] = {
    "mode_collapse": ("modes_covered", "chance_coverage", "cells_occupied", "hq_fraction",
                      "modes_total"),
    "non_convergence": ("dirac_final_dist", "dirac_log_dist_slope", "dirac_winding",
                        "hq_fraction", "cells_occupied", "mode_hopping_mean",
                        "d_loss_rel_amplitude", "d_loss_period"),
    "vanishing_gradients": ("g_grad_early", "g_grad_late", "g_grad_decay", "d_fake_late",
                            "d_real_late", "d_accuracy_late", "hq_fraction", "dirac_final_dist"),
}
_COLUMN_LABELS = {
    "chance_coverage": "Chance coverage", "cells_occupied": "Cells occupied",
    "modes_total": "Modes (K)", "dirac_final_dist": "Final distance",
    "dirac_log_dist_slope": "Log-distance slope /step", "dirac_winding": "Winding (rev.)",
    "mode_hopping_mean": "Mode hopping (mean TV)", "d_loss_rel_amplitude": "D-loss rel. amplitude",
    "d_loss_period": "D-loss period (steps)", "g_grad_early": "G grad (early median)",
    "g_grad_late": "G grad (late median)", "g_grad_decay": "G grad decay (log10)",
    "d_fake_late": "D(fake) late", "d_real_late": "D(real) late",
    "d_accuracy_late": "D soft accuracy late",
}
_INTRO = {
    "mode_collapse": (
        "The generator puts its mass on a few modes: the mass sits in few nearest-centre cells "
        "whether or not the blob lies on a mode, or most samples are high quality but cover few "
        "modes. A diffuse generator is not collapsed, however many modes it covers by chance "
        "(compare modes covered with the chance level)."),
    "non_convergence": (
        "Training does not settle. On the Dirac-GAN the distance to the equilibrium is the "
        "ground truth: it stays large and does not shrink (orbits, spirals out). On toy data: "
        "the mass is spread over the cells but rarely high quality (diffuse), or it hops between "
        "modes from one evaluation to the next, or the discriminator's loss oscillates with a "
        "significant period."),
    "vanishing_gradients": (
        "The generator's gradient collapses while the discriminator is saturated (D(fake) near 0 "
        "for the cross-entropy losses) — or, for critic losses, while the generator is still "
        "away from the data, so the fall is not convergence."),
}


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _num(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _has_finite(frame: pd.DataFrame | None, col: str) -> bool:
    if frame is None or col not in frame.columns or frame.empty:
        return False
    return bool(np.isfinite(pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)).any())


def _pct(share: float) -> str:
    if not _finite(share):
        return "–"
    p = 100 * share
    return f"{p:.0f}%" if p >= 1 or p == 0 else "<1%"


def _verdict_set(value: Any) -> frozenset[str]:
    return stats.split_verdicts(value)


def _hp_of(row: Mapping[str, Any]) -> int | None:
    v = row.get("hp_id")
    return int(v) if _finite(v) else None


def _run_key(row: Mapping[str, Any]) -> dplots.RunKey:
    return (str(row["combo"]), _hp_of(row), int(row["seed"]))


def _evidence_for(evidence: Any, verdict: str) -> str:
    """The part of an ``evidence`` cell that belongs to ``verdict``."""
    for part in str(evidence or "").split(" | "):
        if part.startswith(verdict + ":"):
            return part[len(verdict) + 1:].strip()
    return ""


def _badge(verdict: str) -> dict[str, str]:
    r, g, b = _VERDICT_RGB.get(verdict, (120, 120, 120))
    return {"name": verdict, "style": f"background: rgba({r}, {g}, {b}, 0.18); "
                                      f"border: 1px solid rgba({r}, {g}, {b}, 0.6)"}


# ---------------------------------------------------------------------------------------------
# Verdicts present in the trials
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Overview
# ---------------------------------------------------------------------------------------------


def _matrix(trials: pd.DataFrame, datasets: Sequence[str], combos: Sequence[str],
            baseline: str | None) -> dict[str, Any] | None:
    if trials.empty or "verdicts" not in trials.columns:
        return None
    sweep = "hp_id" in trials.columns
    rows = []
    any_undiagnosed = False
    for ds in datasets:
        tds = trials[trials["dataset"] == ds]
        for combo in combos:
            sub = tds[tds["combo"] == combo]
            if sub.empty:
                continue
            sets = [_verdict_set(v) for v in sub["verdicts"]]
            n = len(sets)
            n_undiag = sum(1 for s in sets if not s)
            any_undiagnosed |= bool(n_undiag)
            hps = sub["hp_id"].tolist() if sweep else [None] * n
            n_hp = len({h for h in hps if _finite(h)}) if sweep else 0
            cells = []
            for v in VERDICT_ORDER:
                k = sum(1 for s in sets if v in s)
                share = k / n if n else float("nan")
                r, g, b = _VERDICT_RGB[v]
                alpha = 0.0 if not k else 0.15 + 0.7 * share
                title = f"{k} of {n} runs"
                if sweep:
                    h_hit = len({h for h, s in zip(hps, sets) if v in s and _finite(h)})
                    title += f"; in {h_hit} of {n_hp} hyperparameter samples"
                cells.append({
                    "text": _pct(share) if k else "·",
                    "count": f"{k}/{n}" if k else "",
                    "sort": repr(share),
                    "style": f"background: rgba({r}, {g}, {b}, {alpha:.2f})" if k else "",
                    "title": title,
                })
            seeds = sub["seed"].nunique()
            runs = (f"{n_hp} hp × {seeds} seed{'s' if seeds != 1 else ''}" if sweep else str(n))
            rows.append({"dataset": ds, "combo": combo, "is_baseline": combo == baseline,
                         "runs": runs, "n": n, "cells": cells, "undiagnosed": n_undiag})
    if not rows:
        return None
    return {"headers": [VERDICT_TITLES[v] for v in VERDICT_ORDER], "verdicts": list(VERDICT_ORDER),
            "rows": rows, "sweep": sweep, "any_undiagnosed": any_undiagnosed,
            "legend": [{"name": VERDICT_TITLES[v], **_badge(v)} for v in VERDICT_ORDER]}


def _effect(r: Mapping[str, Any]) -> str:
    """``+7.8 [7.5, 8.1], Cliff's δ = 1 [0.6, 1]``: the effect and its intervals."""
    lo, hi = _num(r.get("diff_ci_lo")), _num(r.get("diff_ci_hi"))
    text = _signed(r["diff"]) + (f" [{format_number(lo)}, {format_number(hi)}]"
                                 if _finite(lo) and _finite(hi) else " (no interval)")
    d, dlo, dhi = _num(r.get("cliffs_delta")), _num(r.get("cliffs_delta_lo")), _num(r.get("cliffs_delta_hi"))
    if _finite(d):
        text += f", Cliff's δ = {format_number(d)}"
        if _finite(dlo) and _finite(dhi):
            text += f" [{format_number(dlo)}, {format_number(dhi)}]"
    return text


def _sentence(ds: str, r: Mapping[str, Any], metric: str, alpha: float) -> dict[str, Any]:
    combo, base = str(r["combo"]), str(r["baseline"])
    m, b = format_number(r["mean"]), format_number(r["baseline_mean"])
    if metric == "modes_covered":
        lead = f"On {ds}, {combo} covers {m} modes vs {b} for {base}"
    elif metric in ("dist_final", "dirac_final_dist"):
        lead = f"On {ds}, {combo} ends at distance {m} from the equilibrium vs {b} for {base}"
    elif metric == "fid":
        lead = f"On {ds}, {combo} reaches FID {m} vs {b} for {base}"
    else:
        label = METRIC_LABELS.get(metric, metric)
        lead = f"On {ds}, {combo} has {label[:1].lower() + label[1:]} {m} vs {b} for {base}"
    p = _num(r["p_holm"])
    nd, nbd = int(_num(r.get("n_diverged", 0)) or 0), int(_num(r.get("n_diverged_baseline", 0)) or 0)
    seeds = f"{int(r['n']) + nd} vs {int(r['n_baseline']) + nbd} runs"
    if nd or nbd:
        seeds += f", {nd} vs {nbd} diverged (ranked worst)"
    effect = _effect(r)
    if not _finite(r["mean"]) or not _finite(r["baseline_mean"]):
        return {"text": f"{lead}: no finite value on one side ({seeds}); "
                        f"Cliff's δ = {format_number(r.get('cliffs_delta'))}, Holm p = "
                        f"{format_number(p)}.", "significant": bool(r.get("significant")),
                "direction": ""}
    if not _finite(p):
        return {"text": f"{lead}: {effect}; not testable ({seeds}).", "significant": False,
                "direction": ""}
    if p >= alpha:
        return {"text": f"{lead}: {effect}; not significant after Holm (p = {format_number(p)}, "
                        f"{seeds}).", "significant": False, "direction": ""}
    better = HIGHER_IS_BETTER.get(metric)
    direction = ""
    if better is not None:
        direction = "better" if (float(r["diff"]) > 0) == better else "worse"
    return {"text": f"{lead}: {effect}; Holm p = {format_number(p)} ({seeds}).",
            "significant": True, "direction": direction}


def design_note(design_ds: pd.DataFrame | None) -> str:
    """The design-power sentence of one dataset: the smallest Holm-corrected p-value its design
    can reach, and a warning when that is not below α (empty without a comparison)."""
    if design_ds is None or design_ds.empty:
        return ""
    r = design_ds.iloc[0]
    if not _finite(r["min_p_holm"]):
        return ""
    base = f"the baseline {r['baseline']}" if "baseline" in r and isinstance(r["baseline"], str) \
        else "the baseline"
    design = (f"{int(r['n_comparisons'])} comparisons with {base}, {int(r['n_min'])} runs per "
              f"combo against {int(r['n_baseline'])}")
    if bool(r["can_reach"]):
        return (f"Design: {design}; a complete separation reaches Holm p = "
                f"{format_number(r['min_p_holm'])}, below α = {format_number(r['alpha'])}.")
    return (f"Underpowered design: {design}; even a complete separation gives at best Holm p = "
            f"{format_number(r['min_p_holm'])}, not below α = {format_number(r['alpha'])}. Read "
            "the effect sizes and their intervals; add seeds to test the differences.")


def _headlines(comparisons: pd.DataFrame | None, trials: pd.DataFrame, datasets: Sequence[str],
               kinds: Mapping[str, str], ids: Mapping[str, str],
               alpha: float, design: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    if comparisons is None or comparisons.empty:
        return []
    out = []
    for ds in datasets:
        comp = comparisons[comparisons["dataset"] == ds]
        metric = main_metric(kinds.get(ds, ""), trials[trials["dataset"] == ds])
        if comp.empty or metric is None:
            continue
        rows = comp[comp["metric"] == metric]
        if rows.empty:
            continue
        sentences = [_sentence(ds, r, metric, alpha) for _, r in rows.iterrows()]
        note = design_note(design[design["dataset"] == ds] if design is not None else None)
        out.append({"dataset": ds, "id": ids.get(ds, ds),
                    "metric": METRIC_LABELS.get(metric, metric),
                    "sentences": sentences, "note": note})
    return out


def _evidence_tables(trials: pd.DataFrame, datasets: Sequence[str],
                     ids: Mapping[str, str]) -> list[dict[str, Any]]:
    if trials.empty or "verdicts" not in trials.columns:
        return []
    sweep = "hp_id" in trials.columns
    out = []
    for ds in datasets:
        tds = trials[trials["dataset"] == ds]
        rows = []
        for rec in tds.to_dict("records"):
            verdicts = sorted(_verdict_set(rec.get("verdicts")),
                              key=lambda v: VERDICT_ORDER.index(v) if v in VERDICT_ORDER else 99)
            parts = []
            for part in str(rec.get("evidence") or "").split(" | "):
                name, _, rest = part.partition(": ")
                if rest and name in verdicts:
                    parts.append({"verdict": name, "text": rest})
                elif part:
                    parts.append({"verdict": "", "text": part})
            rows.append({
                "combo": str(rec["combo"]),
                "hp": str(_hp_of(rec)) if sweep and _hp_of(rec) is not None else "",
                "seed": str(int(rec["seed"])),
                "status": str(rec.get("status", "")),
                "verdicts": [_badge(v) for v in verdicts],
                "verdict_text": ";".join(verdicts),
                "evidence": parts,
            })
        if rows:
            counts = {}
            for r in rows:
                for v in r["verdict_text"].split(";"):
                    if v:
                        counts[v] = counts.get(v, 0) + 1
            summary = ", ".join(f"{VERDICT_TITLES.get(v, v).lower()} {k}"
                                for v, k in sorted(counts.items(), key=lambda kv: (
                                    VERDICT_ORDER.index(kv[0]) if kv[0] in VERDICT_ORDER else 99)))
            # folded: the Overview's first screen is the matrix and the headlines
            out.append({"dataset": ds, "id": ids.get(ds, ds), "rows": rows, "sweep": sweep,
                        "summary": summary, "open": False})
    return out


def overview_context(trials: pd.DataFrame, comparisons: pd.DataFrame | None,
                     datasets: Sequence[str], combos: Sequence[str], kinds: Mapping[str, str],
                     ids: Mapping[str, str], baseline: str | None,
                     statistics: Mapping[str, Any] | None, notes: Sequence[str],
                     design: pd.DataFrame | None = None) -> dict[str, Any]:
    """Template context of the Overview section."""
    alpha = _num((statistics or {}).get("alpha", stats.SIGNIFICANCE_ALPHA))
    if not _finite(alpha):
        alpha = stats.SIGNIFICANCE_ALPHA
    return {
        "matrix": _matrix(trials, datasets, combos, baseline),
        "headlines": _headlines(comparisons, trials, datasets, kinds, ids, alpha, design),
        "evidence": _evidence_tables(trials, datasets, ids),
        "sweep": "hp_id" in trials.columns,
        "alpha": format_number(alpha),
        "notes": list(notes),
    }


# ---------------------------------------------------------------------------------------------
# Failure modes
# ---------------------------------------------------------------------------------------------


def _thresholds(manifest: Mapping[str, Any]) -> dict[str, float]:
    rec = ((manifest.get("protocol") or {}).get("diagnostics") or {}).get("thresholds")
    out = DiagnoseConfig().to_dict()
    if isinstance(rec, Mapping):
        out.update({k: v for k, v in rec.items() if k in out})
    return out


def _mode_checkpoints(hist_run: pd.DataFrame) -> list[tuple[int, np.ndarray]]:
    if "mode_hist" not in hist_run.columns:
        return []
    sub = hist_run[hist_run["mode_hist"].map(lambda h: h is not None and np.size(h) > 0)]
    sub = sub.sort_values("step")
    if sub.empty:
        return []
    idx = plots.even_indices(len(sub), MAX_CHECKPOINTS)
    return [(int(r["step"]), np.asarray(list(r["mode_hist"]), dtype=float))
            for _, r in sub.iloc[idx].iterrows()]


def _run_history(hist_ds: pd.DataFrame, key: dplots.RunKey) -> pd.DataFrame:
    combo, hp, seed = key
    sel = (hist_ds["combo"] == combo) & (hist_ds["seed"] == seed)
    if hp is not None and "hp_id" in hist_ds.columns:
        sel &= hist_ds["hp_id"] == hp
    return hist_ds[sel]


def failure_sections(
    trials: pd.DataFrame,
    history: pd.DataFrame | None,
    samples: Mapping[tuple[str, str, int], np.ndarray],
    hp_samples: Mapping[tuple[str, str, int, int], np.ndarray],
    manifest: Mapping[str, Any],
    datasets: Sequence[str],
    combos: Sequence[str],
    kinds: Mapping[str, str],
    ids: Mapping[str, str],
    centres: Callable[[str], np.ndarray],
    related: Mapping[str, list[tuple[str, str]]],
    make: Callable[..., dict[str, str] | None],
) -> list[dict[str, Any]]:
    """One section per failure verdict present in the trials.

    Args:
        trials: The run's trials (with ``verdicts``).
        history: The run's history (None if missing).
        samples: (dataset, combo, seed) → final samples.
        hp_samples: In a sweep, (dataset, combo, hp_id, seed) → final samples.
        manifest: The manifest (thresholds in force).
        datasets, combos: Display order.
        kinds: dataset → kind; ids: dataset → anchor id.
        centres: dataset → mode centres [K, 2].
        related: dataset → [(figure id, title)] of figures elsewhere in the report.
        make: The report's figure maker (``make(id, title, caption, draw)``).

    Returns:
        ``[{"verdict", "id", "title", "intro", "rule", "datasets": [...]}]``.
    """
    if trials.empty or "verdicts" not in trials.columns:
        return []
    th = _thresholds(manifest)
    rules = ((manifest.get("protocol") or {}).get("diagnostics") or {}).get("rules") or {}
    if not rules:
        rules = describe_rules(DiagnoseConfig.from_dict(th))
    colors = plots.combo_colors(list(combos))
    sets = trials["verdicts"].map(_verdict_set)
    sweep = "hp_id" in trials.columns
    out = []
    for verdict in FAILURE_MODES:
        hit = sets.map(lambda s: verdict in s)
        if not hit.any():
            continue
        sec_id = "failure-" + verdict.replace("_", "-")
        ds_blocks = []
        for ds in datasets:
            tds = trials[trials["dataset"] == ds]
            flagged_rows = tds[hit.loc[tds.index]]
            if flagged_rows.empty:
                continue
            did = ids.get(ds, ds)
            kind = kinds.get(ds, "")
            # Table of the triggering numbers.
            cols = [c for c in _FAILURE_COLUMNS[verdict] if _has_finite(flagged_rows, c)]
            headers = [_COLUMN_LABELS.get(c, METRIC_LABELS.get(c, c)) for c in cols]
            rows = []
            for rec in flagged_rows.to_dict("records"):
                rows.append({
                    "combo": str(rec["combo"]),
                    "hp": str(_hp_of(rec)) if sweep and _hp_of(rec) is not None else "",
                    "seed": str(int(rec["seed"])),
                    "cells": [{"text": format_number(rec.get(c)), "sort": _sort_key(rec.get(c))}
                              for c in cols],
                    "evidence": _evidence_for(rec.get("evidence"), verdict),
                })
            # Combos affected, most affected first; the baseline joins for contrast.
            rate = (hit.loc[tds.index].groupby(tds["combo"]).mean()
                    .reindex([c for c in combos if c in set(tds["combo"])]).fillna(0.0))
            affected = [c for c in sorted(rate.index, key=lambda c: (-rate[c], list(combos).index(c)))
                        if rate[c] > 0]
            shown = affected[:MAX_FAILURE_COMBOS]
            left_out = affected[MAX_FAILURE_COMBOS:]
            baseline = manifest.get("baseline")
            present = [c for c in combos if c in set(tds["combo"])]
            unaffected = [c for c in present if c not in affected]
            if baseline in unaffected:
                unaffected.remove(baseline)
                unaffected.insert(0, baseline)
            contrast = unaffected[:CONTRAST_COMBOS]
            draw_combos = [c for c in present if c in shown or c in contrast]
            flagged = {_run_key(r) for r in flagged_rows.to_dict("records")}
            hist_ds = None
            if history is not None:
                hist_ds = history[(history["dataset"] == ds) & history["combo"].isin(draw_combos)]
                if hist_ds.empty:
                    hist_ds = None
            final = _final_samples(ds, draw_combos, flagged, samples, hp_samples)
            figures = _failure_figures(verdict, ds, did, kind, hist_ds, tds, flagged, draw_combos,
                                       shown, colors, th, final, centres, make)
            ds_blocks.append({
                "dataset": ds, "id": f"{sec_id}-{did}", "headers": headers, "rows": rows,
                "sweep": sweep, "open": len(rows) <= OPEN_ROWS,
                "n_hit": len(flagged_rows), "n": len(tds),
                "affected": ", ".join(f"{c} ({_pct(rate[c])})" for c in affected),
                "contrast": ", ".join(contrast),
                "left_out": ", ".join(left_out), "n_shown": len(shown),
                "figures": [f for f in figures if f],
                "related": related.get(ds, []),
            })
        out.append({"verdict": verdict, "id": sec_id, "title": VERDICT_TITLES[verdict],
                    "intro": _INTRO[verdict], "rule": str(rules.get(verdict, "")),
                    "datasets": ds_blocks})
    return out


def _final_samples(ds: str, combos: Sequence[str], flagged: set,
                   samples: Mapping[tuple[str, str, int], np.ndarray],
                   hp_samples: Mapping[tuple[str, str, int, int], np.ndarray]
                   ) -> dict[str, dict[int, np.ndarray]]:
    """combo → {seed → final samples}; in a sweep, the seeds of one hyperparameter sample per
    combo (the first flagged one, else the lowest)."""
    out: dict[str, dict[int, np.ndarray]] = {}
    for combo in combos:
        per = {s: a for (d, c, s), a in samples.items() if d == ds and c == combo}
        if not per and hp_samples:
            hps = sorted({h for (d, c, h, _), _a in hp_samples.items() if d == ds and c == combo})
            hit = sorted(k[1] for k in flagged if k[0] == combo and k[1] is not None)
            pick = hit[0] if hit else (hps[0] if hps else None)
            per = {s: a for (d, c, h, s), a in hp_samples.items()
                   if d == ds and c == combo and h == pick}
        out[combo] = per
    return out


def _failure_figures(verdict, ds, did, kind, hist_ds, tds, flagged, draw_combos, shown, colors,
                     th, final, centres, make) -> list:
    figs: list = []
    k = _num(tds["modes_total"].max()) if "modes_total" in tds.columns else float("nan")
    cap = None
    if _finite(k) and k > 0:
        try:
            cap = float(collapse_cap(int(k), DiagnoseConfig.from_dict(th)))
        except (TypeError, ValueError):
            cap = None
    solid = ("solid lines: runs with this verdict; dashed: runs without it (of the same combos "
             "and of the combos drawn for contrast)")

    def traces(fid: str, title: str, panels: list, caption: str) -> None:
        panels = [p for p in panels if _has_finite(hist_ds, p[0])]  # none without history
        if not panels:
            return
        figs.append(make(
            fid, f"{ds}: {title}", caption,
            lambda: dplots.run_traces_figure(hist_ds, panels, flagged, draw_combos, colors,
                                             title=f"{ds}: {title}",
                                             flag_label=verdict.replace("_", " "))))

    def mode_mass(fid: str, title: str) -> None:
        if hist_ds is None or "mode_hist" not in hist_ds.columns or kind == "image":
            return
        c = centres(ds)
        rows: dict[str, list] = {}
        order = lambda kk: (kk[1] if kk[1] is not None else -1, kk[2])  # noqa: E731
        for combo in draw_combos:
            keys = sorted((kk for kk in flagged if kk[0] == combo), key=order)
            suffix = ""
            if not keys and combo not in shown:  # a contrast combo: its first run
                keys = sorted((kk for kk, _g in dplots._runs(hist_ds[hist_ds["combo"] == combo])),
                              key=order)
                suffix = " (no verdict)"
            if not keys:
                continue
            cps = _mode_checkpoints(_run_history(hist_ds, keys[0]))
            if cps:
                rows[dplots._run_label(keys[0]) + suffix] = cps
        if rows and len(c):
            figs.append(make(
                fid, f"{ds}: {title}",
                "Small multiples at the evaluation checkpoints of one run per affected combo (the "
                "first run with this verdict; for a contrast combo, its first run): a disc on each mode centre (grey cross) with area "
                "proportional to the share of high-quality samples on that mode; the title gives "
                "the step and the number of high-quality samples. The run folder stores generated "
                "toy samples only at the end of training; this histogram is what each checkpoint "
                "records.",
                lambda: dplots.mode_mass_figure(rows, c, title=f"{ds}: {title}")))

    if verdict == "mode_collapse":
        traces(f"fig-mc-cov-{did}", "coverage over time",
               [("modes_covered", False, "Modes covered", None),
                ("cells_occupied", False, "Cells occupied (collapse threshold dotted)", cap),
                ("hq_fraction", False, "HQ fraction", None)],
               "Coverage at every evaluation, one line per run; " + solid + ". Dotted: the most "
               "occupied cells that still count as collapse.")
        mode_mass(f"fig-mc-mass-{did}", "mass per mode at checkpoints")
        per_combo = final
        if kind != "image" and any(per_combo.values()):
            c = centres(ds)
            figs.append(make(
                f"fig-mc-samples-{did}", f"{ds}: final samples of the affected combos",
                "Final generated samples, one panel per combo, one colour per seed; black crosses "
                "mark the mode centres. In a sweep: the seeds of the first hyperparameter sample "
                "with this verdict.",
                lambda: plots.samples_figure(per_combo, c, title=f"{ds}: final samples")))
    elif verdict == "non_convergence":
        if kind == "dirac":
            if hist_ds is not None and _has_finite(hist_ds, "theta") and _has_finite(hist_ds, "psi"):
                figs.append(make(
                    f"fig-nc-phase-{did}", f"{ds}: phase portraits of the affected combos",
                    "Trajectory of (θ, ψ) per seed: circle = start, square = end, black cross = "
                    "the equilibrium (0, 0).",
                    lambda: plots.phase_portrait(hist_ds, draw_combos,
                                                 title=f"{ds}: phase portraits")))
            traces(f"fig-nc-dist-{did}", "distance to equilibrium per run",
                   [("dist", True, "√(θ²+ψ²) (threshold dotted)", th.get("dirac_dist_max"))],
                   "Distance to the equilibrium, log scale, one line per run; " + solid + ".")
        else:
            traces(f"fig-nc-cov-{did}", "coverage and losses over time",
                   [("hq_fraction", False, "HQ fraction (threshold dotted)", th.get("hq_min")),
                    ("modes_covered", False, "Modes covered", None),
                    ("d_loss", False, "D loss", None)],
                   "One line per run; " + solid + ". Dotted: the high-quality share below which a "
                   "spread-out generator counts as diffuse.")
            mode_mass(f"fig-nc-mass-{did}", "mass per mode at checkpoints (mode hopping)")
    elif verdict == "vanishing_gradients":
        traces(f"fig-vg-traces-{did}", "G gradient norm and D outputs",
               [("g_grad_norm", True, "G gradient norm (log)", None),
                ("d_fake", False, "D(fake) (saturation threshold dotted)",
                 th.get("d_fake_saturated")),
                ("d_real", False, "D(real)", None)],
               "One line per run; " + solid + ". A saturated D (D(fake) under the dotted line) "
               "with a collapsing G gradient is the vanishing-gradient signature.")
        layer_cols = [c for c in (hist_ds.columns if hist_ds is not None else [])
                      if c.startswith("g_grad_norm.")]
        if any(_has_finite(hist_ds, c) for c in layer_cols):
            figs.append(make(
                f"fig-vg-layers-{did}", f"{ds}: G gradient norm per layer",
                "Median over runs of each generator layer's gradient norm; log scale.",
                lambda: plots.layer_norms_figure(hist_ds, ["g_grad_norm"], draw_combos,
                                                 title=f"{ds}: G gradient norm per layer")))
    return figs


# ---------------------------------------------------------------------------------------------
# Sensitivity (sweeps)
# ---------------------------------------------------------------------------------------------


def _hp_text(rec: Mapping[str, Any], hp_cols: Sequence[str]) -> str:
    parts = []
    for c in hp_cols:
        v = rec.get(c)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        parts.append(f"{c[3:]}={format_number(v) if _finite(v) else v}")
    return ", ".join(parts)


def sensitivity_context(samples: pd.DataFrame | None, summary: pd.DataFrame | None,
                        log_x: Mapping[str, bool], combos: Sequence[str],
                        kinds: Mapping[str, str], ids: Mapping[str, str],
                        make: Callable[..., dict[str, str] | None],
                        hp_samples: Mapping[tuple[str, str, int, int], np.ndarray] | None = None,
                        centres: Callable[[str], np.ndarray] | None = None,
                        ) -> dict[str, Any] | None:
    """Template context of the Sensitivity section, rendered from the results stage's
    sensitivity tables (:func:`ganbench.results.sensitivity.sensitivity_tables`); None without
    a sweep."""
    if samples is None or summary is None or samples.empty or summary.empty:
        return None
    hp_cols = [c for c in samples.columns if c.startswith("hp.")]
    colors = plots.combo_colors(list(combos))
    blocks = []
    for ds in pd.unique(summary["dataset"]):
        summ = summary[summary["dataset"] == ds]
        hp_frame = samples[samples["dataset"] == ds]
        metric = str(summ["metric"].iloc[0])
        higher = bool(summ["higher_is_better"].iloc[0])
        label = METRIC_LABELS.get(metric, metric)
        plot_frame = hp_frame.rename(columns={"value": metric})
        table, values, healthy = [], {}, {}
        order = [c for c in combos if c in set(summ["combo"])] + [
            c for c in summ["combo"] if c not in combos]
        for combo in order:
            r = summ[summ["combo"] == combo].iloc[0]
            sub = hp_frame[hp_frame["combo"] == combo]
            values[combo] = sub["value"].to_numpy(dtype=float)
            healthy[combo] = sub["healthy"].to_numpy(dtype=bool)
            best_text = ""
            if _finite(r["best_hp_id"]):
                best_rec = sub[sub["hp_id"] == int(r["best_hp_id"])].iloc[0].to_dict()
                best_text = f"hp {int(r['best_hp_id'])}: " + _hp_text(best_rec, hp_cols)
            table.append({
                "combo": combo, "n_hp": str(int(r["n_hp_samples"])), "n_runs": str(int(r["n_runs"])),
                "healthy": _pct(r["healthy_share"]), "healthy_sort": _sort_key(r["healthy_share"]),
                "healthy_count": f"{int(r['n_healthy'])}/{int(r['n_runs'])}",
                "best": format_number(r["best"]), "best_sort": _sort_key(r["best"]),
                "median": format_number(r["median"]), "median_sort": _sort_key(r["median"]),
                "iqr": f"[{format_number(r['q1'])}, {format_number(r['q3'])}]" if _finite(r["q1"]) else "",
                "worst": format_number(r["worst"]), "worst_sort": _sort_key(r["worst"]),
                "best_setting": best_text,
            })
        did = ids.get(ds, ds)
        figs = [make(
            f"fig-sens-{did}", f"{ds}: {label} over hyperparameter samples",
            f"Final {label.lower()} of every hyperparameter sample (mean over its seeds), one "
            "box per combo (median and quartiles); circles: every seed of the sample was judged "
            "healthy, crosses: any other verdict. "
            + ("Higher is better." if higher else "Lower is better."),
            lambda values=values, healthy=healthy, label=label, ds=ds: dplots.sensitivity_figure(
                values, healthy, label, colors, title=f"{ds}: {label} over hyperparameter samples"))]
        swept = [c for c in hp_cols if hp_frame[c].notna().any()]
        if swept:
            lx = {c: bool(log_x.get(c, False)) for c in swept}
            figs.append(make(
                f"fig-hpscatter-{did}", f"{ds}: {label} against each hyperparameter",
                f"One point per hyperparameter sample (mean over its seeds), one colour per combo; "
                "crosses: not every seed healthy. Log x axis for log-uniform spaces. A panel "
                "only shows the combos to which that hyperparameter applied.",
                lambda plot_frame=plot_frame, swept=swept, lx=lx, metric=metric, label=label, ds=ds:
                dplots.hp_scatter_figure(
                    plot_frame, metric, swept, lx,
                    [c for c in combos if c in set(plot_frame["combo"])], label, colors,
                    title=f"{ds}: {label} against each hyperparameter")))
        best_samples = {}
        for _, r in summ.iterrows():
            if not _finite(r["best_hp_id"]):
                continue
            per = {sd: a for (d, c, h, sd), a in (hp_samples or {}).items()
                   if d == ds and c == r["combo"] and h == int(r["best_hp_id"])}
            if per:
                best_samples[f"{r['combo']} · hp {int(r['best_hp_id'])}"] = per
        if best_samples and kinds.get(ds) in ("toy2d", "dirac"):
            c = centres(ds) if centres is not None else np.zeros((0, 2))
            figs.append(make(
                f"fig-sens-samples-{did}", f"{ds}: final samples of each combo's best setting",
                "Final generated samples of the best hyperparameter sample of each combo (by the "
                "main metric), one colour per seed; black crosses mark the mode centres.",
                lambda best_samples=best_samples, c=c, ds=ds: plots.samples_figure(
                    best_samples, c, title=f"{ds}: final samples, best setting per combo")))
        blocks.append({
            "dataset": ds, "id": f"sensitivity-{did}", "metric": label,
            "direction": "higher is better" if higher else "lower is better",
            "rows": table, "figures": [f for f in figs if f],
            "swept": ", ".join(c[3:] for c in swept),
        })
    return {"datasets": blocks} if blocks else None


# ---------------------------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------------------------

def _text(v: Any) -> str:
    if isinstance(v, float):
        return format_number(v) if v != 0 else "0"
    if isinstance(v, (list, tuple)):
        return ", ".join(_text(x) for x in v)
    return str(v)


def methods_context(manifest: Mapping[str, Any], trials: pd.DataFrame,
                    kinds: Mapping[str, str],
                    results_statistics: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Template context of the Methods section (from the manifest; current defaults stand in
    for what an older manifest did not record)."""
    protocol = manifest.get("protocol") or {}
    budget = manifest.get("budget") or {}
    cov = protocol.get("coverage") or {}
    diag = protocol.get("diagnostics") or {}
    # The statistics the results stage used win over what the run recorded at training time.
    statistics = results_statistics or protocol.get("statistics")
    if not isinstance(statistics, Mapping):
        statistics = {}

    # Coverage (toy datasets).
    coverage = []
    toy = any(k == "toy2d" for k in kinds.values())
    if toy:
        n = cov.get("eval_samples", budget.get("eval_samples"))
        coverage = [
            f"Draw N = {_text(n) if n is not None else '–'} generated samples and assign each to "
            "its nearest mode centre.",
            f"A sample is high quality (HQ) if it lies within {_text(cov.get('hq_std', 3))} "
            "standard deviations of that centre; HQ fraction is their share.",
            f"A mode is covered if at least {_text(cov.get('min_count', 1))} HQ sample(s) land on "
            "it; modes covered counts them.",
            "Cells occupied: nearest-centre cells holding at least "
            f"{_text(cov.get('cell_occupied_fraction', '1/(4K)'))}·(1/K) of all samples, with no "
            "quality filter — how the mass spreads over the modes.",
            f"Reverse KL: {cov.get('reverse_kl', 'KL(p_gen ‖ uniform) of the HQ mode histogram')}.",
            f"Chance coverage: {cov.get('chance', 'modes covered by uniform samples')}.",
            "Reading them together: collapse puts the mass in one or two cells; diffuse "
            "non-convergence spreads it over all cells but rarely high quality (and then 'covers' "
            "modes by chance, so compare with the chance level); success spreads it over all "
            "cells, mostly high quality.",
        ]
    frechet = str(protocol.get("frechet") or "") if toy else ""
    ref = protocol.get("frechet_real_reference") or {}
    if ref and frechet:
        frechet += (f" Real reference: {_text(ref.get('samples', '–'))} samples drawn with seed "
                    f"{_text(ref.get('seed', '–'))}.")

    # Dynamics and verdicts.
    dyn_settings = diag.get("dynamics") or dynamics.DynamicsConfig().to_dict()
    th = _thresholds(manifest)
    defaults = DiagnoseConfig().to_dict()
    rules = diag.get("rules") or describe_rules(DiagnoseConfig.from_dict(th))
    threshold_rows = [{
        "name": k, "value": _text(v), "default": _text(defaults.get(k)),
        "overridden": k in (diag.get("overrides") or {}),
        "why": THRESHOLDS[k][1] if k in THRESHOLDS else "",
    } for k, v in th.items()]

    # Samples and statistics.
    seeds = manifest.get("seeds") or []
    n_seeds = len(seeds) or (int(trials["seed"].nunique()) if "seed" in trials else 0)
    counts = [("seeds per dataset × combo", str(n_seeds)),
              ("training steps", _text(budget.get("steps", "–"))),
              ("evaluation every", f"{_text(budget.get('eval_every', '–'))} steps"),
              ("probes logged every", f"{_text(budget.get('log_every', '–'))} steps"),
              ("generated samples per evaluation (toy)", _text(budget.get("eval_samples", "–")))]
    if "hp_id" in trials.columns and len(trials):
        n_hp = trials.groupby(["dataset", "combo"])["hp_id"].nunique()
        counts.append(("hyperparameter samples per dataset × combo",
                       ", ".join(sorted({str(int(v)) for v in n_hp}))))
    images = protocol.get("images") if isinstance(protocol.get("images"), Mapping) else {}
    for ds, n in (images.get("mode_samples") or {}).items():
        counts.append((f"samples for mode counting ({ds})", _text(n)))
    extractors = []
    for ds, f in (images.get("fidelity") or {}).items():
        if isinstance(f, Mapping):
            extractors.append({
                "dataset": ds, "extractor": str(f.get("extractor", "–")),
                "features": str(f.get("features", "–")), "weights": str(f.get("weights", "–")),
                "samples": f"{_text(f.get('samples_generated', '–'))} generated, "
                           f"{_text(f.get('samples_real', '–'))} real",
                "version": str(f.get("torch_fidelity", "–")),
            })
    if images.get("digit_classifier"):
        counts.append(("digit classifier", str(images["digit_classifier"])))
    no_extractor = [ds for ds, k in kinds.items() if k in ("toy2d", "dirac")]
    level = _num(statistics.get("level", stats.DEFAULT_LEVEL))
    stats_text = (
        f"Per dataset × combo: mean, standard deviation (ddof {_text(statistics.get('std_ddof', 1))}) "
        f"and median over seeds, with a {format_number(100 * level)}% interval of the mean: "
        f"{statistics.get('ci_method', 'percentile bootstrap')}. Against the baseline, effect "
        f"sizes first: the difference of means with a "
        f"{statistics.get('diff_ci_method', 'bootstrap interval')}, the difference of medians, "
        f"and {statistics.get('effect_size', 'a rank effect size')}; then "
        f"{statistics.get('rank_test', 'a rank test')}, and "
        f"{statistics.get('multiple_comparisons', 'Holm correction')}; significant when the "
        f"corrected p < {_text(statistics.get('alpha', 0.05))}. Diverged seeds: "
        f"{statistics.get('diverged_seeds', 'dropped')}; divergence rates: "
        f"{statistics.get('divergence_test', 'not tested')}. Design power: the smallest p-value "
        "a complete separation can reach after Holm, m·2/C(n_a+n_b, n_a), is reported per "
        "dataset, and a design where it is not below α is called underpowered. Missing values: "
        f"{statistics.get('missing_values', 'dropped')}. Sweeps pool every hyperparameter "
        "sample and seed of a combo in these statistics; the Sensitivity section separates them.")
    return {
        "coverage": coverage,
        "frechet": frechet,
        "dynamics_settings": [(k, _text(v)) for k, v in dyn_settings.items()],
        "rules": [{"name": k, "title": VERDICT_TITLES.get(k, k), "text": str(v)}
                  for k, v in rules.items()],
        "thresholds": threshold_rows,
        "overrides": bool(diag.get("overrides")),
        "counts": counts,
        "extractors": extractors,
        "no_extractor": ", ".join(no_extractor),
        "statistics": stats_text,
        "probes": str(protocol.get("probes") or ""),
    }


# ---------------------------------------------------------------------------------------------
# Reproducibility: wall time per dataset × combo
# ---------------------------------------------------------------------------------------------


def timing_rows(trials: pd.DataFrame) -> list[dict[str, str]]:
    """Per dataset × combo: runs, total and median wall time per run, and the device."""
    col = "trial_wall_s" if _has_finite(trials, "trial_wall_s") else "wall_s"
    if not _has_finite(trials, col):
        return []
    rows = []
    for (ds, combo), g in trials.groupby(["dataset", "combo"], sort=False):
        w = pd.to_numeric(g[col], errors="coerce").to_numpy(dtype=float)
        w = w[np.isfinite(w)]
        dev = ", ".join(sorted({str(d) for d in g["device"].dropna() if str(d)})) if "device" in g else ""
        rows.append({"dataset": str(ds), "combo": str(combo), "runs": str(len(g)),
                     "total": format_number(w.sum()) if w.size else "–",
                     "total_sort": _sort_key(w.sum()) if w.size else "",
                     "median": format_number(np.median(w)) if w.size else "–",
                     "median_sort": _sort_key(np.median(w)) if w.size else "",
                     "device": dev or "–"})
    return rows


# ---------------------------------------------------------------------------------------------
# Sortable tables: the report's only script (inline; no network, no library)
# ---------------------------------------------------------------------------------------------

#: Click (or press Enter on) a table header to sort its rows; click again to reverse. A cell's
#: ``data-sort`` attribute, when present, is its key (so "1.2 [0.9, 1.5]" sorts by 1.2);
#: otherwise its text, by its leading number when it has one. Numbers sort before text, and
#: empty or "–" cells always last.
#: ``static/sort.js`` alone (click a table header to sort): the script of ``compare.html``.
SORT_JS = (Path(__file__).parent / "static" / "sort.js").read_text(encoding="utf-8")
#: The report's only script: ``sort.js`` and ``report.js`` (sections as tabs, the evolution
#: players), inlined at render time under the CSP hash of :func:`script_csp_hash`.
SORT_SCRIPT = SORT_JS + "\n" + (Path(__file__).parent / "static" / "report.js").read_text(
    encoding="utf-8")


def script_csp_hash(script: str = SORT_SCRIPT) -> str:
    """The Content-Security-Policy source (``'sha256-…'``) that allows exactly ``script``."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"
