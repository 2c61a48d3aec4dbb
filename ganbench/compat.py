"""The compatibility table: combinations of options that make no sense, in one place.

Each rule is a pure function ``(suite, combo_name, resolved_combo, dataset) -> message or
None``; a message names both options and says why. ``check_combo`` returns
``(field path within the combo, message)`` pairs for every rule that fires.
"""

from __future__ import annotations

from typing import Any, Callable

from ganbench.data.toy import DATASETS

Rule = Callable[[Any, str, dict[str, Any], str], "str | None"]
RULES: list[tuple[tuple[str, ...], Rule]] = []


def rule(field_path: tuple[str, ...]) -> Callable[[Rule], Rule]:
    """Register a compatibility rule whose problem is reported at ``field_path``."""

    def deco(fn: Rule) -> Rule:
        RULES.append((field_path, fn))
        return fn

    return deco


@rule(("n_critic",))
def _simultaneous_n_critic(suite, name, combo, dataset):
    if combo["update"] == "simultaneous" and combo["n_critic"] != 1:
        return (f"update: simultaneous with n_critic: {combo['n_critic']} is undefined: a "
                "simultaneous step updates D and G once each from the same point; use "
                "update: alternating for several D steps per G step")
    return None


@rule(("optimizer", "batch_size"))
def _eval_vs_batch(suite, name, combo, dataset):
    return None


def check_combo(suite: Any, name: str, combo: dict[str, Any], dataset: str) -> list[tuple[tuple[str, ...], str]]:
    """Every rule violated by ``combo`` on ``dataset``: ``[(field path, message)]``."""
    if dataset not in DATASETS:
        return []
    out = []
    for path, fn in RULES:
        msg = fn(suite, name, combo, dataset)
        if msg:
            out.append((path, msg))
    return out
