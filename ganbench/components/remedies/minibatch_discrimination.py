"""Minibatch discrimination (Salimans et al. 2016) and minibatch stddev (Karras et al. 2018).

Both append features computed across the batch to D's last hidden features ``f``
``[S, N, A]`` (``N`` is D's batch, i.e. ``B / k`` under packing), so D can tell a batch that
lacks diversity, which a per-sample D cannot. Real and fake batches are separate D calls,
so a sample is only ever compared with samples of the same source (the paper's use).

* ``features`` (Salimans et al. 2016, §3.2): a learned tensor ``T`` ``[S, A, B·C]`` maps
  ``f`` to ``M = f T`` viewed as ``[S, N, B, C]``;
  ``c_b(i, j) = exp(-‖M_{i,b} − M_{j,b}‖_1)`` and ``o(i)_b = Σ_{j≠i} c_b(i, j)``. The sum
  leaves out ``j = i`` as the authors' code does (it adds ``10⁶·I`` to the distances); the
  paper's formula includes it, which only adds the constant 1. Output ``[f, o]``
  ``[S, N, A + B]``. ``T`` starts as ``N(0, 1/A)`` per entry from its own per-seed stream
  (``stream_seed(seed, "remedy", 30)``): the authors draw N(0, 0.05²) and weight-normalise
  each kernel column to unit norm over the ``A`` inputs, i.e. entries of size ``1/√A``; with
  a linear output layer after it, their per-kernel bias and weight-norm scale are
  reparametrisations, so ``T`` alone is trained here (it is a parameter of D).
* ``stddev`` (Karras et al. 2018, §3): the standard deviation of each feature over the batch
  (biased, ``sqrt(var + 10⁻⁸)`` as in the authors' code), averaged over the features,
  appended to every sample: ``[S, N, A + 1]``. One group spans the whole batch.
  Identical samples give ``sqrt(10⁻⁸) = 10⁻⁴``.

Gradient penalties also call D on their interpolates, which then compares interpolates with
each other.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field
from torch import nn

from ganbench.components.nets.mlp import stream_seed
from ganbench.components.remedies.base import REMEDIES, Build, Remedy, RemedyParams

Tensor = torch.Tensor
#: ε inside the square root of the minibatch stddev (Karras et al.'s code)
STDDEV_EPS = 1e-8


class MinibatchDiscriminationParams(RemedyParams):
    kind: Literal["features", "stddev"] = Field(
        "features", description="features: Salimans et al. 2016 kernels; stddev: Karras et al. 2018 mean std")
    kernels: int = Field(5, ge=1, le=1024, description="number of kernels B (features kind)")
    kernel_dim: int = Field(3, ge=1, le=1024, description="dimension C of each kernel (features kind)")


class MinibatchFeatures(nn.Module):
    """``f [S, N, A] → [f, o] [S, N, A + B]`` with ``o(i)_b = Σ_{j≠i} exp(-‖M_{i,b} − M_{j,b}‖_1)``.

    Args:
        T: the initial tensor ``[S, A, B·C]`` (becomes a parameter).
        kernels: B.
    """

    def __init__(self, T: Tensor, kernels: int):
        super().__init__()
        self.T = nn.Parameter(T)
        self.kernels = kernels

    def forward(self, f: Tensor) -> Tensor:
        S, N, _ = f.shape
        B = self.kernels
        M = torch.bmm(f, self.T).reshape(S, N, B, -1).transpose(1, 2).reshape(S * B, N, -1)
        dist = torch.cdist(M, M, p=1.0)  # [S·B, N, N]; each (seed, kernel) on its own
        c = torch.exp(-dist) * (1.0 - torch.eye(N, device=f.device, dtype=f.dtype))
        o = c.sum(-1).reshape(S, B, N).transpose(1, 2)
        return torch.cat([f, o], dim=-1)


class MinibatchStddev(nn.Module):
    """``f [S, N, A] → [f, s] [S, N, A + 1]`` with ``s`` the feature-averaged batch std."""

    def forward(self, f: Tensor) -> Tensor:
        std = (f.var(dim=1, unbiased=False, keepdim=True) + STDDEV_EPS).sqrt()  # [S, 1, A]
        s = std.mean(-1, keepdim=True).expand(f.shape[0], f.shape[1], 1)
        return torch.cat([f, s], dim=-1)


def init_kernels(seeds: list[int], features: int, kernels: int, kernel_dim: int) -> Tensor:
    """``T`` ``[S, A, B·C]`` with N(0, 1/A) entries, one stream per seed (CPU, so the
    initialisation is the same on every device)."""
    out = torch.empty(len(seeds), features, kernels * kernel_dim)
    for s, seed in enumerate(seeds):
        g = torch.Generator().manual_seed(stream_seed(seed, "remedy", 30))
        out[s].normal_(0.0, 1.0 / math.sqrt(features), generator=g)
    return out


@REMEDIES.register("minibatch_discrimination", "D sees cross-sample features: learned L1 kernels (Salimans et al. 2016) or the minibatch stddev (Karras et al. 2018)")
class MinibatchDiscrimination(Remedy):
    """Inserts a cross-sample feature layer before D's output layer (see the module
    docstring); D's output layer grows by B inputs (1 for ``stddev``)."""

    Params = MinibatchDiscriminationParams

    def extra_features(self) -> int:
        """Features appended to D's last hidden layer."""
        return self.params.kernels if self.params.kind == "features" else 1

    def configure(self, build: Build) -> None:
        build.d_head_extra += self.extra_features()

    def attach(self, trainer) -> None:
        D = trainer.D
        if not hasattr(D, "pre_head"):
            raise TypeError(f"minibatch_discrimination needs a discriminator with a pre-head feature "
                            f"layer (SeededMLP or SeededConvDiscriminator), not {type(D).__name__}")
        if D.pre_head is not None:
            raise ValueError("minibatch_discrimination: D already has a pre-head feature layer")
        p = self.params
        if p.kind == "features":
            # the flattened features the head sees: last hidden width (MLP) or conv features
            A = D.feature_dim if hasattr(D, "feature_dim") else D.sizes[-2]
            module: nn.Module = MinibatchFeatures(init_kernels(trainer.seeds, A, p.kernels, p.kernel_dim),
                                                  p.kernels)
        else:
            module = MinibatchStddev()
        D.pre_head = module.to(trainer.device)
