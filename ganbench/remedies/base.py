"""The remedy interface: hooks the training loop calls at fixed points.

Every hook has a no-op default, so a remedy overrides only what it changes. Hooks act on
tensors with the leading seed axis (``[S, B, ...]``) and per-seed values ``[S]``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ganbench.registry import Registry


class RemedyParams(BaseModel):
    """Base for remedy parameters: strict, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Remedy:
    """Base class for remedies. ``Params`` validates the suite's settings for it."""

    Params: ClassVar[type[RemedyParams]] = RemedyParams

    def __init__(self, params: RemedyParams):
        self.params = params

    def describe(self) -> dict[str, Any]:
        """Settings as recorded in the report."""
        return self.params.model_dump()


REMEDIES: Registry[type[Remedy]] = Registry("remedy")
