"""Figures for the report: pure functions from run data to matplotlib figures, and PNG data URIs.

Every function here takes plain data (pandas frames, NumPy arrays, dicts) and returns a
:class:`matplotlib.figure.Figure` drawn on the Agg canvas; none touches the file system or
pyplot's global figure registry. :func:`fig_to_data_uri` turns a figure into a base64 PNG
``data:`` URI for embedding in the self-contained HTML report, and closes the figure.

Figures are small (about 2.5 inches per panel at :data:`DPI` dots per inch) so that a report with
dozens of them stays fast to build and light to load.
"""

from __future__ import annotations

import base64
import io
import math
import os
import sys
import tempfile
from typing import Mapping, Sequence

# Matplotlib writes a font cache under ~/.cache unless MPLCONFIGDIR is set; keep it in a temp dir.
if not os.environ.get("MPLCONFIGDIR"):
    _uid = os.getuid() if hasattr(os, "getuid") else "user"
    _mpl_dir = os.path.join(tempfile.gettempdir(), f"ganbench-mplconfig-{_uid}")
    os.makedirs(_mpl_dir, exist_ok=True)
    os.environ["MPLCONFIGDIR"] = _mpl_dir

import matplotlib  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = [
    "DPI",
    "combo_colors",
    "new_figure",
    "fig_to_data_uri",
    "samples_figure",
    "dirac_samples_figure",
    "curves_figure",
    "layer_norms_figure",
    "phase_portrait",
    "distribution_figure",
    "image_tile",
    "even_indices",
    "image_samples_figure",
    "checkpoint_grids_figure",
    "mode_histogram_figure",
]

#: Resolution of every embedded PNG, in dots per inch.
DPI = 90
#: Size of one panel, in inches (width, height).
PANEL = (2.6, 2.3)
#: Widest figure, in inches: at :data:`DPI` it fits the report's column in a 1280-pixel window,
#: so that no figure is shown shrunk (figures with more panels wrap them into more rows).
MAX_WIDTH_IN = 13.5
#: Most points drawn per seed in a samples panel (a deterministic subsample beyond that).
MAX_POINTS_PER_SEED = 600

_RC = {
    "font.size": 7,
    "axes.titlesize": 8,
    "axes.labelsize": 7,
    "xtick.labelsize": 6,
    "ytick.labelsize": 6,
    "legend.fontsize": 6,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _label(text: object) -> str:
    """Make user text safe for matplotlib: ``$`` would otherwise start mathtext."""
    return str(text).replace("$", r"\$")


def _palette(name: str) -> list:
    return list(matplotlib.colormaps[name].colors)


def combo_colors(combos: Sequence[str]) -> dict[str, tuple]:
    """Assign each combo a fixed colour (tab10, then tab20), in the order given.

    Args:
        combos: Combo names in display order.

    Returns:
        Mapping combo name → RGB tuple; the same order gives the same colours in every figure.
    """
    pal = _palette("tab10") if len(combos) <= 10 else _palette("tab20")
    return {c: pal[i % len(pal)] for i, c in enumerate(combos)}


def _seed_colors(seeds: Sequence[int]) -> dict[int, tuple]:
    pal = _palette("Dark2") + _palette("Set1")
    return {s: pal[i % len(pal)] for i, s in enumerate(seeds)}


def new_figure(
    n_panels: int,
    ncols: int = 4,
    panel: tuple[float, float] = PANEL,
    sharex: bool = False,
    sharey: bool = False,
) -> tuple[Figure, list]:
    """Create a figure on the Agg canvas with ``n_panels`` axes laid out in a grid.

    Args:
        n_panels: Number of panels (>= 1).
        ncols: Most panels per row.
        panel: Size of one panel in inches (width, height).
        sharex: Share the x axis between panels.
        sharey: Share the y axis between panels.

    Returns:
        ``(fig, axes)`` with ``axes`` a flat list of length ``n_panels`` (unused grid cells are
        removed).
    """
    n_panels = max(1, int(n_panels))
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        grid = fig.subplots(nrows, ncols, squeeze=False, sharex=sharex, sharey=sharey)
    axes = list(grid.ravel())
    for ax in axes[n_panels:]:
        fig.delaxes(ax)
    return fig, axes[:n_panels]


def fig_to_data_uri(fig: Figure, dpi: int = DPI) -> str:
    """Render ``fig`` as PNG and return it as a ``data:image/png;base64,...`` URI; close it.

    Args:
        fig: A matplotlib figure (from this module or from pyplot).
        dpi: Resolution in dots per inch.

    Returns:
        The data URI, ready for an ``<img src=...>`` attribute.
    """
    buf = io.BytesIO()
    try:
        with matplotlib.rc_context(_RC):
            fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    finally:
        if "matplotlib.pyplot" in sys.modules:  # only pyplot-managed figures need closing
            sys.modules["matplotlib.pyplot"].close(fig)
        fig.clear()
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _finite_rows(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    return arr[np.all(np.isfinite(arr), axis=1)]


def even_indices(n: int, k: int) -> np.ndarray:
    """At most ``k`` indices of ``range(n)``, evenly spaced, the first and the last included
    (the checkpoints a figure or a player shows out of ``n``)."""
    if n <= 0:
        return np.zeros(0, dtype=int)
    return np.unique(np.round(np.linspace(0, n - 1, min(n, max(1, k)))).astype(int))


def _subsample(arr: np.ndarray, k: int) -> np.ndarray:
    if len(arr) <= k:
        return arr
    idx = np.linspace(0, len(arr) - 1, k).round().astype(int)
    return arr[idx]


def _no_data(ax, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.5")
    ax.set_xticks([])
    ax.set_yticks([])


def _legend_outside(fig: Figure, axes: list, title: str | None = None) -> None:
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="outside right upper", title=title, frameon=False)


def samples_figure(
    samples: Mapping[str, Mapping[int, np.ndarray]],
    centres: np.ndarray | Sequence[Sequence[float]] | None = None,
    title: str | None = None,
    max_points: int = MAX_POINTS_PER_SEED,
) -> Figure:
    """Small multiples of final 2-D samples: one panel per combo, seeds overlaid.

    All panels share the same limits (the mode centres and the bulk of the samples), so blobs,
    diffuse clouds and rings compare at a glance. 1-D samples (Dirac-GAN) are delegated to
    :func:`dirac_samples_figure`.

    Args:
        samples: combo → {seed → array [N, 2]} in display order; a combo may map to ``{}``.
        centres: Mode centres [K, 2], drawn as black crosses; ``None`` or empty for none.
        title: Figure title.
        max_points: Most points drawn per seed (deterministic subsample).

    Returns:
        The figure.
    """
    arrays = [np.asarray(a) for per in samples.values() for a in per.values()]
    if arrays and all(a.ndim == 1 or a.shape[-1] == 1 for a in arrays):
        return dirac_samples_figure(samples, title=title, max_points=max_points)
    combos = list(samples)
    fig, axes = new_figure(len(combos), ncols=4, panel=(2.3, 2.3))
    c = np.asarray(centres if centres is not None else [], dtype=float).reshape(-1, 2)
    pts = [_finite_rows(a)[:, :2] for a in arrays if np.asarray(a).ndim == 2]
    pts = [p for p in pts if len(p)]
    boxes = [c] if len(c) else []
    if pts:
        allp = np.concatenate(pts)
        boxes.append(np.percentile(allp, [1, 99], axis=0))
    if boxes:
        stacked = np.concatenate(boxes)
        lo, hi = stacked.min(axis=0), stacked.max(axis=0)
    else:
        lo, hi = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    if len(c):
        # Keep the modes readable: a far-flung (e.g. diverged) cloud must not shrink them to a
        # dot, so the view extends at most half a centre-span beyond the centres.
        c_span = max(float(np.ptp(c, axis=0).max()), 1.0)
        lo = np.maximum(lo, c.min(axis=0) - 0.5 * c_span)
        hi = np.minimum(hi, c.max(axis=0) + 0.5 * c_span)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - 0.08 * span.max(), hi + 0.08 * span.max()
    all_seeds = sorted({s for per in samples.values() for s in per})
    scol = _seed_colors(all_seeds)
    with matplotlib.rc_context(_RC):
        for ax, combo in zip(axes, combos):
            per = samples[combo]
            drawn = False
            n_all = n_out = 0
            for seed in sorted(per):
                arr = _finite_rows(per[seed])
                if arr.shape[1] < 2 or not len(arr):
                    continue
                arr = arr[:, :2]
                n_all += len(arr)
                n_out += int(np.sum(np.any((arr < lo) | (arr > hi), axis=1)))
                arr = _subsample(arr, max_points)
                ax.scatter(arr[:, 0], arr[:, 1], s=2, alpha=0.45, color=scol[seed],
                           linewidths=0, label=f"seed {seed}")
                drawn = True
            if len(c):
                ax.scatter(c[:, 0], c[:, 1], marker="x", color="black", s=22, linewidths=0.9,
                           zorder=3, label="mode centre")
            if not drawn:
                ax.text(0.5, 0.5, "no samples", ha="center", va="center",
                        transform=ax.transAxes, color="0.4",
                        bbox={"facecolor": "white", "edgecolor": "0.8", "pad": 3})
            elif n_out:
                pct = 100 * n_out / n_all
                ax.text(0.02, 0.02, f"{pct:.0f}% of samples outside view" if pct >= 1
                        else "<1% of samples outside view",
                        ha="left", va="bottom", transform=ax.transAxes, color="0.35",
                        fontsize=6)
            ax.set_xlim(lo[0], hi[0])
            ax.set_ylim(lo[1], hi[1])
            ax.set_aspect("equal", adjustable="box")
            ax.set_title(_label(combo))
        handles = [Line2D([], [], marker="o", linestyle="none", markersize=4, color=scol[s],
                          label=f"seed {s}") for s in all_seeds]
        if len(c):
            handles.append(Line2D([], [], marker="x", linestyle="none", markersize=5,
                                  color="black", label="mode centre"))
        if handles:
            fig.legend(handles=handles, loc="outside right upper", frameon=False)
        if title:
            fig.suptitle(_label(title), fontsize=9)
    return fig


def dirac_samples_figure(
    samples: Mapping[str, Mapping[int, np.ndarray]],
    title: str | None = None,
    max_points: int = 200,
) -> Figure:
    """Strip plot of final Dirac-GAN samples (θ): one row per combo, seeds in colour.

    The data distribution is a point mass at 0, drawn as a dashed vertical line.

    Args:
        samples: combo → {seed → array [N] or [N, 1]} in display order.
        title: Figure title.
        max_points: Most points drawn per seed.

    Returns:
        The figure.
    """
    combos = list(samples)
    fig, (ax,) = new_figure(1, panel=(5.0, 0.5 + 0.45 * max(1, len(combos))))
    all_seeds = sorted({s for per in samples.values() for s in per})
    scol = _seed_colors(all_seeds)
    rng = np.random.default_rng(0)
    with matplotlib.rc_context(_RC):
        ax.axvline(0.0, color="black", linestyle="--", linewidth=0.8, label="data (point mass at 0)")
        for i, combo in enumerate(combos):
            for seed in sorted(samples[combo]):
                arr = _finite_rows(samples[combo][seed])[:, 0]
                arr = _subsample(arr, max_points)
                if not len(arr):
                    continue
                y = i + rng.uniform(-0.18, 0.18, size=len(arr))
                ax.scatter(arr, y, s=6, alpha=0.6, color=scol[seed], linewidths=0,
                           label=f"seed {seed}")
        ax.set_yticks(range(len(combos)), [_label(c) for c in combos])
        ax.set_ylim(-0.6, len(combos) - 0.4)
        ax.invert_yaxis()
        ax.set_xlabel("θ (generated sample)")
        _legend_outside(fig, [ax])
        if title:
            fig.suptitle(_label(title), fontsize=9)
    return fig


def _quantile_curves(frame: pd.DataFrame, col: str, log: bool) -> pd.DataFrame | None:
    """Per-step 25/50/75% quantiles of ``col`` over seeds (finite, and > 0 when ``log``)."""
    if col not in frame.columns:
        return None
    sub = frame[["step", col]].copy()
    sub[col] = pd.to_numeric(sub[col], errors="coerce")
    sub = sub[np.isfinite(sub[col].to_numpy(dtype=float))]
    if log:
        sub = sub[sub[col] > 0]
    if sub.empty:
        return None
    q = sub.groupby("step")[col].quantile([0.25, 0.5, 0.75]).unstack()
    return q.sort_index()


def curves_figure(
    history: pd.DataFrame,
    metric: str | Sequence[str],
    log: bool = False,
    combos: Sequence[str] | None = None,
    colors: Mapping[str, tuple] | None = None,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Training curves: median over seeds with an interquartile band, one line per combo.

    Args:
        history: Per-step records with columns ``combo``, ``seed``, ``step`` and the metric(s);
            usually one dataset's rows. Non-finite values are ignored (and values <= 0 on a log
            axis).
        metric: A column name, or several for one panel each.
        log: Log-scale y axis (used for gradient norms and distances).
        combos: Combos to draw, in order (default: order of appearance).
        colors: combo → colour (default: :func:`combo_colors`).
        title: Figure title.
        labels: metric → axis title (default: the column name).

    Returns:
        The figure.
    """
    metrics = [metric] if isinstance(metric, str) else list(metric)
    if combos is None:
        combos = list(pd.unique(history["combo"])) if "combo" in history.columns else []
    colors = dict(colors) if colors is not None else combo_colors(list(combos))
    labels = labels or {}
    fig, axes = new_figure(len(metrics), ncols=min(3, len(metrics)), panel=(3.0, 2.2))
    groups = dict(tuple(history.groupby("combo", sort=False))) if "combo" in history else {}
    with matplotlib.rc_context(_RC):
        for ax, m in zip(axes, metrics):
            drawn = False
            for combo in combos:
                frame = groups.get(combo)
                if frame is None:
                    continue
                q = _quantile_curves(frame, m, log)
                if q is None:
                    continue
                x = q.index.to_numpy(dtype=float)
                col = colors.get(combo)
                ax.plot(x, q[0.5].to_numpy(), color=col, linewidth=1.1, label=_label(combo),
                        marker="o" if len(x) <= 20 else None, markersize=2.5)
                ax.fill_between(x, q[0.25].to_numpy(), q[0.75].to_numpy(), color=col,
                                alpha=0.18, linewidth=0)
                drawn = True
            if not drawn:
                _no_data(ax)
            elif log:
                ax.set_yscale("log")
            ax.set_title(_label(labels.get(m, m)))
            ax.set_xlabel("step")
        _legend_outside(fig, axes)
        if title:
            fig.suptitle(_label(title), fontsize=9)
    return fig


def layer_norms_figure(
    history: pd.DataFrame,
    prefixes: Sequence[str] = ("g_grad_norm", "d_grad_norm"),
    combos: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Per-layer gradient norms: a block of rows per network (prefix), the combos across
    (wrapped into rows of at most :data:`MAX_WIDTH_IN` inches), log-y.

    Each panel draws, for every layer column ``<prefix>.<layer>``, the median over seeds.

    Args:
        history: Per-step records of one dataset with ``combo``, ``seed``, ``step`` and
            per-layer columns such as ``g_grad_norm.l0``.
        prefixes: Column prefixes, one panel row each.
        combos: Combos in display order (default: order of appearance).
        title: Figure title.

    Returns:
        The figure.
    """
    if combos is None:
        combos = list(pd.unique(history["combo"]))
    prefixes = list(prefixes)
    n_rows = len(prefixes)
    n_cols = max(1, min(len(combos), int(MAX_WIDTH_IN // 2.2)))
    block = math.ceil(max(1, len(combos)) / n_cols) * n_cols  # panels per network, wrapped
    fig, axes = new_figure(n_rows * block, ncols=n_cols, panel=(2.2, 1.9))
    for r in range(n_rows):
        for ax in axes[r * block + len(combos):(r + 1) * block]:
            ax.set_axis_off()
    groups = dict(tuple(history.groupby("combo", sort=False)))
    with matplotlib.rc_context(_RC):
        for r, prefix in enumerate(prefixes):
            layer_cols = [c for c in history.columns if c.startswith(prefix + ".")]
            lcol = dict(zip(layer_cols, _palette("tab10") * (len(layer_cols) // 10 + 1)))
            for k, combo in enumerate(combos):
                ax = axes[r * block + k]
                frame = groups.get(combo)
                drawn = False
                for col in layer_cols:
                    q = _quantile_curves(frame, col, True) if frame is not None else None
                    if q is None:
                        continue
                    ax.plot(q.index.to_numpy(dtype=float), q[0.5].to_numpy(), linewidth=1.0,
                            color=lcol[col], label=_label(col.split(".", 1)[1]))
                    drawn = True
                if drawn:
                    ax.set_yscale("log")
                else:
                    _no_data(ax)
                ax.set_title(_label(f"{prefix} · {combo}"))
                if r == n_rows - 1 and k + n_cols >= len(combos):
                    ax.set_xlabel("step")
        _legend_outside(fig, axes, title="layer")
        if title:
            fig.suptitle(_label(title), fontsize=9)
    return fig


def phase_portrait(
    history: pd.DataFrame,
    combos: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Dirac-GAN phase portraits: θ (generator) against ψ (discriminator), one panel per combo.

    Each seed's trajectory is one line, its start a circle and its end a square; the equilibrium
    (0, 0) is a black cross.

    Args:
        history: Per-step records of the Dirac dataset with ``combo``, ``seed``, ``step``,
            ``theta`` and ``psi``.
        combos: Combos in display order (default: order of appearance).
        title: Figure title.

    Returns:
        The figure.
    """
    if combos is None:
        combos = list(pd.unique(history["combo"]))
    fig, axes = new_figure(len(combos), ncols=4, panel=(2.3, 2.3))
    groups = dict(tuple(history.groupby("combo", sort=False)))
    seeds = sorted(pd.unique(history["seed"])) if "seed" in history else []
    scol = _seed_colors(seeds)
    with matplotlib.rc_context(_RC):
        for ax, combo in zip(axes, combos):
            frame = groups.get(combo)
            drawn = False
            if frame is not None and {"theta", "psi"} <= set(frame.columns):
                for seed, run in frame.sort_values("step").groupby("seed", sort=True):
                    th = pd.to_numeric(run["theta"], errors="coerce").to_numpy(dtype=float)
                    ps = pd.to_numeric(run["psi"], errors="coerce").to_numpy(dtype=float)
                    ok = np.isfinite(th) & np.isfinite(ps)
                    th, ps = th[ok], ps[ok]
                    if not len(th):
                        continue
                    col = scol.get(seed)
                    ax.plot(th, ps, linewidth=0.8, color=col, alpha=0.85, label=f"seed {seed}")
                    ax.plot(th[:1], ps[:1], marker="o", markersize=3, color=col)
                    ax.plot(th[-1:], ps[-1:], marker="s", markersize=3, color=col)
                    drawn = True
            ax.plot([0], [0], marker="x", color="black", markersize=6, linestyle="none",
                    label="equilibrium")
            if not drawn:
                ax.text(0.5, 0.5, "no trajectory", ha="center", va="center",
                        transform=ax.transAxes, color="0.5")
            ax.set_xlabel("θ")
            ax.set_ylabel("ψ", rotation=0, labelpad=6)
            ax.set_aspect("equal", adjustable="datalim")
            ax.set_title(_label(combo))
        _legend_outside(fig, axes)
        if title:
            fig.suptitle(_label(title), fontsize=9)
    return fig


def distribution_figure(
    trials: pd.DataFrame,
    metrics: Sequence[str],
    combos: Sequence[str] | None = None,
    colors: Mapping[str, tuple] | None = None,
    labels: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Figure:
    """Per-seed values of each metric as strip plots: one panel per metric, combos on x.

    Every seed is one point (jittered deterministically); trials whose ``status`` is not
    ``"ok"`` are drawn as crosses; a black bar marks each combo's median and, with at least
    three finite values, a grey box its interquartile range.

    Args:
        trials: One row per trial × seed with ``combo``, the metric columns and optionally
            ``status``; usually one dataset's rows.
        metrics: Metric columns, one panel each.
        combos: Combos in display order (default: order of appearance).
        colors: combo → colour (default: :func:`combo_colors`).
        labels: metric → panel title (default: the column name).
        title: Figure title.

    Returns:
        The figure.
    """
    metrics = list(metrics)
    if combos is None:
        combos = list(pd.unique(trials["combo"]))
    colors = dict(colors) if colors is not None else combo_colors(list(combos))
    labels = labels or {}
    width = max(1.8, 0.45 * len(combos) + 1.0)
    fig, axes = new_figure(len(metrics), ncols=max(1, min(5, int(MAX_WIDTH_IN // width))),
                           panel=(min(width, MAX_WIDTH_IN), 2.2))
    rng = np.random.default_rng(0)
    with matplotlib.rc_context(_RC):
        for ax, m in zip(axes, metrics):
            for i, combo in enumerate(combos):
                sub = trials[trials["combo"] == combo]
                if m not in sub.columns:
                    continue
                vals = pd.to_numeric(sub[m], errors="coerce").to_numpy(dtype=float)
                ok = (sub["status"] == "ok").to_numpy() if "status" in sub else np.ones(len(sub), bool)
                fin = np.isfinite(vals)
                x = i + rng.uniform(-0.15, 0.15, size=len(vals))
                col = colors.get(combo)
                ax.scatter(x[fin & ok], vals[fin & ok], s=12, color=col, alpha=0.8, linewidths=0)
                ax.scatter(x[fin & ~ok], vals[fin & ~ok], s=14, color=col, marker="x",
                           linewidths=0.9)
                if fin.any():
                    med = float(np.median(vals[fin]))
                    ax.plot([i - 0.3, i + 0.3], [med, med], color="black", linewidth=1.2)
                if fin.sum() >= 3:  # the interquartile box behind the seeds
                    q1, q3 = np.percentile(vals[fin], [25, 75])
                    from matplotlib.patches import Rectangle

                    ax.add_patch(Rectangle(
                        (i - 0.3, q1), 0.6, q3 - q1, facecolor="0.92", edgecolor="0.6",
                        linewidth=0.6, zorder=0))
            ax.set_xticks(range(len(combos)), [_label(c) for c in combos], rotation=30,
                          ha="right")
            ax.set_xlim(-0.6, len(combos) - 0.4)
            ax.set_title(_label(labels.get(m, m)))
        if title:
            fig.suptitle(_label(title), fontsize=9)
    return fig


# ---------------------------------------------------------------------------------------------
# Image datasets
# ---------------------------------------------------------------------------------------------


def image_tile(images: np.ndarray, shape: Sequence[int], ncols: int | None = None,
               pad: int = 1) -> np.ndarray:
    """Tile images into one picture.

    Args:
        images: ``[N, C·H·W]`` (or ``[N, C, H, W]``) as ``uint8`` 0–255, or floats in
            ``[-1, 1]`` (the model's pixel range; see :mod:`ganbench.components.data.images`).
        shape: ``(C, H, W)`` of one image (C = 1 grey, 3 RGB).
        ncols: Images per row (default: the ceiling of √N).
        pad: Pixels of white between images.

    Returns:
        ``uint8 [rows·(H+pad)+pad, cols·(W+pad)+pad, 3]``.
    """
    c, h, w = (int(v) for v in shape)
    arr = np.asarray(images)
    if arr.dtype != np.uint8:
        arr = np.nan_to_num(arr.astype(np.float64), nan=-1.0)
        arr = np.round((np.clip(arr, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)
    arr = arr.reshape(-1, c, h, w)
    n = len(arr)
    ncols = ncols or max(1, math.ceil(math.sqrt(max(n, 1))))
    nrows = max(1, math.ceil(n / ncols))
    out = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, 3), 255, dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, ncols)
        img = arr[i].transpose(1, 2, 0)
        if c == 1:
            img = np.repeat(img, 3, axis=2)
        elif c != 3:
            img = np.repeat(img[..., :1], 3, axis=2)
        y, x = pad + r * (h + pad), pad + q * (w + pad)
        out[y:y + h, x:x + w] = img
    return out


def image_samples_figure(
    samples: Mapping[str, Mapping[int, np.ndarray]],
    shape: Sequence[int],
    title: str | None = None,
    per_panel: int = 64,
) -> Figure:
    """Final generated images: one panel per combo, an 8×8 grid drawn round-robin from the seeds.

    Args:
        samples: combo → {seed → array [N, C·H·W] in [-1, 1]} in display order.
        shape: ``(C, H, W)`` of one image.
        title: Figure title.
        per_panel: Images per panel.

    Returns:
        The figure.
    """
    combos = list(samples)
    fig, axes = new_figure(len(combos), ncols=4, panel=(2.3, 2.45))
    with matplotlib.rc_context(_RC):
        for ax, combo in zip(axes, combos):
            per = samples[combo]
            seeds = sorted(per)
            picked = []
            for i in range(per_panel):
                if not seeds:
                    break
                s = seeds[i % len(seeds)]
                k = i // len(seeds)
                if k < len(per[s]):
                    picked.append(np.asarray(per[s])[k])
            if picked:
                ax.imshow(image_tile(np.stack(picked), shape), interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                for sp in ax.spines.values():
                    sp.set_visible(False)
            else:
                _no_data(ax, "no samples")
            ax.set_title(_label(combo) + (f"  (seeds {', '.join(map(str, seeds))})" if seeds else ""))
        if title:
            fig.suptitle(_label(title), fontsize=9)
    return fig


def checkpoint_grids_figure(
    grids: Mapping[str, Sequence[tuple[int, np.ndarray]]],
    shape: Sequence[int],
    title: str | None = None,
) -> Figure:
    """Sample grids at checkpoints: rows = combos, columns = evaluation steps (transposed when
    there are fewer than three checkpoints, so the figure stays wide enough to read).

    Args:
        grids: combo → [(step, images [n, C·H·W] uint8)] in step order (one seed's grids).
        shape: ``(C, H, W)`` of one image.
        title: Figure title.

    Returns:
        The figure.
    """
    combos = list(grids)
    n_steps = max([len(v) for v in grids.values()] + [1])
    transpose = n_steps < 3
    nrows, ncols = (n_steps, len(combos)) if transpose else (len(combos), n_steps)
    fig, axes = new_figure(nrows * ncols, ncols=ncols, panel=(1.45, 1.6))
    with matplotlib.rc_context(_RC):
        for r in range(nrows):
            for c in range(ncols):
                ci, k = (c, r) if transpose else (r, c)
                combo = combos[ci]
                cells = list(grids[combo])
                ax = axes[r * ncols + c]
                ax.set_xticks([])
                ax.set_yticks([])
                for sp in ax.spines.values():
                    sp.set_visible(False)
                if k < len(cells):
                    step, imgs = cells[k]
                    ax.imshow(image_tile(imgs, shape), interpolation="nearest")
                    ax.set_title(f"{_label(combo)}\nstep {step}" if transpose else f"step {step}",
                                 fontsize=6)
                if c == 0 and not transpose:
                    ax.set_ylabel(_label(combo), fontsize=7)
        if title:
            fig.suptitle(_label(title), fontsize=9)
    return fig


def mode_histogram_figure(
    hists: Mapping[str, Mapping[int, np.ndarray]],
    n_modes: int,
    title: str | None = None,
) -> Figure:
    """The generated mode histogram, modes ranked by frequency: one panel per combo, one line
    per seed, log y; the dashed line is the uniform 1/K of the data.

    Args:
        hists: combo → {seed → counts [K]} (final evaluation).
        n_modes: K (1000 for stacked digits).
        title: Figure title.

    Returns:
        The figure.
    """
    combos = list(hists)
    fig, axes = new_figure(len(combos), ncols=4, panel=(2.5, 2.1), sharey=True)
    all_seeds = sorted({s for per in hists.values() for s in per})
    scol = _seed_colors(all_seeds)
    with matplotlib.rc_context(_RC):
        for ax, combo in zip(axes, combos):
            drawn = False
            covered = []
            for seed in sorted(hists[combo]):
                h = np.asarray(hists[combo][seed], dtype=float)
                if h.sum() <= 0:
                    continue
                p = np.sort(h / h.sum())[::-1]
                nz = p[p > 0]
                covered.append(len(nz))
                ax.step(np.arange(1, len(nz) + 1), nz, where="post", color=scol[seed],
                        linewidth=1.0, label=f"seed {seed}")
                drawn = True
            ax.axhline(1.0 / n_modes, color="black", linestyle="--", linewidth=0.8,
                       label=f"uniform 1/{n_modes}")
            if drawn:
                ax.set_yscale("log")
                ax.set_xscale("log")
                ax.set_xlim(1, n_modes)
            else:
                _no_data(ax)
            cov = f"\n{', '.join(map(str, covered))} of {n_modes} modes" if covered else ""
            ax.set_title(_label(combo) + cov)
            ax.set_xlabel("mode rank")
        axes[0].set_ylabel("share of samples")
        _legend_outside(fig, axes)
        if title:
            fig.suptitle(_label(title), fontsize=9)
    return fig
