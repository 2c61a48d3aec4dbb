"""The report's "Training evolution" section: the generated distribution over training.

Two views per dataset, both read from the run folder alone:

* a **strip** (Metz et al. 2016, Figure 1): one row per combo, one column per checkpoint (at
  most :data:`STRIP_COLUMNS`, evenly spaced, the last included), the lowest seed's samples with
  the mode centres marked; image datasets already have theirs (the "samples at checkpoints"
  figure of the Image datasets section);
* a **player** per combo: every kept checkpoint as one frame, with play/pause, a step slider
  and, for toy data, a seed menu. Toy frames are the points themselves (quantised to one byte
  per coordinate over the panel and drawn on a canvas by the report's script); image frames
  are the lowest seed's sample grid at each evaluation as PNG data URIs.

The size budget of one player is :data:`BUDGET_BYTES` (base64 included): at most
:data:`MAX_FRAMES` frames, :data:`MAX_SEEDS` seeds and :data:`POINTS` points per seed, so a toy
player is at most 41 × 10 × 256 × 2 bytes × 4/3 ≈ 280 kB; image players drop frames (evenly)
until they fit. Toy data come from ``evolution/<dataset>__<combo>.npz`` (written by the
runner: ``steps`` and ``seed<k>`` float16 ``[T, n, 2]``), image grids from the history's
``sample_grid`` column. Sweeps have one file per hyperparameter sample and are not shown.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ganbench.report import plots

#: Checkpoints (columns) in a strip.
STRIP_COLUMNS = 8
#: Frames in a player (evenly spaced over the kept checkpoints, the last included).
MAX_FRAMES = 41
#: Seeds in a toy player (the lowest ones).
MAX_SEEDS = 10
#: Points per seed and frame in a toy player (the first ones of the evaluation draw).
POINTS = 256
#: Most bytes of one player's embedded data (base64 included).
BUDGET_BYTES = 2_000_000
#: Byte value of a non-finite point in a toy player's frames (finite points use 0–254).
MISSING = 255


@dataclass
class Evolution:
    """One trial's kept evaluations: ``steps`` ``[T]`` and per seed ``float [T, n, 2]``."""

    steps: np.ndarray
    seeds: dict[int, np.ndarray]


def read_evolution(run_dir: Path, dataset: str, combos: Sequence[str],
                   warnings: list[str]) -> dict[str, Evolution]:
    """combo → its :class:`Evolution` from ``evolution/<dataset>__<combo>.npz``; a combo
    without a file is left out (run folders written before ganbench kept snapshots have
    none), an unreadable file becomes a warning."""
    folder = run_dir / "evolution"
    if not folder.is_dir():
        return {}
    present = {p.name: p for p in folder.iterdir() if p.is_file()}
    out: dict[str, Evolution] = {}
    for combo in combos:
        path = present.get(f"{dataset}__{combo}.npz")
        if path is None:
            continue
        try:
            with np.load(path, allow_pickle=False) as npz:
                steps = np.asarray(npz["steps"], dtype=np.int64)
                seeds = {int(k[4:]): np.asarray(npz[k], dtype=np.float32)
                         for k in npz.files if k.startswith("seed")}
            bad = [s for s, a in seeds.items() if a.ndim != 3 or len(a) != len(steps)]
            if bad or not seeds:
                raise ValueError(f"expected steps [T] and seed<k> [T, n, dim] arrays (seeds {bad})")
        except Exception as exc:  # noqa: BLE001 - one bad file must not sink the report
            warnings.append(f"evolution/{path.name} could not be read ({type(exc).__name__}: "
                            f"{exc}); its evolution is left out.")
            continue
        out[combo] = Evolution(steps, dict(sorted(seeds.items())))
    return out


def extent(centres: np.ndarray) -> tuple[float, float]:
    """The square panel ``(lo, hi)`` shared by both axes: the mode centres' span plus a
    quarter of it (at least 1) on each side; ``(-3, 3)`` without centres."""
    c = np.asarray(centres, dtype=float).reshape(-1, 2)
    if not len(c):
        return -3.0, 3.0
    lo, hi = float(c.min()), float(c.max())
    pad = max(0.25 * (hi - lo), 1.0)
    return lo - pad, hi + pad


def strip_indices(evolutions: Mapping[str, Evolution]) -> dict[str, np.ndarray]:
    """combo → the indices of its checkpoints in the strip (up to :data:`STRIP_COLUMNS`)."""
    return {c: plots.even_indices(len(e.steps), STRIP_COLUMNS) for c, e in evolutions.items()}


def strip_figure(evolutions: Mapping[str, Evolution], centres: np.ndarray,
                 title: str | None = None) -> Figure:
    """Rows = combos, columns = up to :data:`STRIP_COLUMNS` checkpoints: the lowest seed's
    samples (points outside the panel drawn on its edge), black crosses at the mode centres.
    With fewer than three checkpoints the panels wrap, six to a row, each titled with its
    combo and step, so that the figure stays wide enough to read."""
    shown = strip_indices(evolutions)
    n_cols = max(len(idx) for idx in shown.values())
    wrap = n_cols < 3
    cells = [(combo, t, r * n_cols + j) for r, (combo, idx) in enumerate(shown.items())
             for j, t in enumerate(idx)]
    if wrap:  # panels one after another
        cells = [(combo, t, k) for k, (combo, t, _) in enumerate(cells)]
    n_panels = len(cells) if wrap else len(shown) * n_cols
    fig, axes = plots.new_figure(n_panels, ncols=min(6, n_panels) if wrap else n_cols,
                                 panel=(1.3, 1.35))
    lo, hi = extent(centres)
    c = np.asarray(centres, dtype=float).reshape(-1, 2)
    for combo, t, pos in cells:
        evo = evolutions[combo]
        ax = axes[pos]
        x = evo.seeds[min(evo.seeds)][t]
        x = np.clip(x[np.isfinite(x).all(axis=1)], lo, hi)
        ax.scatter(x[:, 0], x[:, 1], s=1.5, alpha=0.5, linewidths=0, color="#2f5d9e")
        if len(c):
            ax.scatter(c[:, 0], c[:, 1], marker="x", s=8, linewidths=0.6, color="black")
        ax.set(xlim=(lo, hi), ylim=(lo, hi), aspect="equal", xticks=[], yticks=[])
        step = f"step {int(evo.steps[t])}"
        ax.set_title(f"{plots._label(combo)}\n{step}" if wrap else step, fontsize=7)
        if not wrap and pos % n_cols == 0:
            ax.set_ylabel(plots._label(combo), fontsize=7)
    used = {pos for _, _, pos in cells}
    for i, ax in enumerate(axes):
        if i not in used:
            ax.set_axis_off()
    if title:
        fig.suptitle(plots._label(title), fontsize=9)
    return fig


def quantise(points: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``uint8`` codes of ``points`` over ``[lo, hi]``: 0–254 (points outside are clamped to
    the edge), :data:`MISSING` for a non-finite point."""
    x = np.asarray(points, dtype=np.float64)
    q = np.round((np.clip(x, lo, hi) - lo) / (hi - lo) * (MISSING - 1))
    finite = np.isfinite(x).all(axis=-1, keepdims=True)
    return np.where(finite, np.nan_to_num(q), MISSING).astype(np.uint8)


def point_player(pid: str, combo: str, evo: Evolution, centres: np.ndarray) -> dict[str, Any]:
    """A toy player's template data: ``frames`` (base64 of ``uint8 [T, S, P, 2]`` from
    :func:`quantise`) and ``meta`` (JSON: steps, seeds, points, extent, centres)."""
    lo, hi = extent(centres)
    idx = plots.even_indices(len(evo.steps), MAX_FRAMES)
    seeds = list(evo.seeds)[:MAX_SEEDS]
    n = min(POINTS, min(a.shape[1] for a in evo.seeds.values()))
    block = np.stack([evo.seeds[s][idx, :n, :2] for s in seeds], axis=1)  # [T, S, P, 2]
    frames = base64.b64encode(quantise(block, lo, hi).tobytes()).decode("ascii")
    meta = {"steps": [int(s) for s in evo.steps[idx]], "seeds": seeds, "points": n,
            "extent": [lo, hi], "centres": np.round(np.asarray(centres, float), 4).tolist()}
    return {"id": pid, "combo": combo, "kind": "points", "frames": frames,
            "meta": json.dumps(meta, separators=(",", ":")), "n_frames": len(idx),
            "seeds": seeds, "bytes": len(frames)}


def _png_uri(tile: np.ndarray) -> str:
    import matplotlib.image

    buf = io.BytesIO()
    matplotlib.image.imsave(buf, tile, format="png", pil_kwargs={"optimize": True})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def image_grids(hist_ds: pd.DataFrame, combo: str, shape: Sequence[int]
                ) -> list[tuple[int, np.ndarray]]:
    """``[(step, uint8 [n, C·H·W])]`` of the lowest seed's ``sample_grid`` at every evaluation."""
    if "sample_grid" not in hist_ds.columns:
        return []
    sub = hist_ds[(hist_ds["combo"] == combo) & hist_ds["sample_grid"].map(
        lambda b: isinstance(b, (bytes, bytearray)) and len(b) > 0)]
    if sub.empty:
        return []
    sub = sub[sub["seed"] == sub["seed"].min()].sort_values("step")
    size = int(np.prod(shape))
    return [(int(st), np.frombuffer(b, dtype=np.uint8).reshape(-1, size))
            for st, b in zip(sub["step"], sub["sample_grid"]) if len(b) % size == 0]


def image_player(pid: str, combo: str, grids: Sequence[tuple[int, np.ndarray]],
                 shape: Sequence[int]) -> dict[str, Any] | None:
    """An image player's template data: one PNG data URI per frame, frames dropped evenly
    until the player fits :data:`BUDGET_BYTES`; None without grids."""
    if not grids:
        return None
    uris = [_png_uri(plots.image_tile(imgs, shape)) for _, imgs in grids]
    k = min(len(grids), MAX_FRAMES)
    while True:
        idx = plots.even_indices(len(grids), k)
        size = sum(len(uris[i]) for i in idx)
        if size <= BUDGET_BYTES or k <= 2:
            break
        k = max(2, int(k * BUDGET_BYTES / size))
    meta = {"steps": [grids[i][0] for i in idx], "seeds": [], "frames": [uris[i] for i in idx]}
    return {"id": pid, "combo": combo, "kind": "images", "frames": "",
            "meta": json.dumps(meta, separators=(",", ":")), "n_frames": len(idx), "seeds": [],
            "bytes": size}


def dataset_evolution(run_dir: Path, name: str, did: str, kind: str, combos: Sequence[str],
                      centres: np.ndarray, shape: Sequence[int] | None,
                      hist_ds: pd.DataFrame | None, figs: Any,
                      warnings: list[str]) -> dict[str, Any] | None:
    """One dataset's part of the section: ``strip`` (a figure from ``figs.make``, toy data
    only) and ``players`` (one per combo with data); None when there is nothing to show."""
    players: list[dict[str, Any]] = []
    strip = None
    if kind == "image" and shape and hist_ds is not None:
        for i, combo in enumerate(combos):
            p = image_player(f"player-{did}-{i}", combo, image_grids(hist_ds, combo, shape), shape)
            if p:
                players.append(p)
    elif kind != "image":
        evos = read_evolution(run_dir, name, combos, warnings)
        evos = {c: e for c, e in evos.items() if e.seeds and np.asarray(
            next(iter(e.seeds.values()))).shape[-1] >= 2}
        if evos:
            few = max(len(idx) for idx in strip_indices(evos).values()) < 3
            layout = ("Each combo at its checkpoints, six panels to a row" if few else
                      "Rows: combos; columns: checkpoints (evenly spaced, the last included)")
            strip = figs.make(
                f"fig-evolution-{did}", f"{name}: samples over training",
                f"{layout}. Each panel holds the lowest seed's first 512 samples of that "
                "evaluation; black crosses mark the mode centres; samples outside the panel are "
                "drawn on its edge.",
                lambda: strip_figure(evos, centres, title=f"{name}: samples over training"))
            players = [point_player(f"player-{did}-{i}", c, evos[c], centres)
                       for i, c in enumerate(combos) if c in evos]
    if strip is None and not players:
        return None
    return {"strip": strip, "players": players}
