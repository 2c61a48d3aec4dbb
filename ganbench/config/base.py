"""What every suite block shares: the strict pydantic base and the name pattern."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

#: Suite, combo and claim names: they name folders and files, so letters, digits, ``_.-``.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class Strict(BaseModel):
    """Strict model: unknown keys and wrong types are errors (ints are accepted as floats)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
