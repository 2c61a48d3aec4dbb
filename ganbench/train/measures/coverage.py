"""Toy mode coverage (docs/architecture.md §4), as pure functions on sample arrays.

Protocol: draw N generated samples and assign each to its nearest mode centre.

* A sample is *high quality* (HQ) if it lies within ``hq_std`` (default 3) standard deviations
  of that centre (Euclidean distance ≤ ``hq_std·std``).
* A mode is *covered* if at least ``min_count`` (default 1) HQ samples land on it.
* ``reverse_kl`` is KL(p_gen ‖ uniform) of the mode histogram of HQ samples,
  ``Σ_k p_k log(K p_k)`` with ``0·log 0 = 0``. The uniform reference is never zero, so no ε is
  needed; with no HQ sample at all the histogram is undefined and ``reverse_kl`` is NaN.
* Mass spread without a quality filter: the histogram of nearest-centre *cells* for all
  samples, its entropy (nats) and ``cells_occupied``, the number of cells holding at least
  ``1/(4K)`` of the samples. Collapse puts the mass in one or two cells; diffuse
  non-convergence spreads it but is rarely HQ; success is spread *and* HQ.
* ``chance_coverage``: the expected number of modes a generator spreading the same N samples
  uniformly over the data's bounding box (padded by ``hq_std·std`` plus 10 % of its extent)
  would cover by chance: ``K·P[Binomial(N, p) ≥ min_count]`` with ``p`` = disc area / box area.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sstats

#: Share of samples (relative to uniform 1/K) a cell needs to count as occupied.
CELL_OCCUPIED_FRACTION = 0.25


def nearest_mode(samples: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre and the distance to it, for each sample.

    Args:
        samples: ``[N, d]`` generated samples.
        centres: ``[K, d]`` mode centres.
    Returns:
        ``(index [N] int, distance [N] float)``; distance in data units.
    """
    samples = np.asarray(samples, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    d2 = (np.square(samples).sum(1)[:, None] - 2 * samples @ centres.T
          + np.square(centres).sum(1)[None, :])
    idx = np.argmin(d2, axis=1)
    dist = np.sqrt(np.maximum(d2[np.arange(len(samples)), idx], 0.0))
    return idx, dist


def chance_coverage(n_samples: int, centres: np.ndarray, std: float, hq_std: float = 3.0,
                    min_count: int = 1) -> float:
    """Expected modes covered by ``n_samples`` uniform samples over the padded bounding box."""
    centres = np.asarray(centres, dtype=np.float64)
    k, d = centres.shape
    lo, hi = centres.min(0), centres.max(0)
    extent = hi - lo
    pad = hq_std * std + 0.1 * np.maximum(extent, 1e-12)
    box = float(np.prod(extent + 2 * pad))
    r = hq_std * std
    ball = math.pi ** (d / 2) / math.gamma(d / 2 + 1) * r ** d
    p = min(1.0, ball / box)
    return float(k * sstats.binom.sf(min_count - 1, n_samples, p))


def coverage_metrics(samples: np.ndarray, centres: np.ndarray, std: float, hq_std: float = 3.0,
                     min_count: int = 1) -> dict[str, float]:
    """All toy coverage metrics for one set of samples.

    Returns a dict with ``modes_covered`` (count), ``modes_total``, ``hq_fraction`` (0–1),
    ``reverse_kl`` (nats), ``cell_entropy`` (nats), ``cells_occupied`` (count) and
    ``chance_coverage`` (expected count). Non-finite samples count as not HQ and are
    excluded from the cell histogram.
    """
    samples = np.asarray(samples, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    k = len(centres)
    n = len(samples)
    finite = np.isfinite(samples).all(1)
    x = samples[finite]
    if len(x):
        idx, dist = nearest_mode(x, centres)
    else:
        idx, dist = np.zeros(0, int), np.zeros(0)
    hq = dist <= hq_std * std
    hq_counts = np.bincount(idx[hq], minlength=k)
    cell_counts = np.bincount(idx, minlength=k)
    covered = int((hq_counts >= min_count).sum())
    if hq_counts.sum() > 0:
        p = hq_counts / hq_counts.sum()
        nz = p > 0
        rkl = float(np.sum(p[nz] * np.log(k * p[nz])))
    else:
        rkl = float("nan")
    if cell_counts.sum() > 0:
        q = cell_counts / cell_counts.sum()
        nz = q > 0
        ent = float(-np.sum(q[nz] * np.log(q[nz])))
        occupied = int((q >= CELL_OCCUPIED_FRACTION / k).sum())
    else:
        ent, occupied = float("nan"), 0
    return {
        "modes_covered": covered,
        "modes_total": k,
        "hq_fraction": float(hq.sum() / n) if n else float("nan"),
        "reverse_kl": rkl,
        "cell_entropy": ent,
        "cells_occupied": occupied,
        "chance_coverage": chance_coverage(n, centres, std, hq_std, min_count),
    }


def mode_histogram(samples: np.ndarray, centres: np.ndarray, std: float, hq_std: float = 3.0) -> np.ndarray:
    """Counts of HQ samples per mode (``[K]``); used for mode-hopping diagnostics."""
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[np.isfinite(samples).all(1)]
    idx, dist = nearest_mode(samples, centres)
    return np.bincount(idx[dist <= hq_std * std], minlength=len(centres))


def cell_histogram(samples: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Counts of all finite samples per nearest-centre cell (``[K]``), no quality filter.

    The basis of the mode-hopping measure: it always holds the full sample count, so a
    collapsed blob that moves from cell to cell is seen even when it sits off the modes.
    """
    samples = np.asarray(samples, dtype=np.float64)
    samples = samples[np.isfinite(samples).all(1)]
    if not len(samples):
        return np.zeros(len(centres), dtype=np.int64)
    idx, _ = nearest_mode(samples, centres)
    return np.bincount(idx, minlength=len(centres))
