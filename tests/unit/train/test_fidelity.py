"""Tests for ganbench.train.measures.fidelity: the toy Fréchet distance against closed forms.

For N(μ₁, Σ₁) and N(μ₂, Σ₂): FD = ‖μ₁ - μ₂‖² + Tr(Σ₁ + Σ₂ - 2(Σ₁Σ₂)^½).
* Diagonal Σ with variances σ₁ᵢ, σ₂ᵢ: (Σ₁Σ₂)^½ = diag(√(σ₁ᵢσ₂ᵢ)), so
  FD = ‖μ₁ - μ₂‖² + Σᵢ (σ₁ᵢ + σ₂ᵢ - 2√(σ₁ᵢσ₂ᵢ)) = ‖μ₁ - μ₂‖² + Σᵢ (√σ₁ᵢ - √σ₂ᵢ)².
* Commuting Σ₁ = R diag(a) Rᵀ, Σ₂ = R diag(b) Rᵀ (same eigenvectors): the same formula in a, b.
* Any 2×2 pair: M = Σ₁Σ₂ has eigenvalues λ₁, λ₂ ≥ 0 and Tr M^½ = √λ₁ + √λ₂ =
  √(Tr M + 2√det M), because (√λ₁ + √λ₂)² = λ₁ + λ₂ + 2√(λ₁λ₂).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ganbench.train.measures.fidelity import FRECHET_DESCRIPTION, frechet_distance, gaussian_statistics


def stats(mu, sigma):
    return {"mu": np.asarray(mu, dtype=np.float64), "sigma": np.asarray(sigma, dtype=np.float64)}


def test_diagonal_closed_form():
    mu1, mu2 = [1.0, -2.0, 0.5], [0.0, 1.0, 0.5]
    v1, v2 = [4.0, 1.0, 0.25], [1.0, 9.0, 0.25]
    # ‖Δμ‖² = 1 + 9 + 0 = 10
    # Σ (√v1 - √v2)² = (2 - 1)² + (1 - 3)² + (0.5 - 0.5)² = 1 + 4 + 0 = 5 → FD = 15
    fd = frechet_distance(stats(mu1, np.diag(v1)), stats(mu2, np.diag(v2)))
    assert fd == pytest.approx(15.0, abs=1e-8)
    ref = sum((a - b) ** 2 for a, b in zip(mu1, mu2)) + sum(a + b - 2 * math.sqrt(a * b) for a, b in zip(v1, v2))
    assert fd == pytest.approx(ref, abs=1e-8)


def test_commuting_non_diagonal_closed_form():
    th = 0.3
    r = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
    a, b = [2.0, 0.5], [0.5, 3.0]
    s1, s2 = r @ np.diag(a) @ r.T, r @ np.diag(b) @ r.T
    assert abs(s1[0, 1]) > 0.1   # genuinely non-diagonal
    mu1, mu2 = [0.3, 0.4], [0.0, 0.0]
    # ‖Δμ‖² = 0.09 + 0.16 = 0.25;  Σ(a + b - 2√(ab)) = (2.5 - 2) + (3.5 - 2√1.5) = 4 - 2√1.5
    ref = 0.25 + 4 - 2 * math.sqrt(1.5)
    assert frechet_distance(stats(mu1, s1), stats(mu2, s2)) == pytest.approx(ref, abs=1e-8)


def test_non_commuting_2x2_closed_form():
    s1 = np.array([[2.0, 0.7], [0.7, 1.0]])
    s2 = np.array([[1.0, -0.3], [-0.3, 0.5]])
    m = s1 @ s2
    assert not np.allclose(m, m.T)   # Σ₁, Σ₂ do not commute
    tr_sqrt = math.sqrt(np.trace(m) + 2 * math.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    ref = 1.0 + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt   # Δμ = (1, 0)
    assert frechet_distance(stats([1.0, 0.0], s1), stats([0.0, 0.0], s2)) == pytest.approx(ref, abs=1e-8)


def test_identical_stats_give_zero():
    s = stats([1.0, 2.0], [[1.0, 0.2], [0.2, 0.5]])
    assert frechet_distance(s, s) == pytest.approx(0.0, abs=1e-8)


def test_gaussian_statistics_unbiased():
    x = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [2.0, 4.0]])
    st = gaussian_statistics(x)
    np.testing.assert_allclose(st["mu"], [1.0, 2.0])
    # var of (0, 2, 0, 2) with n-1 = 3: (4·1)/3; var of (0, 0, 4, 4): (4·4)/3; covariance 0
    np.testing.assert_allclose(st["sigma"], [[4 / 3, 0.0], [0.0, 16 / 3]], atol=1e-12)
    assert st["mu"].dtype == np.float64 and st["sigma"].shape == (2, 2)


def test_gaussian_statistics_1d():
    st = gaussian_statistics(np.array([[1.0], [3.0]]))
    assert st["mu"].shape == (1,) and st["sigma"].shape == (1, 1)
    assert st["sigma"][0, 0] == pytest.approx(2.0)   # ((1-2)² + (3-2)²)/1


def _fd(real, fake):
    """The toy evaluator's Fréchet distance: Gaussians fitted to the raw samples."""
    return frechet_distance(gaussian_statistics(real), gaussian_statistics(fake))


def test_toy_frechet_large_samples():
    rng = np.random.default_rng(0)
    n = 200_000
    real = rng.normal([0.0, 0.0], [1.0, 2.0], size=(n, 2))
    fake = rng.normal([1.0, -1.0], [3.0, 0.5], size=(n, 2))
    # ‖Δμ‖² = 2; variances (1, 4) vs (9, 0.25): (1 - 3)² + (2 - 0.5)² = 4 + 2.25 → FD = 8.25
    assert _fd(real, fake) == pytest.approx(8.25, rel=0.02)


def test_toy_frechet_self_is_zero():
    x = np.random.default_rng(1).normal(size=(5000, 2))
    assert abs(_fd(x, x)) < 1e-8


def test_toy_frechet_float32_and_float64_mix():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(1000, 2))
    fake = real.astype(np.float32)
    assert abs(_fd(real, fake)) < 1e-5


def test_description_names_the_method():
    assert "torch-fidelity" in FRECHET_DESCRIPTION and "unbiased" in FRECHET_DESCRIPTION
