"""The suite's ``reference:`` block: a published result the suite reproduces.

A reproduction suite names the paper (BibTeX), the values it published per combo and metric
(each with its table or figure), the paper's protocol where it differs from the run, and the
claims to check. The results stage judges each claim
(:mod:`ganbench.results.reproduction`); the report sets published and measured values side by
side. The block is validated with the rest of the suite; every problem names its field and line
(:func:`reference_problems`).

Values are in ganbench's units (the metric catalog's: shares as fractions, KL in nats); a
published percentage is written as a fraction. A value that the paper does not give is left
out, never filled in.

Claims:

* ``kind: order`` — on ``metric`` and ``dataset``, combo ``higher`` has a higher value than combo
  ``lower`` (say ``higher``/``lower`` of the value, whatever "better" means for the metric);
* ``kind: value`` — on ``metric`` and ``dataset``, combo ``combo`` lies in a band: ``value`` ±
  ``tolerance``, or ``[min, max]`` (either end may be left open).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, model_validator

from ganbench.config.base import NAME_RE, Strict

__all__ = ["Reference", "PublishedValue", "Claim", "ProtocolEntry", "SPREAD_KINDS"]

#: What a published spread means: standard deviation, standard error of the mean, a min–max
#: range half-width, or none given.
SPREAD_KINDS = ("std", "se", "none")


class PublishedValue(Strict):
    """One published number: ``mean`` (± ``spread``) of ``metric`` for ``combo`` on ``dataset``,
    over ``n`` runs of the paper, found at ``source`` (e.g. ``Table 1``)."""

    dataset: str
    combo: str
    metric: str
    mean: float
    spread: float | None = Field(None, ge=0)
    spread_kind: Literal["std", "se", "none"] = "none"
    n: int | None = Field(None, gt=0, description="runs the paper averaged over")
    source: str = Field(min_length=1, max_length=200)
    verified: bool = Field(False, description="true when the number was checked against the "
                           "paper's text; false marks a transcription that still needs that check")

    @model_validator(mode="after")
    def _spread(self) -> "PublishedValue":
        if self.spread is not None and self.spread_kind == "none":
            raise ValueError("spread given without spread_kind (std or se)")
        if self.spread is None and self.spread_kind != "none":
            raise ValueError(f"spread_kind {self.spread_kind!r} given without spread")
        return self


class Claim(Strict):
    """One checkable claim of the paper (see the module docstring for the two kinds)."""

    id: str
    text: str = Field(min_length=1, max_length=500)
    source: str = Field(min_length=1, max_length=200)
    kind: Literal["order", "value"]
    dataset: str
    metric: str
    higher: str | None = None
    lower: str | None = None
    combo: str | None = None
    value: float | None = None
    tolerance: float | None = Field(None, ge=0)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _shape(self) -> "Claim":
        if not NAME_RE.fullmatch(self.id):
            raise ValueError("id must be 1-64 letters, digits, '_', '-', '.'")
        given = {k for k in ("higher", "lower", "combo", "value", "tolerance", "min", "max")
                 if getattr(self, k) is not None}
        if self.kind == "order":
            if not {"higher", "lower"} <= given or given - {"higher", "lower"}:
                raise ValueError("an order claim takes exactly 'higher' and 'lower' (combo names)")
            if self.higher == self.lower:
                raise ValueError("'higher' and 'lower' must be different combos")
        else:
            extra = given & {"higher", "lower"}
            if "combo" not in given or extra:
                raise ValueError("a value claim takes 'combo' and either value/tolerance or min/max")
            point = {"value", "tolerance"} & given
            bounds = {"min", "max"} & given
            if point and bounds:
                raise ValueError("give either value with tolerance or min/max, not both")
            if point and point != {"value", "tolerance"}:
                raise ValueError("'value' needs 'tolerance' (and 'tolerance' needs 'value')")
            if not point and not bounds:
                raise ValueError("a value claim needs value/tolerance or min and/or max")
            if self.min is not None and self.max is not None and self.min > self.max:
                raise ValueError("min exceeds max")
        return self

    def band(self) -> tuple[float, float]:
        """The accepted interval of a value claim (±inf for an open end)."""
        if self.value is not None:
            tol = self.tolerance or 0.0
            return (self.value - tol, self.value + tol)
        return (-math.inf if self.min is None else self.min, math.inf if self.max is None else self.max)


class ProtocolEntry(Strict):
    """The paper's setting of one suite field (a dotted path such as ``budget.steps``)."""

    paper: Any
    note: str = Field("", max_length=500)


class Reference(Strict):
    """The ``reference:`` block of a reproduction suite."""

    title: str = Field(min_length=1, max_length=300, description="short name, e.g. "
                       "'Lin et al. 2018 (PacGAN), Table 1'")
    bibtex: str = Field(min_length=10, max_length=5000)
    url: str | None = Field(None, max_length=500)
    names: dict[str, str] = Field(default_factory=dict, description="combo → the paper's name")
    values: list[PublishedValue] = Field(default_factory=list)
    claims: list[Claim] = Field(min_length=1)
    protocol: dict[str, ProtocolEntry] = Field(default_factory=dict,
                                               description="suite field path → the paper's value")
    differences: list[str] = Field(default_factory=list,
                                   description="protocol differences no suite field expresses")
    not_found: list[str] = Field(default_factory=list,
                                 description="values the paper does not give (never invented)")
    code: str | None = Field(None, max_length=500, description="the authors' code the setting "
                             "follows, if any")

    @model_validator(mode="after")
    def _unique_ids(self) -> "Reference":
        seen: set[str] = set()
        for c in self.claims:
            if c.id in seen:
                raise ValueError(f"claim id {c.id!r} is used twice")
            seen.add(c.id)
        return self
