"""One-sided label smoothing (Salimans et al. 2016): real targets set below 1."""

from __future__ import annotations

from pydantic import Field

from ganbench.components.remedies.base import REMEDIES, Build, Remedy, RemedyParams


class LabelSmoothingParams(RemedyParams):
    real: float = Field(0.9, gt=0, lt=1, description="target for real samples (fake stays 0)")


@REMEDIES.register("label_smoothing", "one-sided label smoothing: D's real target set to `real` (default 0.9) (Salimans et al. 2016)")
class LabelSmoothing(Remedy):
    """D's cross-entropy real term uses target ``real`` instead of 1; fake targets stay 0
    (one-sided, so D is not pushed to reward fakes). Only for cross-entropy losses."""

    Params = LabelSmoothingParams

    def configure(self, build: Build) -> None:
        build.real_target = self.params.real
