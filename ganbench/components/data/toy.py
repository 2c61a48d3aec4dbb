"""Toy datasets: the 8-Gaussian ring, the 25-Gaussian grid and the 1-D Dirac-GAN.

Every sampler exposes its mode centres and std, which the coverage metrics use.
Sampling uses one ``torch.Generator`` per seed, so seed ``s`` of an S-seed trial sees
exactly the data stream of a 1-seed trial with seed ``s``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Sequence

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from ganbench.registry import Registry


class Params(BaseModel):
    """Base for dataset parameter models: strict, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ToyDataset:
    """A mixture of isotropic Gaussians with known centres.

    Attributes:
        kind: ``"toy2d"`` (mixtures) or ``"dirac"``.
        dim: sample dimension.
        centres: ``[K, dim]`` float64 array of mode centres.
        std: per-mode standard deviation (data units).
    """

    kind: ClassVar[str] = "toy2d"
    Params: ClassVar[type[BaseModel]]

    def __init__(self, centres: np.ndarray, std: float, params: BaseModel):
        self.centres = np.asarray(centres, dtype=np.float64)
        self.std = float(std)
        self.dim = self.centres.shape[1]
        self.params = params
        self._centres_t: dict[str, torch.Tensor] = {}
        self._idx: dict[str, torch.Tensor] = {}

    @property
    def n_modes(self) -> int:
        return len(self.centres)

    def centres_on(self, device: torch.device) -> torch.Tensor:
        key = str(device)
        if key not in self._centres_t:
            self._centres_t[key] = torch.as_tensor(self.centres, dtype=torch.float32, device=device)
        return self._centres_t[key]

    def sample_into(self, out: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Fill ``out`` (``[B, dim]``) with samples drawn with ``gen``."""
        b = out.shape[0]
        centres = self.centres_on(out.device)
        idx = torch.randint(len(centres), (b,), generator=gen, device=out.device)
        torch.randn(out.shape, generator=gen, out=out, device=out.device)
        out.mul_(self.std).add_(centres[idx])
        return out

    def sample_seeds_into(self, out: torch.Tensor, gens: Sequence[torch.Generator]) -> torch.Tensor:
        """Fill ``out`` (``[S, B, dim]``), slice ``s`` with ``gens[s]``: the same numbers as
        ``sample_into(out[s], gens[s])`` for each ``s`` (each generator draws the mode indices,
        then the offsets), with the scale-and-shift done once for all seeds."""
        S, b = out.shape[:2]
        centres = self.centres_on(out.device)
        idx = self._idx.get(str(out.device))
        if idx is None or idx.shape != (S, b):
            idx = self._idx[str(out.device)] = torch.empty(S, b, dtype=torch.long, device=out.device)
        for s, gen in enumerate(gens):
            torch.randint(len(centres), (b,), generator=gen, out=idx[s])
            torch.randn(out.shape[1:], generator=gen, out=out[s])
        # index_select rather than centres[idx]: the same numbers, a cheaper gather kernel
        # (13 vs 22 µs at S = 8, B = 512, and up to 0.3 ms inside a training step)
        return out.mul_(self.std).add_(torch.index_select(centres, 0, idx.view(-1)).view(S, b, -1))

    def sample(self, n: int, seed: int, device: str | torch.device = "cpu") -> torch.Tensor:
        """``n`` samples (``[n, dim]``) from a generator seeded with ``seed``."""
        gen = torch.Generator(device=device).manual_seed(int(seed))
        return self.sample_into(torch.empty(n, self.dim, device=device), gen)

    def protocol(self) -> dict[str, Any]:
        """What the report's Methods section and the manifest record about this dataset."""
        return {"kind": self.kind, "dim": self.dim, "centres": self.centres.tolist(),
                "std": self.std, "params": self.params.model_dump()}


DATASETS: Registry[type[ToyDataset]] = Registry("dataset")


class RingParams(Params):
    modes: int = Field(8, gt=0, le=10_000, description="number of Gaussians on the circle")
    radius: float = Field(2.0, gt=0, description="circle radius")
    std: float = Field(0.02, gt=0, description="per-mode standard deviation")


@DATASETS.register("ring", "K isotropic Gaussians evenly spaced on a circle (default 8, r=2, std=0.02)")
class Ring(ToyDataset):
    Params = RingParams

    def __init__(self, params: RingParams):
        angles = 2 * math.pi * np.arange(params.modes) / params.modes
        centres = params.radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        super().__init__(centres, params.std, params)


class GridParams(Params):
    side: int = Field(5, gt=0, le=100, description="modes per side")
    spacing: float = Field(2.0, gt=0, description="distance between neighbouring modes")
    std: float = Field(0.05, gt=0, description="per-mode standard deviation")


@DATASETS.register("grid", "side×side Gaussians on a square grid (default 5×5 at {-4,...,4}², std=0.05)")
class Grid(ToyDataset):
    Params = GridParams

    def __init__(self, params: GridParams):
        axis = params.spacing * (np.arange(params.side) - (params.side - 1) / 2)
        xx, yy = np.meshgrid(axis, axis, indexing="ij")
        centres = np.stack([xx.ravel(), yy.ravel()], axis=1)
        super().__init__(centres, params.std, params)


class DiracParams(Params):
    h: float | None = Field(None, gt=0, description="SGD step size (default: optimizer.lr if "
                            "the suite's optimizer is sgd, else 0.2)")
    theta0: float = Field(1.0, description="initial generator parameter θ")
    psi0: float = Field(1.0, description="initial discriminator parameter ψ")


@DATASETS.register("dirac", "Dirac-GAN (Mescheder et al. 2018): data δ₀, G emits θ, D(x)=ψ·x, plain SGD")
class Dirac(ToyDataset):
    """The Dirac-GAN: the data is a point mass at 0.

    In the paper's sign convention ``L(θ, ψ) = f(ψθ) + f(0)`` with ``f(t) = -log(1 + e^{-t})``,
    where D maximises and G minimises L. ganbench's losses take "high = real" logits, so the
    Dirac discriminator emits the logit ``-ψ·x``; with the ``minimax`` loss,
    ``L_D = -L`` and ``L_G = f(ψθ)``, i.e. exactly the paper's game in the paper's ψ.
    """

    kind = "dirac"
    Params = DiracParams

    def __init__(self, params: DiracParams):
        super().__init__(np.zeros((1, 1)), 0.0, params)

    def sample_into(self, out: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return out.zero_()

    def sample_seeds_into(self, out: torch.Tensor, gens: Sequence[torch.Generator]) -> torch.Tensor:
        return out.zero_()
