"""Sample-quality distances computed with torch-fidelity's statistics functions.

Toy 2-D data: the Fréchet distance between Gaussians fitted to the raw samples
(``‖μ₁-μ₂‖² + Tr(Σ₁ + Σ₂ - 2(Σ₁Σ₂)^½)``, data units squared), computed with
``torch_fidelity.metric_fid.fid_features_to_statistics`` and ``fid_statistics_to_metric``,
the same code that turns Inception features into FID.
"""

from __future__ import annotations

import numpy as np
import torch

FRECHET_DESCRIPTION = ("Fréchet distance between Gaussians fitted (mean, unbiased covariance) to "
                       "the raw real and generated samples, via torch-fidelity 0.4's "
                       "fid_features_to_statistics / fid_statistics_to_metric; units: data units².")


def gaussian_statistics(samples: np.ndarray) -> dict[str, np.ndarray]:
    """Mean and covariance (``{"mu", "sigma"}``, float64) of ``[N, d]`` samples, via torch-fidelity."""
    from torch_fidelity.metric_fid import fid_features_to_statistics

    x = torch.as_tensor(np.asarray(samples, dtype=np.float64))
    stats = fid_features_to_statistics(x)
    return {"mu": np.atleast_1d(stats["mu"]), "sigma": np.atleast_2d(stats["sigma"])}


def frechet_distance(stats_a: dict[str, np.ndarray], stats_b: dict[str, np.ndarray]) -> float:
    """Fréchet distance between two Gaussians given as ``{"mu", "sigma"}``."""
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric

    return float(fid_statistics_to_metric(stats_a, stats_b, verbose=False)[KEY_METRIC_FID])


def toy_frechet(real: np.ndarray, fake: np.ndarray) -> float:
    """Fréchet distance of Gaussians fitted to ``real`` and ``fake`` (NaN if fake is not finite)."""
    fake = np.asarray(fake, dtype=np.float64)
    if not np.isfinite(fake).all() or len(fake) < 2:
        return float("nan")
    return frechet_distance(gaussian_statistics(real), gaussian_statistics(fake))
