"""Hyperparameter sweeps: the suite's ``sweep:`` block as Ray Tune search spaces.

```yaml
sweep:
  optimizer.lr: {loguniform: [1.0e-5, 1.0e-2]}
  optimizer.betas.0: {choice: [0.0, 0.5, 0.9]}
  remedies.ttur.lr_d: {loguniform: [1.0e-5, 1.0e-2]}
  samples: 20        # hyperparameter samples per dataset × combo (Ray Tune num_samples)
  seed: 0            # seed of the sampler, so a sweep draws the same settings every run
```

A path is a dotted field of one trial: ``optimizer.<field>``, ``model.<...>``, ``n_critic``,
``activation``, ``dataset.<param>`` (the trial's dataset parameters), or
``remedies.<remedy>.<param>`` (applied only to combos that use that remedy; other combos
record it as not applicable). Integer segments index lists (``optimizer.betas.0`` is β₁).
Spaces: ``grid`` (every value, crossed with the other grids), ``choice``, ``uniform``,
``loguniform`` and ``randint`` ([low, high) integers). Every endpoint and listed value is
validated against the schema when the suite is loaded.
"""

from __future__ import annotations

import copy
from typing import Any

SPACE_KINDS = ("grid", "choice", "uniform", "loguniform", "randint")
RESERVED = ("samples", "seed")
ROOTS = ("optimizer", "model", "n_critic", "activation", "dataset", "remedies")


def parse_path(path: str) -> list[str | int]:
    """Split a dotted path; integer segments become list indices."""
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def space_problems(path: str, space: Any) -> list[str]:
    """Readable problems with one ``path: space`` entry of the sweep block."""
    segs = parse_path(path)
    if segs[0] not in ROOTS:
        return [f"cannot sweep {path!r}: a path starts with one of {', '.join(ROOTS)}"]
    if segs[0] == "remedies" and len(segs) < 3:
        return [f"{path!r}: remedy paths are remedies.<remedy>.<param>"]
    if not isinstance(space, dict) or len(space) != 1:
        return [f"a search space is one of {{{', '.join(k + ': ...' for k in SPACE_KINDS)}}}"]
    kind, arg = next(iter(space.items()))
    if kind not in SPACE_KINDS:
        return [f"unknown search space {kind!r}; use one of {', '.join(SPACE_KINDS)}"]
    if kind in ("grid", "choice"):
        if not isinstance(arg, list) or not arg:
            return [f"{kind} takes a non-empty list of values"]
        return []
    if (not isinstance(arg, list) or len(arg) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in arg)):
        return [f"{kind} takes [low, high]"]
    lo, hi = arg
    if not lo < hi:
        return [f"{kind} needs low < high, got [{lo}, {hi}]"]
    if kind == "loguniform" and lo <= 0:
        return ["loguniform needs low > 0"]
    if kind == "randint" and not (float(lo).is_integer() and float(hi).is_integer()):
        return ["randint takes integer bounds"]
    return []


def endpoint_values(space: dict[str, Any]) -> list[Any]:
    """Values that must validate: every listed value, or both ends of a range."""
    kind, arg = next(iter(space.items()))
    if kind == "randint":
        return [int(arg[0]), int(arg[1]) - 1]
    return list(arg)


def to_tune(space: dict[str, Any]) -> Any:
    """The Ray Tune search space object for one entry."""
    from ray import tune

    kind, arg = next(iter(space.items()))
    return {"grid": lambda: tune.grid_search(list(arg)), "choice": lambda: tune.choice(list(arg)),
            "uniform": lambda: tune.uniform(*arg), "loguniform": lambda: tune.loguniform(*arg),
            "randint": lambda: tune.randint(int(arg[0]), int(arg[1]))}[kind]()


def apply_to_spec(spec: dict[str, Any], values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bool]]:
    """A copy of a TrialSpec dict with sampled ``values`` applied.

    Returns ``(spec, applied)`` where ``applied[path]`` is False for remedy paths of remedies
    the combo does not use.
    """
    out = copy.deepcopy(spec)
    applied: dict[str, bool] = {}
    for path, value in values.items():
        segs = parse_path(path)
        root = segs[0]
        if root in ("n_critic",):
            out["n_critic"] = value
        elif root == "activation":
            out["model"]["activation"] = value
        else:
            if root == "remedies" and segs[1] not in out["remedies"]:
                applied[path] = False
                continue
            target: Any = {"optimizer": out["optimizer"], "model": out["model"],
                           "dataset": out["dataset_params"], "remedies": out["remedies"]}[root]
            for seg in segs[1:-1]:
                target = target[seg]
            if isinstance(target, list):
                target[int(segs[-1])] = value
            else:
                target[segs[-1]] = value
        applied[path] = True
    return out, applied


def grid_size(sweep: dict[str, Any] | None) -> int:
    """How many grid points the sweep's ``grid`` spaces make (1 without grids)."""
    n = 1
    for v in (sweep or {}).values():
        if isinstance(v, dict) and "grid" in v:
            n *= len(v["grid"])
    return n
