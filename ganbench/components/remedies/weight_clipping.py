"""Weight clipping for the original WGAN critic (Arjovsky et al. 2017)."""

from __future__ import annotations

import torch
from pydantic import Field

from ganbench.components.remedies.base import REMEDIES, Remedy, RemedyParams


class WeightClippingParams(RemedyParams):
    clip: float = Field(0.01, gt=0, description="every critic parameter is clamped to [-clip, clip]")


@REMEDIES.register("weight_clipping", "clamp every critic parameter to [-clip, clip] after each D step (WGAN, Arjovsky et al. 2017)")
class WeightClipping(Remedy):
    """After every D optimiser step, clamp each D parameter to ``[-clip, clip]``
    (a crude Lipschitz constraint; requires the ``wasserstein`` loss)."""

    Params = WeightClippingParams

    def after_d_step(self, trainer) -> None:
        c = self.params.clip
        with torch.no_grad():
            for p in trainer.d_params:
                p.clamp_(-c, c)
