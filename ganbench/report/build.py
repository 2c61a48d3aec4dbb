"""Build a run's report from its run folder alone (docs/architecture.md).

:func:`build_report` reads ``manifest.json``, ``suite.yaml``, ``trials.parquet`` (or
``trials.csv``), ``history.parquet`` and ``samples/*.npy``; writes ``summary.csv``,
``summary.tex``, ``comparisons.csv`` and ``citation.bib`` (see :mod:`ganbench.report.export`);
and renders the self-contained ``report.html`` (figures embedded as PNG data URIs, inline CSS,
no external URL). Optional inputs that are missing or unreadable are reported as visible warnings
in the report instead of stopping the build.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import jinja2
import numpy as np
import pandas as pd

from markupsafe import Markup

from ganbench.io import write_text
from ganbench.report.reproduction import reproduction_context
from ganbench.report import diagnosis, evolution, export, plots
from ganbench.report.export import METRIC_LABELS, _finite, _interval, format_number
from ganbench.config import catalog
from ganbench.results.stage import load_results, status_values
from ganbench.results.inputs import _err, _read_history, _read_manifest, _read_trials

__all__ = [
    "RunData",
    "DISPLAY_METRICS",
    "COMPARE_METRICS",
    "load_run",
    "render_html",
    "render_template",
    "build_report",
]

#: Metrics shown in the HTML summary table, in order; a dataset shows those with a finite mean.
DISPLAY_METRICS: tuple[str, ...] = catalog.DISPLAYED
#: Metrics compared with the baseline (``comparisons.csv`` and the report).
COMPARE_METRICS: tuple[str, ...] = catalog.COMPARED
# Metrics of the per-seed strip plots (chance coverage is a reference level, not an outcome).
_DISTRIBUTION_METRICS = tuple(m for m in DISPLAY_METRICS if m != "chance_coverage")
# Curve figures: (id, title, history columns, log-y).
_CURVES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("losses", "Losses", ("d_loss", "g_loss"), False),
    ("grad-norms", "Gradient norms (total)", ("g_grad_norm", "d_grad_norm"), True),
    ("d-outputs", "Discriminator outputs (mean D on real and fake)", ("d_real", "d_fake"), False),
    ("eval", "Evaluation metrics during training",
     ("modes_covered", "hq_fraction", "reverse_kl", "frechet_distance"), False),
)  # fmt: skip
_LAYER_PREFIXES = ("g_grad_norm", "d_grad_norm")
_TEMPLATES = Path(__file__).parent / "templates"



@dataclass
class RunData:
    """Everything the report reads from a run folder.

    Attributes:
        run_dir: The run folder.
        manifest: Parsed ``manifest.json`` (``{}`` if unreadable).
        suite_text: Text of ``suite.yaml`` (None if missing).
        trials: One row per dataset × combo × seed (empty if unreadable), sorted in display
            order.
        history: Per-step records (None if missing or unreadable).
        samples: (dataset, combo, seed) → final samples array [N, dim].
        warnings: Human-readable problems met while reading, each naming the file.
        datasets: Dataset names in display order (manifest protocol order, then trials order).
        combos: Combo names in display order (manifest order, then trials order).
        hp_samples: In a sweep, (dataset, combo, hp_id, seed) → final samples (``samples``
            then stays empty: one seed has several hyperparameter samples).
    """

    run_dir: Path
    manifest: dict[str, Any]
    suite_text: str | None
    trials: pd.DataFrame
    history: pd.DataFrame | None
    samples: dict[tuple[str, str, int], np.ndarray]
    warnings: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    combos: list[str] = field(default_factory=list)
    hp_samples: dict[tuple[str, str, int, int], np.ndarray] = field(default_factory=dict)
    results: Any = None


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def _ordered(preferred: Sequence[Any], present: Sequence[Any]) -> list[str]:
    """``preferred`` items that are present, then the other present items in their order."""
    present_list = [str(x) for x in pd.unique(pd.Series(list(present), dtype=object))]
    seen = set(present_list)
    out = [str(p) for p in preferred if str(p) in seen]
    out += [p for p in present_list if p not in out]
    return out


def _read_samples(
    run_dir: Path, trials: pd.DataFrame, warnings: list[str],
    hp_out: dict[tuple[str, str, int, int], np.ndarray] | None = None,
) -> dict[tuple[str, str, int], np.ndarray]:
    """Final samples per (dataset, combo, seed); in a sweep (trials with ``hp_id``) they go to
    ``hp_out`` keyed (dataset, combo, hp_id, seed), from ``<dataset>__<combo>__hp<id>__seed<s>``."""
    out: dict[tuple[str, str, int], np.ndarray] = {}
    sweep = "hp_id" in trials.columns and hp_out is not None
    if trials.empty:
        return out
    folder = run_dir / "samples"
    if not folder.is_dir():
        warnings.append("samples/ is missing: final-sample figures are omitted.")
        return out
    # Look names up in the folder listing, so no trial name can point outside samples/.
    present = {p.name: p for p in folder.iterdir() if p.is_file()}
    missing: list[str] = []
    cols = ["dataset", "combo", "seed", "status"] + (["hp_id"] if sweep else [])
    for row in trials[cols].itertuples(index=False):
        hp = getattr(row, "hp_id", None) if sweep else None
        hp = int(hp) if hp is not None and _finite(hp) else None
        name = (f"{row.dataset}__{row.combo}__hp{hp}__seed{int(row.seed)}.npy" if hp is not None
                else f"{row.dataset}__{row.combo}__seed{int(row.seed)}.npy")
        path = present.get(name)
        if path is None:
            if row.status == "ok":
                missing.append(name)
            continue
        try:
            arr = np.load(path, allow_pickle=False)
            if arr.dtype.kind not in "fiu" or arr.ndim not in (1, 2):
                raise ValueError(f"expected a numeric [N, dim] array, got {arr.dtype} {arr.shape}")
        except Exception as exc:  # noqa: BLE001
            warnings.append(f"samples/{name} could not be read ({_err(exc)}); it is left out.")
            continue
        if hp is not None:
            hp_out[(row.dataset, row.combo, hp, int(row.seed))] = arr.reshape(len(arr), -1)
        else:
            out[(row.dataset, row.combo, int(row.seed))] = arr.reshape(len(arr), -1)
    if missing:
        shown = ", ".join(f"samples/{m}" for m in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        warnings.append(f"{len(missing)} sample file(s) missing: {shown}{more}.")
    return out


def load_run(run_dir: str | Path) -> RunData:
    """Read a run folder, tolerating missing or damaged optional files.

    Args:
        run_dir: The run folder written by ``ganbench run``.

    Returns:
        A :class:`RunData`; every problem met is recorded in its ``warnings``.
    """
    run_dir = Path(run_dir)
    warnings: list[str] = []
    manifest = _read_manifest(run_dir, warnings)
    try:
        suite_text: str | None = (run_dir / "suite.yaml").read_text(encoding="utf-8")
    except FileNotFoundError:
        suite_text = None
        warnings.append("suite.yaml is missing: the exact suite text cannot be shown.")
    except (OSError, UnicodeDecodeError) as exc:
        suite_text = None
        warnings.append(f"suite.yaml could not be read ({_err(exc)}).")
    trials = _read_trials(run_dir, warnings)
    history = _read_history(run_dir, warnings)

    protocol_ds = list(((manifest.get("protocol") or {}).get("datasets") or {}).keys())
    datasets = _ordered(protocol_ds, trials["dataset"])
    combos = _ordered(list((manifest.get("combos") or {}).keys()), trials["combo"])
    if not trials.empty:
        ds_rank = {d: i for i, d in enumerate(datasets)}
        co_rank = {c: i for i, c in enumerate(combos)}
        trials = (
            trials.assign(_d=trials["dataset"].map(ds_rank), _c=trials["combo"].map(co_rank))
            .sort_values(["_d", "_c", "seed"], kind="stable")
            .drop(columns=["_d", "_c"])
            .reset_index(drop=True)
        )
    hp_samples: dict[tuple[str, str, int, int], np.ndarray] = {}
    samples = _read_samples(run_dir, trials, warnings, hp_samples)
    # Error messages may quote absolute paths; a shared report names files relative to the run.
    for prefix in {str(run_dir.resolve()) + "/", str(run_dir) + "/"}:
        warnings[:] = [w.replace(prefix, "") for w in warnings]
    return RunData(run_dir, manifest, suite_text, trials, history, samples, warnings,
                   datasets, combos, hp_samples)


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Presentation helpers
# ---------------------------------------------------------------------------------------------


def _has_finite(frame: pd.DataFrame | None, col: str) -> bool:
    if frame is None or col not in frame.columns or frame.empty:
        return False
    vals = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
    return bool(np.isfinite(vals).any())


def _slug(text: str, i: int) -> str:
    s = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:40]
    return f"d{i}-{s}" if s else f"d{i}"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _text(value: Any) -> str:
    """Strings as they are, None as a dash, anything else as compact JSON."""
    if value is None:
        return "–"
    return value if isinstance(value, str) else _json(value)


def _seconds(x: Any) -> str:
    if not _finite(x):
        return "–"
    s = float(x)
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min ({s:.0f} s)"
    return f"{s / 3600:.2f} h ({s:.0f} s)"


def _dataset_kind(manifest: Mapping[str, Any], name: str, trials_ds: pd.DataFrame) -> str:
    spec = ((manifest.get("protocol") or {}).get("datasets") or {}).get(name) or {}
    kind = spec.get("kind") if isinstance(spec, dict) else None
    if kind:
        return str(kind)
    return "dirac" if _has_finite(trials_ds, "dist_final") else "toy2d"


def _centres(manifest: Mapping[str, Any], name: str) -> np.ndarray:
    spec = ((manifest.get("protocol") or {}).get("datasets") or {}).get(name) or {}
    try:
        c = np.asarray(spec.get("centres") or [], dtype=float) if isinstance(spec, dict) else []
        return np.asarray(c, dtype=float).reshape(-1, 2)
    except (TypeError, ValueError):
        return np.zeros((0, 2))


def _summary_table(
    summary_ds: pd.DataFrame,
    metrics: list[str],
    baseline: str | None,
    modes_total: float | None,
    verdicts: Mapping[str, str],
    statuses: Sequence[str],
) -> dict[str, Any]:
    headers = []
    for m in metrics:
        label = METRIC_LABELS.get(m, m)
        if m == "modes_covered" and modes_total:
            label += f" (of {format_number(modes_total)})"
        headers.append(label)
    rows = []
    for _, r in summary_ds.iterrows():
        cells = []
        for m in metrics:
            mean = r.get(f"{m}_mean")
            lo, hi = r.get(f"{m}_ci_lo"), r.get(f"{m}_ci_hi")
            cells.append({
                "mean": format_number(mean),
                "sort": repr(float(mean)) if _finite(mean) else "",
                "ci": f"[{format_number(lo)}, {format_number(hi)}]" if _finite(lo) else "",
                "title": (
                    f"median {format_number(r.get(f'{m}_median'))}, "
                    f"std {format_number(r.get(f'{m}_std'))}, "
                    f"n = {int(r.get(f'{m}_n', 0))} finite values"
                ),
            })
        rows.append({
            "combo": r["combo"],
            "is_baseline": r["combo"] == baseline,
            "n": int(r["n"]),
            "status_counts": [int(r.get(f"n_{s}", 0)) for s in statuses],
            "verdicts": verdicts.get(r["combo"], ""),
            "cells": cells,
        })
    return {"headers": headers, "rows": rows, "has_verdicts": bool(verdicts),
            "status_headers": [s.capitalize() for s in statuses]}


def _verdict_strings(rates_ds: pd.DataFrame | None) -> dict[str, str]:
    if rates_ds is None or rates_ds.empty:
        return {}
    out = {}
    for _, r in rates_ds.iterrows():
        parts = [
            f"{c[len('rate_'):]} {int(round(r[c] * r['n']))}/{int(r['n'])}"
            for c in rates_ds.columns if c.startswith("rate_") and _finite(r[c]) and r[c] > 0
        ]
        out[r["combo"]] = ", ".join(parts)
    return out


def _comparison_rows(comp_ds: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for _, r in comp_ds.iterrows():
        rows.append({
            "combo": r["combo"],
            "metric": METRIC_LABELS.get(r["metric"], r["metric"]),
            "mean": format_number(r["mean"]),
            "baseline_mean": format_number(r["baseline_mean"]),
            "diff": format_number(r["diff"]),
            "ci": _interval(r["diff_ci_lo"], r["diff_ci_hi"]),
            "median_diff": format_number(r.get("median_diff")),
            "delta": format_number(r.get("cliffs_delta")),
            "delta_ci": _interval(r.get("cliffs_delta_lo"), r.get("cliffs_delta_hi")),
            "p": format_number(r["p_value"]),
            "p_holm": format_number(r["p_holm"]),
            "n": f"{int(r['n'])} vs {int(r['n_baseline'])}",
            "diverged": f"{int(r.get('n_diverged', 0))} vs {int(r.get('n_diverged_baseline', 0))}",
            "significant": bool(r["significant"]),
            **{f"sort_{k}": repr(float(r[c])) if c in r and _finite(r[c]) else ""
               for k, c in (("mean", "mean"), ("baseline_mean", "baseline_mean"),
                            ("diff", "diff"), ("p", "p_value"), ("p_holm", "p_holm"),
                            ("median_diff", "median_diff"), ("delta", "cliffs_delta"))},
        })
    return rows


def _divergence_lines(div_ds: pd.DataFrame | None) -> list[str]:
    if div_ds is None or div_ds.empty:
        return []
    rows = div_ds[(div_ds["n_diverged"] > 0) | (div_ds["n_diverged_baseline"] > 0)]
    return [f"{r['combo']} {int(r['n_diverged'])}/{int(r['n'])} vs {int(r['n_diverged_baseline'])}/"
            f"{int(r['n_baseline'])}, Holm p = {format_number(r['p_holm'])}"
            for _, r in rows.iterrows()]


class _Figures:
    """Collects figures for the report; a figure that fails to draw becomes a warning."""

    def __init__(self, warnings: list[str]):
        self.warnings = warnings
        self.count = 0

    def make(self, fig_id: str, title: str, caption: str,
             draw: Callable[[], Any]) -> dict[str, str] | None:
        try:
            uri = plots.fig_to_data_uri(draw())
        except Exception as exc:  # noqa: BLE001 - one bad figure must not sink the report
            self.warnings.append(f"The figure '{title}' could not be drawn ({_err(exc)}).")
            return None
        self.count += 1
        return {"id": fig_id, "title": title, "caption": caption, "uri": uri}


def _dataset_context(
    run: RunData,
    name: str,
    index: int,
    summary: pd.DataFrame | None,
    comparisons: pd.DataFrame | None,
    figs: _Figures,
) -> dict[str, Any]:
    manifest = run.manifest
    baseline = manifest.get("baseline")
    trials_ds = run.trials[run.trials["dataset"] == name]
    combos = [c for c in run.combos if c in set(trials_ds["combo"])]
    colors = plots.combo_colors(run.combos)
    kind = _dataset_kind(manifest, name, trials_ds)
    centres = _centres(manifest, name)
    hist_ds = None
    if run.history is not None:
        hist_ds = run.history[run.history["dataset"] == name]
        if hist_ds.empty:
            hist_ds = None
    did = _slug(name, index)
    ctx: dict[str, Any] = {"name": name, "id": did, "kind": kind, "combos": combos}

    # Summary table and per-seed distributions.
    summary_ds = summary[summary["dataset"] == name] if summary is not None else None
    metrics: list[str] = []
    if summary_ds is not None and not summary_ds.empty:
        metrics = [m for m in DISPLAY_METRICS if f"{m}_mean" in summary_ds.columns
                   and summary_ds[f"{m}_mean"].map(_finite).any()]
        modes_total = None
        if _has_finite(trials_ds, "modes_total"):
            modes_total = float(pd.to_numeric(trials_ds["modes_total"]).max())
        elif len(centres):
            modes_total = float(len(centres))
        rates = run.results.rates if run.results is not None else None
        ctx["table"] = _summary_table(summary_ds, metrics, baseline, modes_total,
                                      _verdict_strings(rates[rates["dataset"] == name]
                                                       if rates is not None else None),
                                      status_values(run.trials)[1:])
    else:
        ctx["table"] = None
    dist_metrics = [m for m in _DISTRIBUTION_METRICS if m in metrics]
    ctx["distribution"] = None
    if dist_metrics:
        ctx["distribution"] = figs.make(
            f"fig-dist-{did}", f"{name}: per-seed results",
            "Each point is one seed (crosses: diverged or failed trials); bars are medians, grey "
            "boxes the interquartile range (with at least three finite values).",
            lambda: plots.distribution_figure(trials_ds, dist_metrics, combos, colors,
                                              METRIC_LABELS, title=f"{name}: per-seed results"),
        )

    # Comparisons with the baseline.
    ctx["comparisons"] = []
    if comparisons is not None and not comparisons.empty:
        ctx["comparisons"] = _comparison_rows(comparisons[comparisons["dataset"] == name])
        res = run.results
        ctx["design_note"] = diagnosis.design_note(res.design[res.design["dataset"] == name]
                                         if res is not None and res.design is not None else None)
        ctx["divergence"] = _divergence_lines(res.divergence[res.divergence["dataset"] == name]
                                              if res is not None and res.divergence is not None
                                              else None)

    # Final samples.
    per_combo = {
        c: {s: a for (d, cc, s), a in run.samples.items() if d == name and cc == c}
        for c in combos
    }
    ctx["samples"] = None
    if any(per_combo.values()):
        if kind == "dirac":
            caption = ("Final generated samples θ per combo, one colour per seed; the data is a "
                       "point mass at 0 (dashed line).")
        else:
            caption = ("Final generated samples, one panel per combo, one colour per seed; black "
                       "crosses mark the mode centres.")
        if kind == "image":
            shape = _image_shape(run.manifest, name)
            ctx["samples"] = figs.make(
                f"fig-samples-{did}", f"{name}: final samples",
                "Final generated images, one panel per combo, taken in turn from each seed.",
                lambda: plots.image_samples_figure(per_combo, shape, title=f"{name}: final samples"),
            ) if shape else None
        else:
            ctx["samples"] = figs.make(
                f"fig-samples-{did}", f"{name}: final samples", caption,
                lambda: plots.samples_figure(per_combo, centres, title=f"{name}: final samples"),
            )

    # Training curves.
    ctx["curves"] = []
    if hist_ds is not None:
        for cid, title, cols, log in _CURVES:
            cols_ok = [c for c in cols if _has_finite(hist_ds, c)]
            if not cols_ok:
                continue
            fig = _curves_fig(
                figs, f"fig-{cid}-{did}", f"{name}: {title}",
                "Median over seeds (line) and interquartile range (band), one colour per combo"
                + ("; log scale." if log else "."),
                hist_ds, cols_ok, combos, colors, log=log)
            if fig:
                ctx["curves"].append(fig)
        prefixes = [p for p in _LAYER_PREFIXES
                    if any(_has_finite(hist_ds, c) for c in hist_ds.columns
                           if c.startswith(p + "."))]
        if prefixes:
            fig = figs.make(
                f"fig-layers-{did}", f"{name}: per-layer gradient norms",
                "Median over seeds of each layer's gradient norm; rows: networks, columns: "
                "combos; log scale.",
                lambda: plots.layer_norms_figure(hist_ds, prefixes, combos,
                                                 title=f"{name}: per-layer gradient norms"),
            )
            if fig:
                ctx["curves"].append(fig)

    # Dirac dynamics.
    ctx["dirac"] = []
    if kind == "dirac" and hist_ds is not None:
        if _has_finite(hist_ds, "theta") and _has_finite(hist_ds, "psi"):
            fig = figs.make(
                f"fig-phase-{did}", f"{name}: phase portraits (θ, ψ)",
                "Trajectory of (θ, ψ) per seed: circle = start, square = end, black cross = the "
                "equilibrium (0, 0).",
                lambda: plots.phase_portrait(hist_ds, combos, title=f"{name}: phase portraits"),
            )
            if fig:
                ctx["dirac"].append(fig)
        if _has_finite(hist_ds, "dist"):
            fig = _curves_fig(
                figs, f"fig-eqdist-{did}", f"{name}: distance to equilibrium",
                "√(θ² + ψ²) over training: median over seeds and interquartile band; log scale.",
                hist_ds, ["dist"], combos, colors, log=True)
            if fig:
                ctx["dirac"].append(fig)
    ctx["images"] = _image_figures(run, name, did, kind, combos, colors, hist_ds, figs)
    ctx["evolution"] = evolution.dataset_evolution(
        run.run_dir, name, did, kind, combos, centres, _image_shape(manifest, name), hist_ds,
        figs, run.warnings)
    return ctx


# ---------------------------------------------------------------------------------------------
# Image datasets (kind "image"): sample grids at checkpoints, FID and modes over time, and the
# mode histogram. Additive: nothing here runs for toy or Dirac datasets.
# ---------------------------------------------------------------------------------------------

#: Most checkpoints shown per combo in the sample-grid figure (evenly spread, last included).
MAX_GRID_CHECKPOINTS = 6


def _image_shape(manifest: Mapping[str, Any], name: str) -> tuple[int, int, int] | None:
    spec = ((manifest.get("protocol") or {}).get("datasets") or {}).get(name) or {}
    try:
        c, h, w = (int(v) for v in spec.get("shape"))
        return c, h, w
    except (TypeError, ValueError):
        return None


def _checkpoint_grids(hist_ds: pd.DataFrame, combos: Sequence[str],
                      shape: tuple[int, int, int]) -> dict[str, list[tuple[int, np.ndarray]]]:
    """combo → [(step, uint8 images)] of the lowest seed, at up to MAX_GRID_CHECKPOINTS steps
    (evenly spaced over :func:`evolution.image_grids`, the grids the players show)."""
    out: dict[str, list[tuple[int, np.ndarray]]] = {}
    for combo in combos:
        grids = evolution.image_grids(hist_ds, combo, shape)
        if grids:
            out[combo] = [grids[i] for i in plots.even_indices(len(grids), MAX_GRID_CHECKPOINTS)]
    return out


def _curves_fig(figs: "_Figures", fig_id: str, title: str, caption: str, hist_ds: pd.DataFrame,
                cols: Sequence[str], combos: Sequence[str], colors: Mapping[str, Any], *,
                log: bool = False, labels: Mapping[str, str] = METRIC_LABELS,
                plot_title: str | None = None):
    """One training-curve figure (median over seeds, interquartile band, a colour per combo)
    of ``cols``; ``None`` when it cannot be drawn. ``plot_title`` defaults to ``title``."""
    return figs.make(fig_id, title, caption,
                     lambda: plots.curves_figure(hist_ds, list(cols), log=log, combos=combos, colors=colors,
                                                 labels=labels, title=plot_title or title))


def _final_mode_hists(hist_ds: pd.DataFrame, combos: Sequence[str]) -> dict[str, dict[int, np.ndarray]]:
    """combo → {seed → mode histogram at the seed's last evaluation}."""
    out: dict[str, dict[int, np.ndarray]] = {}
    sub = hist_ds[hist_ds["mode_hist"].map(lambda h: h is not None and np.size(h) > 1)]
    for (combo, seed), g in sub.groupby(["combo", "seed"], sort=False):
        if combo in combos:
            last = g.sort_values("step").iloc[-1]["mode_hist"]
            out.setdefault(combo, {})[int(seed)] = np.asarray(list(last), dtype=float)
    return {c: out[c] for c in combos if c in out}


def _image_figures(run: RunData, name: str, did: str, kind: str, combos: Sequence[str],
                   colors: Mapping[str, Any], hist_ds: pd.DataFrame | None, figs: "_Figures") -> list:
    if kind != "image" or hist_ds is None:
        return []
    shape = _image_shape(run.manifest, name)
    out = []
    if shape and "sample_grid" in hist_ds.columns:
        grids = _checkpoint_grids(hist_ds, combos, shape)
        if grids:
            out.append(figs.make(
                f"fig-grids-{did}", f"{name}: samples at checkpoints",
                "Generated images of the lowest seed at evaluation steps (rows: combos); each "
                "checkpoint draws fresh noise.",
                lambda: plots.checkpoint_grids_figure(grids, shape, title=f"{name}: samples at checkpoints")))
    fid_cols = [c for c in ("fid", "kid_mean", "precision", "recall") if _has_finite(hist_ds, c)]
    if fid_cols:
        out.append(_curves_fig(
            figs, f"fig-fid-{did}", f"{name}: FID, KID and precision/recall over training",
            "torch-fidelity metrics at checkpoints (extractor and sample counts in the Protocol "
            "section): median over seeds and interquartile band.",
            hist_ds, fid_cols, combos, colors, plot_title=f"{name}: FID over training"))
    mode_cols = [c for c in ("modes_covered", "reverse_kl") if _has_finite(hist_ds, c)]
    if mode_cols:
        total = None
        if _has_finite(run.trials, "modes_total"):
            sub = run.trials[run.trials["dataset"] == name]
            vals = pd.to_numeric(sub.get("modes_total"), errors="coerce").dropna()
            total = int(vals.max()) if len(vals) else None
        labels = dict(METRIC_LABELS)
        if total:
            labels["modes_covered"] = f"{METRIC_LABELS.get('modes_covered', 'modes covered')} (of {total})"
        out.append(_curves_fig(
            figs, f"fig-modes-{did}", f"{name}: modes over training",
            "Modes covered by the generated samples (digit classifier, each channel classified) "
            "and KL(p_gen ‖ uniform): median over seeds and interquartile band.",
            hist_ds, mode_cols, combos, colors, labels=labels))
        if "mode_hist" in hist_ds.columns:
            hists = _final_mode_hists(hist_ds, combos)
            k = total or max((len(h) for per in hists.values() for h in per.values()), default=0)
            if hists and k:
                out.append(figs.make(
                    f"fig-modehist-{did}", f"{name}: mode histogram",
                    "Share of generated samples per mode at the last evaluation, modes ranked by "
                    "frequency (log-log), one line per seed; dashed: the uniform share of the data. "
                    "A collapsed generator puts its mass on a few modes.",
                    lambda: plots.mode_histogram_figure(hists, k, title=f"{name}: mode histogram")))
    return [f for f in out if f]


def _problem_rows(trials: pd.DataFrame) -> list[dict[str, str]]:
    if trials.empty:
        return []
    bad = trials[trials["status"] != "ok"]
    rows = []
    for _, r in bad.iterrows():
        err = str(r.get("error", "") or "")
        rows.append({
            "dataset": r["dataset"], "combo": r["combo"], "seed": str(r["seed"]),
            "status": r["status"],
            "diverged_step": format_number(r.get("diverged_step"), ""),
            "error": err if len(err) <= 500 else err[:500] + " …",
        })
    return rows


def _protocol_context(manifest: Mapping[str, Any],
                      statistics: Mapping[str, Any] | None = None) -> dict[str, Any]:
    protocol = manifest.get("protocol") or {}
    datasets = []
    for name, spec in (protocol.get("datasets") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        centres = spec.get("centres") or []
        extra = {k: v for k, v in spec.items()
                 if k not in ("kind", "centres", "std", "params", "dim", "modes")}
        datasets.append({
            "name": name,
            "kind": spec.get("kind", ""),
            "modes": str(len(centres)) if centres else (str(spec["modes"]) if spec.get("modes") else "–"),
            "std": format_number(spec.get("std")),
            "params": _json(spec.get("params", {})),
            "extra": "; ".join(f"{k}: {_text(v)}" for k, v in extra.items()),
        })
    combos = []
    for name, spec in (manifest.get("combos") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        extra = {k: v for k, v in spec.items() if k not in ("loss", "update", "n_critic", "remedies")}
        combos.append({
            "name": name,
            "is_baseline": name == manifest.get("baseline"),
            "loss": str(spec.get("loss", "")),
            "update_rule": str(spec.get("update", "")),  # not "update": a dict method
            "n_critic": str(spec.get("n_critic", "")),
            "remedies": _json(spec.get("remedies") or {}),
            "extra": _json(extra) if extra else "",
        })
    coverage = protocol.get("coverage") or {}
    # the statistics the results stage used (an older manifest may also have recorded some)
    statistics = statistics or protocol.get("statistics")
    if not isinstance(statistics, Mapping):
        statistics = {}
    known = ("datasets", "coverage", "frechet", "statistics", "images")
    images = protocol.get("images") if isinstance(protocol.get("images"), dict) else {}
    image_rows = [(k, _text(v)) for k, v in images.items() if k != "fidelity"]
    fidelity_rows = [
        {"dataset": ds, **{k: _text(v) for k, v in (f if isinstance(f, dict) else {}).items()}}
        for ds, f in (images.get("fidelity") or {}).items()
    ]
    return {
        "images": image_rows,
        "fidelity": fidelity_rows,
        "datasets": datasets,
        "combos": combos,
        "coverage": [(k, _text(v)) for k, v in coverage.items()],
        "frechet": _text(protocol.get("frechet", "")),
        "budget": [(k, _text(v)) for k, v in (manifest.get("budget") or {}).items()],
        "stats": [(k, _text(v)) for k, v in statistics.items()],
        "other": [(k, _text(v)) for k, v in protocol.items() if k not in known],
    }


def _repro_context(run: RunData) -> dict[str, Any]:
    m = run.manifest
    machine = m.get("machine") or {}
    machine_rows = [
        (k, (", ".join(map(str, v)) or "none") if isinstance(v, list) else _text(v))
        for k, v in machine.items()
    ] if isinstance(machine, dict) else [("machine", str(machine))]
    trial_wall = None
    if "wall_s" in run.trials.columns and _has_finite(run.trials, "wall_s"):
        trial_wall = float(pd.to_numeric(run.trials["wall_s"], errors="coerce").sum())
    overrides = m.get("overrides") or {}
    return {
        "command": str(m.get("command", "") or "–"),
        "suite_name": str(m.get("suite_name", "") or "–"),
        "sha256": str(m.get("suite_sha256", "") or "–"),
        "ganbench_version": str(m.get("ganbench_version", "") or "–"),
        "git_commit": str(m.get("git_commit") or "not recorded"),
        "seeds": ", ".join(map(str, m.get("seeds") or [])) or "–",
        "overrides": _json(overrides) if overrides else "none",
        "status": str(m.get("status", "") or "–"),
        "versions": [(k, _text(v)) for k, v in (m.get("versions") or {}).items()],
        "settings": [(k, _text(m[k])) for k in ("resources", "device") if k in m],
        "machine": machine_rows,
        "timings": [
            ("started (UTC)", str(m.get("started_utc", "") or "–")),
            ("finished (UTC)", str(m.get("finished_utc", "") or "–")),
            ("wall time of the run", _seconds(m.get("wall_s"))),
            ("sum of per-seed wall times", _seconds(trial_wall)),
        ] + ([("training wall time (all trials)", _seconds(m["train_wall_s"]))]
             if _finite(m.get("train_wall_s")) else []),
    }


# ---------------------------------------------------------------------------------------------
# Diagnosis sections: Overview, failure modes, Sensitivity, Methods — built by
# ganbench.report.diagnosis, rendered by templates/_overview, _failures, _sensitivity, _methods.
# ---------------------------------------------------------------------------------------------


def _toc_insert(toc: list, after: str | None, before: str | None, entry: tuple) -> None:
    """Insert ``entry`` after the anchor ``after`` (or before ``before``; else at the end)."""
    anchors = [t[0] for t in toc]
    if after is not None and after in anchors:
        toc.insert(anchors.index(after) + 1, entry)
    elif before is not None and before in anchors:
        toc.insert(anchors.index(before), entry)
    else:
        toc.append(entry)


def _diagnosis_context(run: RunData, comparisons: pd.DataFrame | None,
                       datasets: list[dict[str, Any]], figs: "_Figures", notes: list[str],
                       toc: list) -> dict[str, Any]:
    """Template context of the diagnosis sections; extends ``toc`` in place."""
    manifest = run.manifest
    trials = run.trials
    kinds = {d["name"]: d["kind"] for d in datasets}
    ids = {d["name"]: d["id"] for d in datasets}
    statistics = ((run.results.meta or {}).get("statistics") if run.results is not None else None) \
        or (manifest.get("protocol") or {}).get("statistics")
    out: dict[str, Any] = {"sort_script": Markup(diagnosis.SORT_SCRIPT),
                           "script_hash": Markup(diagnosis.script_csp_hash()),
                           "timing_rows": diagnosis.timing_rows(trials) if len(trials) else []}

    def guarded(what: str, fn: Callable[[], Any], default: Any) -> Any:
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - one bad section must not sink the report
            run.warnings.append(f"The {what} could not be built ({_err(exc)}).")
            return default

    out["overview"] = guarded("overview", lambda: diagnosis.overview_context(
        trials, comparisons, run.datasets, run.combos, kinds, ids, manifest.get("baseline"),
        statistics if isinstance(statistics, Mapping) else None, notes,
        run.results.design if run.results is not None else None),
        {"matrix": None, "headlines": [], "evidence": [], "sweep": False, "alpha": "0.05",
         "notes": list(notes)})
    related = {
        d["name"]: [(f["id"], f["title"]) for key in ("distribution", "samples", "curves", "dirac",
                                                       "images")
                    for f in (d.get(key) if isinstance(d.get(key), list) else [d.get(key)])
                    if isinstance(f, dict) and f.get("id")]
        for d in datasets
    }
    out["failures"] = guarded("failure-mode sections", lambda: diagnosis.failure_sections(
        trials, run.history, run.samples, run.hp_samples, manifest, run.datasets, run.combos,
        kinds, ids, lambda name: _centres(manifest, name), related, figs.make), [])
    res = run.results
    sens = guarded("sensitivity section", lambda: diagnosis.sensitivity_context(
        res.sensitivity_samples, res.sensitivity, (res.meta or {}).get("log_axes") or {},
        run.combos, kinds, ids, figs.make, run.hp_samples,
        lambda name: _centres(manifest, name)), None) if res is not None else None
    out["sensitivity"] = sens
    out["methods"] = guarded("methods section", lambda: diagnosis.methods_context(
        manifest, trials, kinds,
        (run.results.meta or {}).get("statistics") if run.results is not None else None), None)

    ov = out["overview"]
    if ov["matrix"] or ov["headlines"] or ov["evidence"]:
        children = [(a, label) for a, label, ok in (
            ("verdict-matrix", "Verdicts", ov["matrix"]),
            ("headlines", "Headline findings", ov["headlines"]),
            ("evidence", "Evidence per run", ov["evidence"])) if ok]
        toc.insert(0, ("overview", "Overview", children))
    after = "summary"
    for f in out["failures"]:
        entry = (f["id"], f"Failure mode: {f['title']}",
                 [(d["id"], d["dataset"]) for d in f["datasets"]])
        _toc_insert(toc, after, None, entry)
        after = f["id"]
    if sens:
        _toc_insert(toc, "comparisons" if any(t[0] == "comparisons" for t in toc) else after, None,
                    ("sensitivity", "Sensitivity", [(d["id"], d["dataset"]) for d in sens["datasets"]]))
    if out["methods"] is not None:
        _toc_insert(toc, None, "protocol", ("methods", "Methods", [
            (a, label) for a, label in (("methods-coverage", "Coverage"),
                                        ("methods-dynamics", "Dynamics"),
                                        ("methods-verdicts", "Verdicts"),
                                        ("methods-statistics", "Statistics"))
            if a != "methods-coverage" or out["methods"]["coverage"]]))
    return out


def render_html(context: Mapping[str, Any]) -> str:
    """Render ``templates/report.html.j2`` with autoescaping on.

    Args:
        context: Template variables (see :func:`build_report`).

    Returns:
        The HTML text.
    """
    return render_template("report.html.j2", context)


def render_template(name: str, context: Mapping[str, Any]) -> str:
    """``templates/<name>`` rendered with autoescape on (every value escaped unless marked
    safe) and undefined variables an error."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template(name).render(**context)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _description_parts(text: str) -> dict[str, str]:
    """The suite description's first sentence (``description_lead``, shown) and the rest
    (``description_rest``, folded; empty for a one-sentence description). A sentence ends
    at ". " before a capital letter, not after "et al." or "e.g."."""
    parts = re.split(r"(?<!\bal)(?<!\be\.g)(?<!\bi\.e)\.\s+(?=[A-Z])", text.strip(), maxsplit=1)
    if len(parts) < 2:
        return {"description_lead": text.strip(), "description_rest": ""}
    return {"description_lead": parts[0] + ".", "description_rest": parts[1]}


def build_report(run_dir: str | Path) -> Path:
    """Render ``report.html``, ``summary.tex`` and ``citation.bib`` of a run folder from that
    folder alone, computing nothing.

    Reads ``manifest.json``, ``suite.yaml``, ``trials.parquet`` (falling back to ``trials.csv``),
    ``history.parquet`` (training curves), ``samples/*.npy`` and the results stage's tables
    (:func:`ganbench.results.stage.load_results`: summary, comparisons, divergence, verdict
    rates, design, sensitivity). Missing or unreadable optional files become warnings shown at
    the top of the report.

    Raises:
        FileNotFoundError: when the folder holds no results (``results.json``); compute them
            first (:func:`ganbench.pipeline.report_run` does both).

    Args:
        run_dir: The run folder.

    Returns:
        Path of ``report.html``.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"not a run folder: {run_dir}")
    run = load_run(run_dir)
    manifest = run.manifest
    warnings = run.warnings
    notes: list[str] = []
    res = load_results(run_dir, run.trials)
    if res is None:
        raise FileNotFoundError(f"{run_dir} has no results.json: compute the results stage first "
                                "(ganbench report RUN_DIR does both)")
    run.trials = res.trials
    warnings.extend(w for w in res.warnings if w not in warnings)
    summary, comparisons = res.summary, res.comparisons
    run.results = res
    export.write_exports(run_dir, summary, manifest,
                         (res.reproduction_values, res.reproduction_claims))

    figs = _Figures(warnings)
    datasets = [
        _dataset_context(run, name, i, summary, comparisons, figs)
        for i, name in enumerate(run.datasets)
    ]
    suite_name = str(manifest.get("suite_name") or run_dir.name)
    baseline = manifest.get("baseline")
    toc = [("summary", "Summary", [(f"summary-{d['id']}", d["name"]) for d in datasets])]
    if any(d["comparisons"] for d in datasets):
        toc.append(("comparisons", "Comparison with the baseline", []))
    if any(d["samples"] for d in datasets):
        toc.append(("samples", "Final samples",
                    [(f"samples-{d['id']}", d["name"]) for d in datasets if d["samples"]]))
    if any(d["evolution"] for d in datasets):
        toc.append(("evolution", "Training evolution",
                    [(f"evolution-{d['id']}", d["name"]) for d in datasets if d["evolution"]]))
    if any(d["curves"] for d in datasets):
        toc.append(("curves", "Training curves",
                    [(f"curves-{d['id']}", d["name"]) for d in datasets if d["curves"]]))
    if any(d["dirac"] for d in datasets):
        toc.append(("dirac", "Dirac-GAN dynamics",
                    [(f"dirac-{d['id']}", d["name"]) for d in datasets if d["dirac"]]))
    if any(d.get("images") for d in datasets):
        toc.append(("images", "Image datasets",
                    [(f"images-{d['id']}", d["name"]) for d in datasets if d.get("images")]))
    toc += [("protocol", "Protocol", []), ("suite", "Suite", []),
            ("reproducibility", "Reproducibility", []), ("cite", "Cite this report", [])]
    extra = _diagnosis_context(run, comparisons, datasets, figs, notes, toc)
    try:
        extra["reproduction"] = reproduction_context(
            manifest, res.reproduction_values, res.reproduction_claims, res.reproduction_protocol,
            (res.meta or {}).get("claim_rules"))
    except Exception as exc:  # noqa: BLE001 - one bad section must not sink the report
        warnings.append(f"The reproduction section could not be built ({_err(exc)}).")
        extra["reproduction"] = None
    if extra["reproduction"]:
        children = [("reproduction-claims", "Claims")]
        if extra["reproduction"]["values"]:
            children.append(("reproduction-values", "Published against measured"))
        children.append(("reproduction-protocol", "Protocol"))
        _toc_insert(toc, "overview", "summary", ("reproduction", "Reproduction", children))
        for entry in toc:
            if entry[0] == "methods":
                entry[2].append(("methods-claims", "Reproduction claims"))

    context = {
        "title": f"ganbench report: {suite_name}",
        "suite_name": suite_name,
        "description": str(manifest.get("description") or ""),
        **_description_parts(str(manifest.get("description") or "")),
        "status": str(manifest.get("status") or "unknown"),
        "partial": manifest.get("status") == "partial",
        "n_not_run": int((run.trials["status"] == "missing").sum()) if len(run.trials) else 0,
        "finished": str(manifest.get("finished_utc") or manifest.get("started_utc") or ""),
        "ganbench_version": str(manifest.get("ganbench_version") or ""),
        "baseline": str(baseline) if baseline else "",
        "n_trials": int(len(run.trials)),
        "n_seeds": len(manifest.get("seeds") or []) or int(run.trials["seed"].nunique()),
        "warnings": list(warnings),
        "toc": toc,
        "datasets": datasets,
        "problems": _problem_rows(run.trials),
        "protocol": _protocol_context(manifest, (res.meta or {}).get("statistics")),
        "suite_text": run.suite_text,
        "repro": _repro_context(run),
        "bibtex": export.citation_bib(manifest),
        **extra,
        "n_figures": figs.count,
    }
    html = render_html(context)
    return write_text(run_dir / "report.html", html)

