"""Tests for ganbench.train.measures.coverage on constructed samples (toy coverage)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganbench.train.measures.coverage import (
    chance_coverage,
    coverage_metrics,
    mode_histogram,
    nearest_mode,
)
from ganbench.components.data.toy import Grid, GridParams, Ring, RingParams


@pytest.fixture(scope="module")
def ring():
    return Ring(RingParams())


@pytest.fixture(scope="module")
def grid():
    return Grid(GridParams())


def metrics(ds, x, **kw):
    return coverage_metrics(np.asarray(x, dtype=np.float64), ds.centres, ds.std, **kw)


# --------------------------------------------------------------------------------------------
# Centres
# --------------------------------------------------------------------------------------------


def test_ring_centres(ring):
    assert ring.centres.shape == (8, 2) and ring.std == 0.02
    np.testing.assert_allclose(np.hypot(ring.centres[:, 0], ring.centres[:, 1]), 2.0, atol=1e-12)
    # evenly spaced: angles 0, π/4, ..., 7π/4
    angles = np.mod(np.arctan2(ring.centres[:, 1], ring.centres[:, 0]), 2 * np.pi)
    np.testing.assert_allclose(np.sort(angles), np.arange(8) * np.pi / 4, atol=1e-12)
    np.testing.assert_allclose(ring.centres[0], [2.0, 0.0], atol=1e-12)


def test_grid_centres(grid):
    assert grid.centres.shape == (25, 2) and grid.std == 0.05
    got = {tuple(c) for c in grid.centres.tolist()}
    assert got == {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}


# --------------------------------------------------------------------------------------------
# Metrics on constructed samples
# --------------------------------------------------------------------------------------------


def test_all_at_one_mode(ring):
    x = np.repeat(ring.centres[3:4], 100, axis=0)
    m = metrics(ring, x)
    assert m["modes_covered"] == 1 and m["modes_total"] == 8
    assert m["hq_fraction"] == 1.0
    # p = (1, 0, ..., 0): KL(p ‖ uniform) = 1·log(8·1) = log 8
    assert m["reverse_kl"] == pytest.approx(math.log(8), abs=1e-12)
    assert m["cells_occupied"] == 1
    assert m["cell_entropy"] == pytest.approx(0.0, abs=1e-12)


def test_uniform_over_modes(ring):
    x = np.tile(ring.centres, (25, 1))   # 25 samples exactly at each of the 8 centres
    m = metrics(ring, x)
    assert m["modes_covered"] == 8
    assert m["hq_fraction"] == 1.0
    # p_k = 1/8: Σ (1/8) log(8/8) = 0
    assert m["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    # H = -Σ (1/8) log(1/8) = log 8
    assert m["cell_entropy"] == pytest.approx(math.log(8), abs=1e-12)
    assert m["cells_occupied"] == 8


def test_two_modes_half_and_half(ring):
    # p = (½, ½, 0, ...): KL = 2·½·log(8·½) = log 4; entropy log 2
    x = np.concatenate([np.repeat(ring.centres[:1], 10, 0), np.repeat(ring.centres[5:6], 10, 0)])
    m = metrics(ring, x)
    assert m["modes_covered"] == 2
    assert m["reverse_kl"] == pytest.approx(math.log(4), abs=1e-12)
    assert m["cell_entropy"] == pytest.approx(math.log(2), abs=1e-12)
    assert m["cells_occupied"] == 2


def test_all_far_away(ring):
    x = np.full((50, 2), 100.0)
    m = metrics(ring, x)
    assert m["modes_covered"] == 0
    assert m["hq_fraction"] == 0.0
    assert math.isnan(m["reverse_kl"])
    # without a quality filter the mass still sits in one nearest-centre cell: the one at π/4
    assert m["cells_occupied"] == 1 and m["cell_entropy"] == pytest.approx(0.0, abs=1e-12)
    idx, dist = nearest_mode(x[:1], ring.centres)
    assert idx[0] == 1
    # distance from (100, 100) to (√2, √2) is √2·(100 - √2)
    assert dist[0] == pytest.approx(math.sqrt(2) * (100 - math.sqrt(2)), rel=1e-12)


def test_hq_radius_is_hq_std_times_std(ring):
    c = ring.centres[0]                       # (2, 0); std 0.02, so the HQ radius is 0.06
    x = np.array([c + [0.059, 0.0], c + [0.0, -0.061], c + [0.0, 0.03]])
    m = metrics(ring, x)
    assert m["hq_fraction"] == pytest.approx(2 / 3)
    m2 = metrics(ring, x, hq_std=1.0)         # radius 0.02: all three lie farther out
    assert m2["hq_fraction"] == 0.0 and m2["modes_covered"] == 0


def test_min_count(ring):
    c = ring.centres
    x = np.concatenate([np.repeat(c[:1], 3, 0), np.repeat(c[1:2], 1, 0), np.repeat(c[2:3], 2, 0)])
    # HQ counts per mode: (3, 1, 2, 0, ...)
    assert metrics(ring, x, min_count=1)["modes_covered"] == 3
    assert metrics(ring, x, min_count=2)["modes_covered"] == 2   # "at least": 2 counts
    assert metrics(ring, x, min_count=3)["modes_covered"] == 1
    assert metrics(ring, x, min_count=4)["modes_covered"] == 0
    # min_count changes coverage only; the HQ histogram and KL stay the same
    assert metrics(ring, x, min_count=4)["reverse_kl"] == metrics(ring, x)["reverse_kl"]
    np.testing.assert_array_equal(mode_histogram(x, c, ring.std), [3, 1, 2, 0, 0, 0, 0, 0])


def test_min_count_counts_hq_samples_only(ring):
    c = ring.centres[0]
    # two samples near mode 0 but only one inside 3σ
    x = np.array([c, c + [0.5, 0.0]])
    assert metrics(ring, x, min_count=2)["modes_covered"] == 0
    assert metrics(ring, x, min_count=1)["modes_covered"] == 1


def test_non_finite_samples_are_not_hq(ring):
    c = ring.centres[2]
    x = np.array([c, c, [np.nan, c[1]], [np.inf, 0.0], [-np.inf, np.inf]])
    m = metrics(ring, x)
    assert m["hq_fraction"] == pytest.approx(2 / 5)   # the denominator is all samples
    assert m["modes_covered"] == 1
    # non-finite samples are left out of the cell histogram, so the mass is all in one cell
    assert m["cells_occupied"] == 1 and m["cell_entropy"] == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(mode_histogram(x, ring.centres, ring.std), [0, 0, 2, 0, 0, 0, 0, 0])


def test_all_non_finite(ring):
    m = metrics(ring, np.full((10, 2), np.nan))
    assert m["modes_covered"] == 0 and m["hq_fraction"] == 0.0
    assert math.isnan(m["reverse_kl"]) and math.isnan(m["cell_entropy"])
    assert m["cells_occupied"] == 0


def test_cells_occupied_threshold(ring):
    # A cell counts as occupied with at least 1/(4K) = 1/32 of the samples.
    # 64 samples: 62 in cell 0, 2 in cell 1 (exactly 1/32), none elsewhere → 2 cells.
    c = ring.centres
    x = np.concatenate([np.repeat(c[:1], 62, 0), np.repeat(c[1:2], 2, 0)])
    assert metrics(ring, x)["cells_occupied"] == 2
    # 65 samples: 63 + 2 → 2/65 < 1/32 → 1 cell
    x = np.concatenate([np.repeat(c[:1], 63, 0), np.repeat(c[1:2], 2, 0)])
    assert metrics(ring, x)["cells_occupied"] == 1


# --------------------------------------------------------------------------------------------
# Chance coverage
# --------------------------------------------------------------------------------------------


def _padded_box(ds, hq_std=3.0):
    lo, hi = ds.centres.min(0), ds.centres.max(0)
    pad = hq_std * ds.std + 0.1 * (hi - lo)
    return lo - pad, hi + pad


def test_chance_coverage_closed_form(ring, grid):
    # Ring: centres span [-2, 2]², pad = 3·0.02 + 0.1·4 = 0.46 → box side 4.92, area 24.2064;
    # disc radius 0.06 → area π·0.0036; p = 4.6724e-4 and 8·(1 - (1 - p)^2500) = 5.512.
    p = math.pi * 0.06 ** 2 / 4.92 ** 2
    assert chance_coverage(2500, ring.centres, ring.std) == pytest.approx(8 * (1 - (1 - p) ** 2500), rel=1e-9)
    assert chance_coverage(2500, ring.centres, ring.std) == pytest.approx(5.512, abs=2e-3)
    # Grid: span [-4, 4]², pad = 0.15 + 0.8 = 0.95 → side 9.9; disc radius 0.15;
    # p = π·0.0225/98.01 = 7.2121e-4 and 25·(1 - (1 - p)^2500) = 20.88.
    p = math.pi * 0.15 ** 2 / 9.9 ** 2
    assert chance_coverage(2500, grid.centres, grid.std) == pytest.approx(25 * (1 - (1 - p) ** 2500), rel=1e-9)
    assert chance_coverage(2500, grid.centres, grid.std) == pytest.approx(20.88, abs=1e-2)


def test_chance_coverage_in_design_ranges(ring, grid):
    # about 5–6 of the ring's 8 discs and 21–23 of the grid's 25 (±1.5 allowed here)
    assert 5 - 1.5 <= chance_coverage(2500, ring.centres, ring.std) <= 6 + 1.5
    assert 21 - 1.5 <= chance_coverage(2500, grid.centres, grid.std) <= 23 + 1.5


def test_chance_coverage_min_count(ring):
    c1 = chance_coverage(2500, ring.centres, ring.std, min_count=1)
    c2 = chance_coverage(2500, ring.centres, ring.std, min_count=2)
    assert c2 < c1
    # P[Bin(N, p) ≥ 2] = 1 - (1-p)^N - N p (1-p)^(N-1)
    p, n = math.pi * 0.06 ** 2 / 4.92 ** 2, 2500
    assert c2 == pytest.approx(8 * (1 - (1 - p) ** n - n * p * (1 - p) ** (n - 1)), rel=1e-9)
    assert chance_coverage(0, ring.centres, ring.std) == 0.0


@pytest.mark.parametrize("name", ["ring", "grid"])
def test_chance_coverage_matches_monte_carlo(name, ring, grid):
    ds = ring if name == "ring" else grid
    lo, hi = _padded_box(ds)
    rng = np.random.default_rng(0)
    reps, n = 200, 2500
    covered = []
    for _ in range(reps):
        x = rng.uniform(lo, hi, size=(n, 2))
        m = coverage_metrics(x, ds.centres, ds.std)
        covered.append(m["modes_covered"])
        assert m["hq_fraction"] < 0.03   # diffuse: almost nothing is high quality
    mc = float(np.mean(covered))
    expected = chance_coverage(n, ds.centres, ds.std)
    # the per-rep std is ≈ √(K p̄ (1 - p̄)) ≤ 2, so the standard error of the mean is < 0.15
    assert mc == pytest.approx(expected, abs=0.45)
    assert m["chance_coverage"] == expected


def test_diffuse_vs_collapse_vs_success(ring):
    rng = np.random.default_rng(1)
    lo, hi = _padded_box(ring)
    diffuse = metrics(ring, rng.uniform(lo, hi, size=(2500, 2)))
    collapse = metrics(ring, ring.centres[0] + 0.3 + rng.normal(0, 0.05, size=(2500, 2)))
    success = metrics(ring, ring.sample(2500, seed=0).numpy())
    assert diffuse["cells_occupied"] == 8 and diffuse["hq_fraction"] < 0.03
    assert collapse["cells_occupied"] <= 2 and collapse["hq_fraction"] == 0.0
    assert success["cells_occupied"] == 8 and success["modes_covered"] == 8
    assert success["hq_fraction"] > 0.98   # P[|N(0, σ²I₂)| ≤ 3σ] = 1 - e^(-4.5) = 0.9889
    assert success["reverse_kl"] < 0.01
