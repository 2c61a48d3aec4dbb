"""Two time-scale update rule (Heusel et al. 2017): separate learning rates for D and G."""

from __future__ import annotations

from pydantic import Field

from ganbench.components.remedies.base import REMEDIES, Build, Remedy, RemedyParams


class TTURParams(RemedyParams):
    lr_d: float = Field(4.0e-4, gt=0, le=10, description="discriminator learning rate")
    lr_g: float = Field(1.0e-4, gt=0, le=10, description="generator learning rate")
    betas_d: list[float] | None = Field(None, min_length=2, max_length=2, description="Adam betas of D")
    betas_g: list[float] | None = Field(None, min_length=2, max_length=2, description="Adam betas of G")


@REMEDIES.register("ttur", "two time-scale update rule: lr_d and lr_g (and optional betas) per network (Heusel et al. 2017)")
class TTUR(Remedy):
    """Sets D's and G's learning rates (and optionally Adam betas) separately.

    On the Dirac-GAN the learning rates are the SGD step sizes of ψ and θ.
    """

    Params = TTURParams

    def configure(self, build: Build) -> None:
        p = self.params
        build.lr_d, build.lr_g = p.lr_d, p.lr_g
        if p.betas_d is not None:
            build.betas_d = tuple(p.betas_d)
        if p.betas_g is not None:
            build.betas_g = tuple(p.betas_g)
