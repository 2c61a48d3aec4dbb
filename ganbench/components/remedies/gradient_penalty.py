"""Gradient penalties: WGAN-GP (Gulrajani et al. 2017) and R1/R2 (Mescheder et al. 2018).

Conventions (per seed, averaged over the batch; ``∇`` is the gradient of D's logit/critic
value with respect to its input, computed with ``create_graph`` so D trains through it):

* ``wgan_gp``: ``weight · E_x̂ (‖∇D(x̂)‖₂ − 1)²`` at ``x̂ = ε·x_real + (1−ε)·x_fake``,
  ``ε ~ U[0, 1]`` per sample (the paper uses weight λ = 10).
* ``r1``: ``(weight / 2) · E_{x~p_data} ‖∇D(x)‖₂²`` on real samples (γ = weight).
* ``r2``: ``(weight / 2) · E_{x~p_G} ‖∇D(x)‖₂²`` on generated samples.

With packing, the penalty applies to D's packed inputs.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from ganbench.components.nets.mlp import stream_seed
from ganbench.components.remedies.base import REMEDIES, Remedy, RemedyParams, input_gradient


class GradientPenaltyParams(RemedyParams):
    kind: Literal["wgan_gp", "r1", "r2"] = "wgan_gp"
    weight: float = Field(10.0, ge=0, description="λ for wgan_gp, γ for r1/r2")


def wgan_gp_penalty(grad: torch.Tensor, weight: float) -> torch.Tensor:
    """``weight · E(‖g‖ − 1)²`` per seed for input gradients ``grad`` ``[S, B, d]``."""
    norm = grad.square().sum(-1).add(1e-12).sqrt()
    return weight * (norm - 1.0).square().mean(-1)


def r_penalty(grad: torch.Tensor, weight: float) -> torch.Tensor:
    """``(weight / 2) · E‖g‖²`` per seed for input gradients ``grad`` ``[S, B, d]``."""
    return 0.5 * weight * grad.square().sum(-1).mean(-1)


@REMEDIES.register("gradient_penalty", "kind wgan_gp: λ·E(‖∇D(x̂)‖−1)² at interpolates (Gulrajani et al. 2017); r1/r2: (γ/2)·E‖∇D‖² on real/fake (Mescheder et al. 2018)")
class GradientPenalty(Remedy):
    """Adds a gradient penalty to D's loss (see the module docstring for the conventions)."""

    Params = GradientPenaltyParams

    def attach(self, trainer) -> None:
        self.gens = [torch.Generator(device=trainer.device).manual_seed(stream_seed(s, "remedy", 2))
                     for s in trainer.seeds]

    def second_order_d(self) -> bool:
        return True

    def d_penalty(self, trainer, real_in: torch.Tensor, fake_in: torch.Tensor) -> torch.Tensor:
        p = self.params
        if p.kind == "r1":
            return r_penalty(input_gradient(trainer, real_in), p.weight)
        if p.kind == "r2":
            return r_penalty(input_gradient(trainer, fake_in), p.weight)
        eps = torch.empty(real_in.shape[0], real_in.shape[1], 1, device=real_in.device)
        for s, g in enumerate(self.gens):
            torch.rand(eps.shape[1:], generator=g, out=eps[s])
        x_hat = eps * real_in.detach() + (1 - eps) * fake_in.detach()
        return wgan_gp_penalty(input_gradient(trainer, x_hat), p.weight)
