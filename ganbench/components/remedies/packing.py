"""PacGAN packing (Lin et al. 2018): D judges k samples at once."""

from __future__ import annotations

import torch
from pydantic import Field

from ganbench.components.remedies.base import REMEDIES, Build, Remedy, RemedyParams


class PackingParams(RemedyParams):
    k: int = Field(2, ge=1, le=64, description="samples concatenated per D input")


@REMEDIES.register("packing", "PacGAN: k samples of the same source concatenated into one D input (Lin et al. 2018)")
class Packing(Remedy):
    """Reshapes every D batch ``[S, B, d]`` into ``[S, B/k, k·d]``: k consecutive samples,
    all real or all fake, form one input. D's input layer is k times wider; the batch size
    must be divisible by k (checked at validation)."""

    Params = PackingParams
    input_order = 90  # after per-sample transforms such as instance noise

    def configure(self, build: Build) -> None:
        build.d_input_multiplier *= self.params.k

    def d_input(self, trainer, x: torch.Tensor) -> torch.Tensor:
        k = self.params.k
        if k == 1:
            return x
        s, b, d = x.shape
        return x.reshape(s, b // k, k * d)
