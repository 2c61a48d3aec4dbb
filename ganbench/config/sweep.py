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

The block is parsed into a :class:`Sweep` (``samples``, ``seed`` and ``axes``: path →
:class:`Axis`, each knowing its space and whether it is log-scaled). ``Sweep.model_dump()``
is the record of the sweep (``{"samples", "seed", "axes": {path: {"space", "values",
"log"}}}``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, computed_field, field_validator, model_validator

SPACE_KINDS = ("grid", "choice", "uniform", "loguniform", "randint")
RESERVED = ("samples", "seed")
ROOTS = ("optimizer", "model", "n_critic", "activation", "dataset", "remedies")

SpaceKind = Literal["grid", "choice", "uniform", "loguniform", "randint"]


def parse_path(path: str) -> list[str | int]:
    """Split a dotted path; integer segments become list indices."""
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def path_problems(path: str) -> list[str]:
    """Readable problems with a swept path (where it points, not what it holds)."""
    segs = parse_path(path)
    if segs[0] not in ROOTS:
        return [f"cannot sweep {path!r}: a path starts with one of {', '.join(ROOTS)}"]
    if segs[0] == "remedies" and len(segs) < 3:
        return [f"{path!r}: remedy paths are remedies.<remedy>.<param>"]
    return []


def _space_shape_problems(space: Any) -> list[str]:
    """Readable problems with one ``{kind: args}`` search space."""
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


def space_problems(path: str, space: Any) -> list[str]:
    """Readable problems with one ``path: space`` entry of the sweep block."""
    return path_problems(path) or _space_shape_problems(space)


def _check_path(path: str) -> str:
    problems = path_problems(path)
    if problems:
        raise ValueError(problems[0])
    return path


SweepPath = Annotated[str, AfterValidator(_check_path)]


class Axis(BaseModel):
    """One swept field: its search space and the space's values (grid/choice: every value;
    uniform/loguniform/randint: ``[low, high]``). Written ``{space: values}`` in the suite."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    space: SpaceKind
    values: list[Any]

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, v: Any) -> Any:
        if isinstance(v, Mapping) and "space" in v and set(v) <= {"space", "values", "log"}:
            return {k: x for k, x in v.items() if k != "log"}  # the dump of an Axis
        problems = _space_shape_problems(v)
        if problems:
            raise ValueError(problems[0])
        kind, arg = next(iter(v.items()))
        return {"space": kind, "values": list(arg)}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def log(self) -> bool:
        """Whether the axis is log-scaled (a ``loguniform`` space)."""
        return self.space == "loguniform"

    def as_yaml(self) -> dict[str, list[Any]]:
        """The space as the suite writes it: ``{space: values}``."""
        return {self.space: list(self.values)}

    def endpoints(self) -> list[Any]:
        """Values that must validate: every listed value, or both ends of a range as the
        sampler draws them (floats for uniform/loguniform, ints for randint)."""
        if self.space == "randint":
            return [int(self.values[0]), int(self.values[1]) - 1]
        if self.space in ("uniform", "loguniform"):
            return [float(v) for v in self.values]
        return list(self.values)

    def grid_points(self) -> int:
        return len(self.values) if self.space == "grid" else 1

    def to_tune(self) -> Any:
        """The Ray Tune search space object."""
        from ray import tune

        kind, arg = self.space, self.values
        return {"grid": lambda: tune.grid_search(list(arg)), "choice": lambda: tune.choice(list(arg)),
                "uniform": lambda: tune.uniform(*arg), "loguniform": lambda: tune.loguniform(*arg),
                "randint": lambda: tune.randint(int(arg[0]), int(arg[1]))}[kind]()


def _check_int(name: str, v: Any, lo: int, hi: int | None, msg: str) -> Any:
    if not isinstance(v, int) or isinstance(v, bool) or v < lo or (hi is not None and v > hi):
        raise ValueError(msg)
    return v


class Sweep(BaseModel):
    """The suite's ``sweep:`` block: ``samples`` and ``seed`` of the sampler and the swept
    ``axes`` (path → :class:`Axis`, in suite order).

    It also reads as the plain mapping the suite wrote (``samples``, ``seed`` and
    ``path: {space: values}``), for callers that take the block as a dict.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    samples: int = 1
    seed: int = 0
    axes: dict[SweepPath, Axis]

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, v: Any) -> Any:
        if isinstance(v, Sweep):
            return v
        if not isinstance(v, Mapping):
            return v  # pydantic reports the type
        if "axes" in v and set(v) <= {"axes", *RESERVED}:
            return dict(v)  # the dump of a Sweep ('axes' cannot be a swept path)
        out: dict[str, Any] = {k: v[k] for k in RESERVED if k in v}
        out["axes"] = {k: x for k, x in v.items() if k not in RESERVED}
        return out

    @field_validator("samples", mode="before")
    @classmethod
    def _samples(cls, v: Any) -> Any:
        return _check_int("samples", v, 1, 10_000, "samples must be an integer in 1..10000")

    @field_validator("seed", mode="before")
    @classmethod
    def _seed(cls, v: Any) -> Any:
        return _check_int("seed", v, 0, None, "seed must be a non-negative integer")

    @model_validator(mode="after")
    def _some_axis(self) -> "Sweep":
        if not self.axes:
            raise ValueError("a sweep needs at least one dotted field with a search space")
        return self

    def grid_size(self) -> int:
        """How many grid points the ``grid`` axes make (1 without grids)."""
        n = 1
        for ax in self.axes.values():
            n *= ax.grid_points()
        return n

    def trials_per_spec(self) -> int:
        """Hyperparameter samples per dataset × combo: ``samples`` × :meth:`grid_size`."""
        return self.samples * self.grid_size()

    def log_axes(self) -> dict[str, bool]:
        """``path`` → whether that axis is log-scaled."""
        return {p: ax.log for p, ax in self.axes.items()}

    # -- read-only mapping view of the block as written (samples, seed, path: {space: values})
    def keys(self) -> list[str]:
        return [*RESERVED, *self.axes]

    def __getitem__(self, key: str) -> Any:
        if key in RESERVED:
            return getattr(self, key)
        return self.axes[key].as_yaml()

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def __contains__(self, key: object) -> bool:
        return key in RESERVED or key in self.axes

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.keys())

    def __len__(self) -> int:
        return len(RESERVED) + len(self.axes)

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self[k]) for k in self.keys()]

    def values(self) -> list[Any]:
        return [self[k] for k in self.keys()]


def _as_axis(space: Any) -> Axis:
    return space if isinstance(space, Axis) else Axis.model_validate(space)


def endpoint_values(space: Axis | dict[str, Any]) -> list[Any]:
    """Values that must validate: every listed value, or both ends of a range."""
    return _as_axis(space).endpoints()


def to_tune(space: Axis | dict[str, Any]) -> Any:
    """The Ray Tune search space object for one entry."""
    return _as_axis(space).to_tune()


def apply_to_spec(spec: dict[str, Any], values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bool]]:
    """A copy of a TrialSpec dict (:meth:`ganbench.config.suite.TrialSpec.to_dict`) with sampled
    ``values`` applied.

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


def grid_size(sweep: Sweep | Mapping[str, Any] | None) -> int:
    """How many grid points the sweep's ``grid`` spaces make (1 without grids)."""
    if isinstance(sweep, Sweep):
        return sweep.grid_size()
    n = 1
    for v in (sweep or {}).values():
        if isinstance(v, dict) and "grid" in v:
            n *= len(v["grid"])
    return n
