"""Figures of the report's diagnosis sections: failure modes and hyperparameter sensitivity.

Like :mod:`ganbench.report.plots` (whose canvas, style and colours these reuse), every function
is pure: plain data in, a :class:`matplotlib.figure.Figure` on the Agg canvas out.

* :func:`run_traces_figure` — per-run curves of chosen history columns (one line per
  dataset × combo × hyperparameter sample × seed), runs that received the verdict drawn solid,
  the others faint, with the verdict's threshold as a dashed line.
* :func:`mode_mass_figure` — the mass of high-quality samples per mode at several checkpoints
  as small multiples: a disc at each mode centre with area proportional to its share (the run
  folder keeps generated toy samples only at the end; the per-evaluation mode histogram is what
  training stores).
* :func:`sensitivity_figure` — the final metric over hyperparameter samples per combo, as a box
  plot with every sample drawn (Lucic et al. 2018).
* :func:`hp_scatter_figure` — the final metric against each swept hyperparameter.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ganbench.report.plots import MAX_WIDTH_IN, _RC, _label, _no_data, combo_colors, new_figure

__all__ = [
    "RunKey",
    "run_traces_figure",
    "mode_mass_figure",
    "sensitivity_figure",
    "hp_scatter_figure",
]

#: (combo, hp_id or None, seed): one training run of one dataset.
RunKey = tuple[str, object, int]


def _run_label(key: RunKey) -> str:
    combo, hp, seed = key
    return f"{combo} · hp {hp} · seed {seed}" if hp is not None else f"{combo} · seed {seed}"


def _runs(history: pd.DataFrame) -> list[tuple[RunKey, pd.DataFrame]]:
    keys = ["combo"] + (["hp_id"] if "hp_id" in history.columns else []) + ["seed"]
    out = []
    for k, g in history.groupby(keys, sort=False, dropna=False):
        k = k if isinstance(k, tuple) else (k,)
        combo, seed = str(k[0]), int(k[-1])
        hp = None
        if len(k) == 3 and k[1] is not None and not (isinstance(k[1], float) and math.isnan(k[1])):
            hp = int(k[1])
        out.append(((combo, hp, seed), g.sort_values("step")))
    return out


def run_traces_figure(
    history: pd.DataFrame,
    panels: Sequence[tuple[str, bool, str, float | None]],
    flagged: set[RunKey],
    combos: Sequence[str],
    colors: Mapping[str, tuple] | None = None,
    title: str | None = None,
    flag_label: str = "verdict",
) -> Figure:
    """Per-run curves, one panel per column.

    Args:
        history: One dataset's history (``combo``, ``seed``, ``step``, optionally ``hp_id``).
        panels: ``(column, log_y, panel title, threshold or None)`` per panel.
        flagged: Runs that received the verdict: drawn solid and thick; other runs faint.
        combos: Combos to draw, in order (others are skipped).
        colors: combo → colour (default :func:`ganbench.report.plots.combo_colors`).
        title: Figure title.
        flag_label: What the solid lines mean, for the legend.

    Returns:
        The figure.
    """
    colors = dict(colors) if colors is not None else combo_colors(list(combos))
    sub = history[history["combo"].isin(list(combos))]
    runs = _runs(sub)
    fig, axes = new_figure(len(panels), ncols=min(3, len(panels)),
                           panel=(5.0, 2.8) if len(panels) == 1 else (3.3, 2.4))
    with matplotlib.rc_context(_RC):
        for ax, (col, log, label, threshold) in zip(axes, panels):
            drawn = False
            for key, g in runs:
                if col not in g.columns:
                    continue
                y = pd.to_numeric(g[col], errors="coerce").to_numpy(dtype=float)
                x = g["step"].to_numpy(dtype=float)
                ok = np.isfinite(y) & ((y > 0) if log else True)
                if ok.sum() == 0:
                    continue
                hit = key in flagged
                ax.plot(x[ok], y[ok], color=colors.get(key[0]), alpha=0.9 if hit else 0.3,
                        linewidth=1.2 if hit else 0.7, linestyle="-" if hit else "--",
                        marker="o" if ok.sum() <= 12 else None, markersize=2)
                drawn = True
            if threshold is not None and math.isfinite(threshold) and (not log or threshold > 0):
                ax.axhline(threshold, color="black", linestyle=":", linewidth=0.9)
            if drawn:
                if log:
                    ax.set_yscale("log")
            else:
                _no_data(ax)
            ax.set_title(_label(label))
            ax.set_xlabel("step")
        handles = [Line2D([], [], color=colors.get(c), linewidth=1.2, label=_label(c))
                   for c in combos if any(k[0] == c for k, _ in runs)]
        handles += [Line2D([], [], color="0.3", linewidth=1.2, label=f"run with {flag_label}"),
                    Line2D([], [], color="0.3", linewidth=0.7, linestyle="--", alpha=0.5,
                           label="other runs"),
                    Line2D([], [], color="black", linestyle=":", linewidth=0.9, label="threshold")]
        fig.legend(handles=handles, loc="outside right upper", frameon=False)
        if title:
            fig.suptitle(_label(title), fontsize=9)
    return fig


def mode_mass_figure(
    checkpoints: Mapping[str, Sequence[tuple[int, np.ndarray]]],
    centres: np.ndarray,
    title: str | None = None,
) -> Figure:
    """Mass per mode at checkpoints: rows = runs, columns = evaluation steps.

    Each panel marks every mode centre with a cross and draws a disc on it whose area is
    proportional to the share of high-quality samples on that mode (a uniform share 1/K gives a
    medium disc); the panel title gives the step and how many high-quality samples there were.

    Args:
        checkpoints: row label → [(step, histogram [K])] in step order.
        centres: Mode centres [K, 2].
        title: Figure title.

    Returns:
        The figure.
    """
    rows = list(checkpoints)
    ncols = max([len(v) for v in checkpoints.values()] + [1])
    fig, axes = new_figure(max(1, len(rows)) * ncols, ncols=ncols,
                           panel=(max(1.35, 4.0 / ncols), 1.45))
    c = np.asarray(centres, dtype=float).reshape(-1, 2)
    k = max(len(c), 1)
    if len(c):
        lo, hi = c.min(axis=0), c.max(axis=0)
        pad = 0.25 * max(float((hi - lo).max()), 1.0)
        lo, hi = lo - pad, hi + pad
    with matplotlib.rc_context(_RC):
        for r, row in enumerate(rows):
            cells = list(checkpoints[row])
            for j in range(ncols):
                ax = axes[r * ncols + j]
                ax.set_xticks([])
                ax.set_yticks([])
                if j >= len(cells) or not len(c):
                    for sp in ax.spines.values():
                        sp.set_visible(False)
                    continue
                step, hist = cells[j]
                h = np.asarray(hist, dtype=float).ravel()
                total = float(np.nansum(h)) if h.size else 0.0
                ax.scatter(c[:, 0], c[:, 1], marker="x", color="0.55", s=10, linewidths=0.6)
                if total > 0 and h.size == len(c):
                    share = h / total
                    ax.scatter(c[:, 0], c[:, 1], s=share * k * 45, color="#2f5d9e", alpha=0.65,
                               linewidths=0)
                else:
                    ax.text(0.5, 0.5, "no HQ\nsamples", ha="center", va="center",
                            transform=ax.transAxes, color="0.45", fontsize=6)
                ax.set_xlim(lo[0], hi[0])
                ax.set_ylim(lo[1], hi[1])
                ax.set_aspect("equal", adjustable="box")
                ax.set_title(f"step {step} · {int(total)} HQ", fontsize=6)
                if j == 0:
                    ax.set_ylabel(_label(row), fontsize=6)
        if title:
            fig.suptitle(_label(title), fontsize=9)
    return fig


def sensitivity_figure(
    values: Mapping[str, np.ndarray],
    healthy: Mapping[str, np.ndarray],
    label: str,
    colors: Mapping[str, tuple] | None = None,
    title: str | None = None,
) -> Figure:
    """Distribution of the final metric over hyperparameter samples: one box per combo.

    Args:
        values: combo → metric per hyperparameter sample (mean over seeds; NaN allowed).
        healthy: combo → bool per sample (every seed of the sample judged healthy): filled
            circles; other samples are drawn as crosses.
        label: Metric name for the y axis.
        colors: combo → colour.
        title: Figure title.

    Returns:
        The figure.
    """
    combos = list(values)
    colors = dict(colors) if colors is not None else combo_colors(combos)
    fig, (ax,) = new_figure(1, panel=(min(MAX_WIDTH_IN, max(4.5, 1.0 * len(combos) + 1.5)), 3.2))
    rng = np.random.default_rng(0)
    with matplotlib.rc_context(_RC):
        data, pos = [], []
        for i, combo in enumerate(combos):
            v = np.asarray(values[combo], dtype=float)
            fin = np.isfinite(v)
            if fin.any():
                data.append(v[fin])
                pos.append(i)
        if data:
            ax.boxplot(data, positions=pos, widths=0.5, showfliers=False,
                       medianprops={"color": "black"}, boxprops={"color": "0.5"},
                       whiskerprops={"color": "0.5"}, capprops={"color": "0.5"})
        for i, combo in enumerate(combos):
            v = np.asarray(values[combo], dtype=float)
            h = np.asarray(healthy.get(combo, np.zeros(len(v), bool)), dtype=bool)
            x = i + rng.uniform(-0.18, 0.18, size=len(v))
            fin = np.isfinite(v)
            col = colors.get(combo)
            ax.scatter(x[fin & h], v[fin & h], s=16, color=col, alpha=0.85, linewidths=0, zorder=3)
            ax.scatter(x[fin & ~h], v[fin & ~h], s=18, color=col, marker="x", linewidths=1.0,
                       zorder=3)
        if not data:
            _no_data(ax)
        ax.set_xticks(range(len(combos)), [_label(c) for c in combos], rotation=20, ha="right")
        ax.set_xlim(-0.6, len(combos) - 0.4)
        ax.set_ylabel(_label(label))
        handles = [Line2D([], [], marker="o", linestyle="none", color="0.3", markersize=4,
                          label="healthy (all seeds)"),
                   Line2D([], [], marker="x", linestyle="none", color="0.3", markersize=4,
                          label="any other verdict")]
        fig.legend(handles=handles, loc="outside lower center", ncols=2, frameon=False)
        if title:
            fig.suptitle(_label(title), fontsize=9)
    return fig


def hp_scatter_figure(
    frame: pd.DataFrame,
    metric: str,
    hp_cols: Sequence[str],
    log_x: Mapping[str, bool],
    combos: Sequence[str],
    label: str,
    colors: Mapping[str, tuple] | None = None,
    title: str | None = None,
) -> Figure:
    """The final metric against each swept hyperparameter: one panel per hyperparameter.

    Args:
        frame: One row per combo × hyperparameter sample with ``combo``, ``metric``,
            ``healthy`` (bool) and the ``hp.<path>`` columns; NaN where a path did not apply.
        metric: The metric column.
        hp_cols: The hyperparameter columns, one panel each.
        log_x: column → log-scale x axis.
        combos: Combos in display order.
        label: Metric name for the y axis.
        colors: combo → colour.
        title: Figure title.

    Returns:
        The figure.
    """
    colors = dict(colors) if colors is not None else combo_colors(list(combos))
    fig, axes = new_figure(len(hp_cols), ncols=min(3, len(hp_cols)), panel=(2.9, 2.4),
                           sharey=True)
    with matplotlib.rc_context(_RC):
        for ax, col in zip(axes, hp_cols):
            raw = frame[col]
            numeric = pd.to_numeric(raw, errors="coerce")
            categorical = bool(raw.notna().any()) and numeric[raw.notna()].isna().any()
            cats: list[str] = []
            if categorical:
                cats = sorted({str(v) for v in raw.dropna()})
                x_all = raw.map(lambda v: cats.index(str(v)) if pd.notna(v) else np.nan)
                x_all = pd.to_numeric(x_all, errors="coerce").to_numpy(dtype=float)
            else:
                x_all = numeric.to_numpy(dtype=float)
            y_all = pd.to_numeric(frame[metric], errors="coerce").to_numpy(dtype=float)
            healthy = frame["healthy"].to_numpy(dtype=bool) if "healthy" in frame else np.ones(len(frame), bool)
            log = bool(log_x.get(col)) and not categorical
            drawn = False
            for combo in combos:
                sel = (frame["combo"] == combo).to_numpy()
                ok = sel & np.isfinite(x_all) & np.isfinite(y_all)
                if log:
                    ok &= x_all > 0
                if not ok.any():
                    continue
                col_c = colors.get(combo)
                h = ok & healthy
                u = ok & ~healthy
                ax.scatter(x_all[h], y_all[h], s=14, color=col_c, alpha=0.85, linewidths=0,
                           label=_label(combo))
                ax.scatter(x_all[u], y_all[u], s=16, color=col_c, marker="x", linewidths=0.9,
                           label=None if h.any() else _label(combo))
                drawn = True
            if not drawn:
                _no_data(ax, "not swept here")
            elif log:
                ax.set_xscale("log")
            if categorical:
                ax.set_xticks(range(len(cats)), [_label(c) for c in cats])
            ax.set_title(_label(col[3:] if col.startswith("hp.") else col))
            ax.set_xlabel(_label(col[3:] if col.startswith("hp.") else col) + (" (log)" if log else ""))
        axes[0].set_ylabel(_label(label))
        handles = [Line2D([], [], marker="o", linestyle="none", color=colors.get(c), markersize=4,
                          label=_label(c)) for c in combos]
        handles += [Line2D([], [], marker="x", linestyle="none", color="0.3", markersize=4,
                           label="not healthy")]
        fig.legend(handles=handles, loc="outside right upper", frameon=False)
        if title:
            fig.suptitle(_label(title), fontsize=9)
    return fig
