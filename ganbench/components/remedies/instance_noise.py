"""Instance noise (Sønderby et al. 2017; Arjovsky & Bottou 2017), annealed to zero."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from ganbench.components.nets.mlp import stream_seed
from ganbench.components.remedies.base import REMEDIES, Remedy, RemedyParams


class InstanceNoiseParams(RemedyParams):
    std: float = Field(0.1, gt=0, description="initial noise std σ₀ (data units)")
    anneal: float = Field(1.0, ge=0, le=1, description="fraction of training over which σ falls to 0 (0: constant σ)")
    schedule: Literal["linear", "constant"] = "linear"


def noise_std(std: float, anneal: float, schedule: str, step: int, total: int) -> float:
    """σ at G step ``step`` (1-based) of ``total``: linear from σ₀ to 0 over
    ``anneal·total`` steps, then 0; constant when ``schedule`` is constant or anneal is 0."""
    if schedule == "constant" or anneal == 0:
        return std
    horizon = anneal * total
    frac = (step - 1) / horizon if horizon > 0 else 1.0
    return std * max(0.0, 1.0 - frac)


@REMEDIES.register("instance_noise", "Gaussian noise of std σ added to every D input, real and fake, annealed linearly to 0 (Sønderby et al. 2017)")
class InstanceNoise(Remedy):
    """Adds ``N(0, σ_t²)`` to every input D sees (real and fake, also in G's step). The
    noise comes from its own per-seed stream, so seeds stay independent."""

    Params = InstanceNoiseParams
    input_order = 10  # before packing

    def attach(self, trainer) -> None:
        self.gens = [torch.Generator(device=trainer.device).manual_seed(stream_seed(s, "remedy", 1))
                     for s in trainer.seeds]
        self.sigma = self.params.std

    def begin_step(self, trainer, step: int) -> None:
        p = self.params
        self.sigma = noise_std(p.std, p.anneal, p.schedule, step, trainer.total_steps)

    def d_input(self, trainer, x: torch.Tensor) -> torch.Tensor:
        if self.sigma <= 0:
            return x
        noise = torch.empty_like(x)
        for s, g in enumerate(self.gens):
            torch.randn(noise.shape[1:], generator=g, out=noise[s])
        return x + self.sigma * noise
