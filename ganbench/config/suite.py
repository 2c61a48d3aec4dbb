"""The suite: a strict pydantic schema, line-aware loading, compatibility checks, grid
expansion into :class:`TrialSpec` s, and the suite hash.

A suite states only deltas from the defaults below (the format in README.md). Every
problem is reported as ``field.path (line N): message``; see :func:`load_suite`.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, create_model, field_validator, model_validator

from ganbench.config.base import NAME_RE, Strict
from ganbench.config.diagnostics import DiagnoseConfig, DynamicsConfig, diagnostics_config
from ganbench.components.data.toy import DATASETS
from ganbench.components.data.toy import Params as DatasetParams
from ganbench.components.nets.activations import ACTIVATIONS
from ganbench.components.objectives import LOSSES
from ganbench.components.remedies.base import RemedyParams
from ganbench.config.reference import Reference
from ganbench.config.sweep import Sweep
from ganbench.config.yamlio import Problem, SuiteError, line_for, load_yaml



class Budget(Strict):
    """Training budget, in optimiser steps of G (each with ``n_critic`` D steps)."""

    steps: int = Field(20_000, gt=0, le=10_000_000)
    eval_every: int = Field(500, gt=0)
    eval_samples: int = Field(2500, gt=1, le=1_000_000)
    log_every: int = Field(50, gt=0)


class NetSpec(Strict):
    hidden: list[int] = Field(default_factory=lambda: [128], min_length=0, max_length=32)
    activation: str | None = None

    @field_validator("hidden")
    @classmethod
    def _positive(cls, v: list[int]) -> list[int]:
        if any(h <= 0 or h > 65536 for h in v):
            raise ValueError("hidden widths must be between 1 and 65536")
        return v


class GeneratorSpec(NetSpec):
    hidden: list[int] = Field(default_factory=lambda: [128, 128], max_length=32)
    z_dim: int = Field(256, gt=0, le=65536)


class ConvSpec(Strict):
    """DCGAN-style conv nets for image datasets (:mod:`ganbench.components.nets.conv`)."""

    width_g: int = Field(64, gt=0, le=4096, description="channels of G's last hidden layer (doubling towards z)")
    width_d: int = Field(64, gt=0, le=4096, description="channels of D's first layer (doubling with depth)")
    batchnorm_g: bool = Field(True, description="batch norm after G's hidden layers")
    activation_g: str = Field("relu", description="G's hidden activation (unless generator.activation is set)")
    activation_d: str = Field("leaky_relu", description="D's hidden activation (unless discriminator.activation is set)")


class Init(Strict):
    """Initial weights of the MLPs (conv nets keep their own): ``torch_default`` is
    ``torch.nn.Linear``'s U(±1/√fan_in) for weights and biases; ``orthogonal`` draws orthogonal
    weights scaled by ``gain`` (TensorFlow's ``orthogonal_initializer``, as in the Unrolled-GAN
    notebook), ``normal`` draws N(0, ``std``²) weights (as in the PacGAN code); both set biases
    to 0."""

    kind: Literal["torch_default", "orthogonal", "normal"] = "torch_default"
    gain: float = Field(1.0, gt=0, le=100, description="orthogonal: the gain")
    std: float = Field(0.02, gt=0, le=100, description="normal: the standard deviation")


class Model(Strict):
    """Networks. ``kind: auto`` builds conv nets for image datasets and MLPs otherwise;
    ``generator.hidden``/``discriminator.hidden``/``activation``/``init`` shape the MLPs,
    ``conv`` the conv nets, and ``generator.z_dim`` is the latent size of both."""

    kind: Literal["auto", "mlp", "conv"] = "auto"
    generator: GeneratorSpec = Field(default_factory=GeneratorSpec)
    discriminator: NetSpec = Field(default_factory=NetSpec)
    activation: str = "relu"
    conv: ConvSpec = Field(default_factory=ConvSpec)
    init: Init = Field(default_factory=Init)


class Optimizer(Strict):
    name: Literal["adam", "sgd", "rmsprop"] = "adam"
    lr: float = Field(1.0e-4, gt=0, le=10)
    betas: list[float] = Field(default_factory=lambda: [0.5, 0.999], min_length=2, max_length=2)
    momentum: float = Field(0.0, ge=0, lt=1)
    batch_size: int = Field(512, gt=0, le=1_000_000)

    @field_validator("betas")
    @classmethod
    def _betas(cls, v: list[float]) -> list[float]:
        if not all(0 <= b < 1 for b in v):
            raise ValueError("betas must lie in [0, 1)")
        return v


class Combo(Strict):
    """One loss × remedies configuration. ``model`` / ``optimizer`` are partial overrides
    of the suite-level blocks."""

    loss: str
    update: Literal["alternating", "simultaneous"] = "alternating"
    n_critic: int = Field(1, gt=0, le=100)
    activation: str | None = None
    remedies: dict[str, dict[str, Any] | None] = Field(default_factory=dict)
    model: dict[str, Any] | None = None
    optimizer: dict[str, Any] | None = None
    description: str = Field("", max_length=2000)
    datasets: list[str] | None = Field(None, min_length=1, description="run only on these "
                                       "datasets of the suite (default: all)")


class Resources(Strict):
    cpus_per_trial: float = Field(1.0, gt=0, le=1024)
    gpus_per_trial: float = Field(0.0, ge=0, le=64)


class Evaluation(Strict):
    """Toy evaluation protocol (docs/architecture.md §4)."""

    hq_std: float = Field(3.0, gt=0, description="a sample is high quality within hq_std·std of its mode")
    min_count: int = Field(1, gt=0, description="high-quality samples a mode needs to count as covered")


class Fidelity(Strict):
    """FID / KID / precision-recall of image datasets through torch-fidelity
    (:mod:`ganbench.train.measures.fidelity`)."""

    extractor: Literal["auto", "digits", "inception-v3-compat"] = Field(
        "auto", description="auto: digits for digits/stacked_digits, inception-v3-compat otherwise")
    feature_extractor_weights_path: str | None = Field(
        None, description="local weights file of the extractor (offline Inception; default "
                          "$GANBENCH_INCEPTION_WEIGHTS, then torch hub's cache)")
    samples: int = Field(2000, ge=2, le=1_000_000, description="generated and real samples per FID/KID/PR")
    fid: bool = True
    kid: bool = True
    prc: bool = Field(True, description="precision and recall (Kynkäänniemi et al. 2019)")
    kid_subset_size: int = Field(1000, ge=2, le=1_000_000)
    kid_subsets: int = Field(100, ge=1, le=100_000)
    prc_neighborhood: int = Field(3, ge=1, le=1000)
    eval_every: int | None = Field(None, gt=0, description="compute at evaluations whose step is a "
                                   "multiple of this (default: every evaluation); always at the end")
    batch_size: int = Field(256, ge=1, le=65536, description="feature-extraction batch size")


class _DiagnosticsBase(Strict):
    """The suite's ``diagnostics:`` block: overrides of the dynamics settings
    (:class:`~ganbench.results.dynamics.DynamicsConfig`) and the verdict thresholds
    (:class:`~ganbench.config.diagnostics.DiagnoseConfig`) in one flat mapping.

    The fields are those of the two dataclasses (generated from them, so they cannot drift);
    the dataclasses' own range checks run on validation. ``overrides()`` is what the suite set;
    the model also reads as that plain mapping (for :func:`diagnostics_config`).
    """

    @model_validator(mode="after")
    def _ranges(self) -> "_DiagnosticsBase":
        try:
            self.configs()
        except TypeError as exc:
            raise ValueError(str(exc)) from None
        return self

    def overrides(self) -> dict[str, Any]:
        """The settings the suite gave (and only those)."""
        return self.model_dump(exclude_unset=True)

    def configs(self) -> tuple[DynamicsConfig, DiagnoseConfig]:
        """The dynamics settings and the verdict thresholds, defaults overridden."""
        return diagnostics_config(self.overrides())

    def dynamics(self) -> DynamicsConfig:
        return self.configs()[0]

    def thresholds(self) -> DiagnoseConfig:
        return self.configs()[1]

    # -- read-only mapping view of the overrides
    def keys(self) -> list[str]:
        return list(self.overrides())

    def __getitem__(self, key: str) -> Any:
        return self.overrides()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.overrides().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.model_fields_set

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.model_fields_set)

    def items(self) -> list[tuple[str, Any]]:
        return list(self.overrides().items())


def _diagnostics_fields() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cfg_cls in (DynamicsConfig, DiagnoseConfig):
        hints = typing.get_type_hints(cfg_cls)
        for f in dataclasses.fields(cfg_cls):
            if f.name in out:
                continue
            tp, default = hints[f.name], f.default
            if typing.get_origin(tp) is tuple:  # YAML gives lists: [lo, hi]
                args = typing.get_args(tp)
                tp = typing.Annotated[list[args[0]], Field(min_length=len(args), max_length=len(args))]
                default = list(default)
            out[f.name] = (tp, default)
    return out


#: The ``diagnostics:`` block (see :class:`_DiagnosticsBase`).
Diagnostics = create_model("Diagnostics", __base__=_DiagnosticsBase, __module__=__name__,
                           **_diagnostics_fields())


class Suite(Strict):
    name: str
    description: str = Field("", max_length=20_000)
    seeds: int = Field(5, gt=0, le=1000)
    budget: Budget = Field(default_factory=Budget)
    datasets: dict[str, dict[str, Any] | None] = Field(min_length=1)
    model: Model = Field(default_factory=Model)
    optimizer: Optimizer = Field(default_factory=Optimizer)
    baseline: str | None = None
    combos: dict[str, Combo] = Field(min_length=1)
    resources: Resources = Field(default_factory=Resources)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    evaluation: Evaluation = Field(default_factory=Evaluation)
    sweep: Sweep | None = None
    diagnostics: Diagnostics | None = None  # type: ignore[valid-type]
    fidelity: Fidelity = Field(default_factory=Fidelity)
    reference: Reference | None = Field(None, description="the published result this suite "
                                        "reproduces (ganbench.config.reference)")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.fullmatch(v) or ".." in v:
            raise ValueError("name must be 1-64 characters of letters, digits, '_', '-', '.' "
                             "(it names the output folder), starting with a letter or digit")
        return v

    @field_validator("combos")
    @classmethod
    def _combo_names(cls, v: dict[str, Combo]) -> dict[str, Combo]:
        for k in v:
            if not NAME_RE.fullmatch(str(k)) or ".." in str(k):
                raise ValueError(f"combo name {k!r} must be letters, digits, '_', '-', '.'")
        return v

    @model_validator(mode="after")
    def _baseline(self) -> "Suite":
        if self.baseline is None:
            self.baseline = next(iter(self.combos))
        return self


#: Spec fields that hold one of the suite's block models (dumped whole by ``to_dict``).
_BLOCKS: dict[str, type[Strict]] = {"model": Model, "optimizer": Optimizer, "budget": Budget,
                                    "evaluation": Evaluation, "fidelity": Fidelity}


@dataclass(frozen=True)
class TrialSpec:
    """One Tune trial: one dataset × combo, all seeds trained in lockstep.

    Every block is a validated model: the dataset's ``Params``, each remedy's ``Params``
    (``remedies``: name → params, in the combo's order), and the suite's :class:`Model`,
    :class:`Optimizer`, :class:`Budget`, :class:`Evaluation` and :class:`Fidelity` (the
    combo's deltas merged in). It travels to Ray workers as plain data:
    ``TrialSpec.from_dict(spec.to_dict()) == spec``. In the dict, ``dataset_params`` and each
    remedy's parameters hold only what the suite set (as written there); the other blocks are
    complete.
    """

    trial_id: str
    dataset: str
    dataset_params: DatasetParams
    combo: str
    loss: str
    update: Literal["alternating", "simultaneous"]
    n_critic: int
    remedies: dict[str, RemedyParams]
    model: Model
    optimizer: Optimizer
    budget: Budget
    evaluation: Evaluation
    seeds: list[int]
    device: str = "auto"
    cpus: float = 1.0
    gpus: float = 0.0
    fidelity: Fidelity = field(default_factory=Fidelity)

    def to_dict(self) -> dict[str, Any]:
        """Plain (JSON-able) data; :meth:`from_dict` rebuilds the spec from it."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "dataset_params":
                v = v.model_dump(exclude_unset=True)
            elif f.name == "remedies":
                v = {name: p.model_dump(exclude_unset=True) for name, p in v.items()}
            elif isinstance(v, BaseModel):
                v = v.model_dump()
            else:
                v = copy.deepcopy(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrialSpec":
        """The spec of :meth:`to_dict`'s data (validating every block; raises pydantic's
        ``ValidationError`` for a bad value, ``KeyError`` for an unknown dataset or remedy)."""
        from ganbench.components.remedies import REMEDIES

        d = copy.deepcopy(dict(d))
        if not d.get("extras", True):
            del d["extras"]  # the always-empty field of specs written before it was removed
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise TypeError(f"unknown TrialSpec field(s): {', '.join(unknown)}")
        kw: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in d:
                continue  # a default
            v = d[f.name]
            if f.name == "dataset_params":
                v = DATASETS.get(d["dataset"]).Params.model_validate(v or {})
            elif f.name == "remedies":
                v = {name: REMEDIES.get(name).Params.model_validate(p or {}) for name, p in v.items()}
            elif f.name in _BLOCKS:
                v = _BLOCKS[f.name].model_validate(v)
            kw[f.name] = v
        return cls(**kw)


def _deep_merge(base: dict[str, Any], delta: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in delta.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _loc_path(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # pydantic adds pseudo-locations like 'function-after[...]' or tagged types; drop them
    loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function"))))
    if loc[:2] == ("sweep", "axes"):
        # the sweep's axes are written flat in the block: sweep.<path>, one line each
        return loc[:1] + loc[2:3]
    return loc


def _pydantic_problems(exc: ValidationError, prefix: tuple[Any, ...],
                       lines: dict[tuple[Any, ...], int]) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        path = prefix + _loc_path(tuple(err["loc"]))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        problems.append(Problem(".".join(map(str, path)), line_for(lines, path), msg))
    return problems


def resolved_combo(suite: Suite, name: str) -> dict[str, Any]:
    """The combo with suite-level model/optimizer merged in (validated separately)."""
    combo = suite.combos[name]
    model = _deep_merge(suite.model.model_dump(), combo.model or {})
    if combo.activation is not None:
        model["activation"] = combo.activation
    optimizer = _deep_merge(suite.optimizer.model_dump(), combo.optimizer or {})
    return {"loss": combo.loss, "update": combo.update, "n_critic": combo.n_critic,
            "remedies": {k: dict(v or {}) for k, v in combo.remedies.items()}, "model": model, "optimizer": optimizer,
            "description": combo.description}


def _semantic_problems(suite: Suite, lines: dict[tuple[Any, ...], int]) -> list[Problem]:
    """Registry names, per-dataset parameters, merged combo blocks, compatibility table."""
    from ganbench.config.compat import check_combo  # local: compat imports this module's types
    from ganbench.components.remedies import REMEDIES

    problems: list[Problem] = []

    def add(path: tuple[Any, ...], msg: str) -> None:
        problems.append(Problem(".".join(map(str, path)), line_for(lines, path), msg))

    if suite.baseline not in suite.combos:
        add(("baseline",), f"baseline {suite.baseline!r} is not a combo; combos: "
            f"{', '.join(suite.combos)}")
    for ds_name, params in suite.datasets.items():
        path = ("datasets", ds_name)
        if ds_name not in DATASETS:
            add(path, DATASETS.unknown_message(ds_name))
            continue
        if params is None:
            params = {}
        if not isinstance(params, dict):
            add(path, "dataset parameters must be a mapping (use {} for the defaults)")
            continue
        try:
            DATASETS.get(ds_name).Params.model_validate(params)
        except ValidationError as exc:
            problems += _pydantic_problems(exc, path, lines)
    for act_path, act in [(("model", "activation"), suite.model.activation),
                          (("model", "generator", "activation"), suite.model.generator.activation),
                          (("model", "discriminator", "activation"), suite.model.discriminator.activation),
                          (("model", "conv", "activation_g"), suite.model.conv.activation_g),
                          (("model", "conv", "activation_d"), suite.model.conv.activation_d)]:
        if act is not None and act not in ACTIVATIONS:
            add(act_path, ACTIVATIONS.unknown_message(act))
    problems += _fidelity_problems(suite, lines)
    for name, combo in suite.combos.items():
        base = ("combos", name)
        before = len(problems)
        if combo.loss not in LOSSES:
            add(base + ("loss",), LOSSES.unknown_message(combo.loss))
        if combo.activation is not None and combo.activation not in ACTIVATIONS:
            add(base + ("activation",), ACTIVATIONS.unknown_message(combo.activation))
        resolved = resolved_combo(suite, name)
        for block, model_cls in (("model", Model), ("optimizer", Optimizer)):
            try:
                model_cls.model_validate(resolved[block])
            except ValidationError as exc:
                problems += _pydantic_problems(exc, base + (block,), lines)
        conv_over = (combo.model or {}).get("conv")
        for key in ("activation_g", "activation_d"):
            act = conv_over.get(key) if isinstance(conv_over, dict) else None
            if isinstance(act, str) and act not in ACTIVATIONS:
                add(base + ("model", "conv", key), ACTIVATIONS.unknown_message(act))
        for r_name, r_params in combo.remedies.items():
            rpath = base + ("remedies", r_name)
            if r_name not in REMEDIES:
                add(rpath, REMEDIES.unknown_message(r_name))
                continue
            try:
                REMEDIES.get(r_name).Params.model_validate(r_params or {})
            except ValidationError as exc:
                problems += _pydantic_problems(exc, rpath, lines)
        if len(problems) > before:
            continue
        for i, ds_name in enumerate(combo.datasets or []):
            if ds_name not in suite.datasets:
                add(base + ("datasets", i), f"{ds_name!r} is not a dataset of this suite; "
                    f"datasets: {', '.join(suite.datasets)}")
        for ds_name in combo.datasets or suite.datasets:
            if ds_name not in suite.datasets:
                continue
            for field_path, msg in check_combo(suite, name, resolved, ds_name):
                add(base + tuple(field_path), msg)
    if suite.sweep is not None and not problems:
        problems += _sweep_problems(suite, lines)
    if suite.reference is not None:
        from ganbench.config.reference_checks import reference_problems  # it imports this module

        problems += reference_problems(suite, lines)
    # keep one line per problem even where several datasets trip the same rule
    unique: dict[str, Problem] = {}
    for p in problems:
        unique.setdefault(str(p), p)
    return list(unique.values())


def validate_spec_dict(spec: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """Re-validate a (possibly swept) TrialSpec dict: ``[(path, message)]``."""
    from ganbench.config.compat import check_combo
    from ganbench.components.remedies import REMEDIES

    out: list[tuple[tuple[Any, ...], str]] = []
    checks = [(("optimizer",), Optimizer, spec["optimizer"]), (("model",), Model, spec["model"]),
              (("dataset",), DATASETS.get(spec["dataset"]).Params, spec["dataset_params"])]
    checks += [(("remedies", r), REMEDIES.get(r).Params, p or {}) for r, p in spec["remedies"].items()]
    for path, cls, data in checks:
        try:
            cls.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = "unknown field"
                out.append((path + _loc_path(tuple(err["loc"])), msg))
    n_critic = spec["n_critic"]
    if not isinstance(n_critic, int) or isinstance(n_critic, bool) or not 0 < n_critic <= 100:
        out.append((("n_critic",), "n_critic must be an integer in 1..100"))
    if spec["model"].get("activation") not in ACTIVATIONS:
        out.append((("activation",), ACTIVATIONS.unknown_message(spec["model"].get("activation"))))
    if not out:
        model = Model.model_validate(spec["model"])
        for path, act in [(("model", "generator", "activation"), model.generator.activation),
                          (("model", "discriminator", "activation"), model.discriminator.activation),
                          (("model", "conv", "activation_g"), model.conv.activation_g),
                          (("model", "conv", "activation_d"), model.conv.activation_d)]:
            if act is not None and act not in ACTIVATIONS:
                out.append((path, ACTIVATIONS.unknown_message(act)))
    if not out:
        out += [(tuple(p), m) for p, m in check_combo(None, spec["combo"], spec, spec["dataset"])]
    if not out:
        try:  # what the Ray worker does with it
            TrialSpec.from_dict(spec)
        except (ValidationError, KeyError, TypeError) as exc:
            out.append(((), str(exc)))
    return out


def _sweep_problems(suite: Suite, lines: dict[tuple[Any, ...], int]) -> list[Problem]:
    """Every value a sweep axis can take, applied to every trial it touches, against the
    schema (the block's own shape is checked by :class:`~ganbench.config.sweep.Sweep`)."""
    from ganbench.config import sweep as sw

    problems: list[Problem] = []

    def add(path: tuple[Any, ...], msg: str) -> None:
        problems.append(Problem(".".join(map(str, path)), line_for(lines, path), msg))

    assert suite.sweep is not None
    specs = expand(suite)
    for path, axis in suite.sweep.axes.items():
        touched = False
        for value in axis.endpoints():
            for spec in specs:
                try:
                    swept, applied = sw.apply_to_spec(spec.to_dict(), {path: value})
                except (KeyError, IndexError, TypeError):
                    add(("sweep", path), f"{path!r} is not a field of the {spec.combo!r} trial")
                    break
                if not applied.get(path):
                    continue
                touched = True
                for fpath, msg in validate_spec_dict(swept):
                    add(("sweep", path), f"value {value!r} is invalid for {'.'.join(map(str, fpath))} "
                        f"({spec.combo}): {msg}")
        if not touched and not any(p.path == f"sweep.{path}" for p in problems):
            add(("sweep", path), f"{path!r} applies to no combo of this suite")
    return problems


def _fidelity_problems(suite: Suite, lines: dict[tuple[Any, ...], int]) -> list[Problem]:
    """The ``fidelity`` block against its sample count (only where an image dataset uses it)."""
    if not any(d in DATASETS and DATASETS.get(d).kind == "image" for d in suite.datasets):
        return []
    f = suite.fidelity
    out: list[Problem] = []

    def add(path: tuple[Any, ...], msg: str) -> None:
        out.append(Problem(".".join(map(str, path)), line_for(lines, path), msg))

    if f.kid and f.kid_subset_size > f.samples:
        add(("fidelity", "kid_subset_size"),
            f"kid_subset_size {f.kid_subset_size} exceeds fidelity.samples {f.samples}: KID draws "
            "subsets of this size from each sample set; lower kid_subset_size or raise samples")
    if f.prc and f.prc_neighborhood >= f.samples:
        add(("fidelity", "prc_neighborhood"),
            f"prc_neighborhood {f.prc_neighborhood} must be below fidelity.samples {f.samples}")
    path = f.feature_extractor_weights_path
    if path is not None and not Path(path).expanduser().is_file():
        add(("fidelity", "feature_extractor_weights_path"), f"no such file: {path}")
    return out


def parse_suite(text: str | bytes) -> Suite:
    """Validate suite text; raise :class:`SuiteError` listing every problem."""
    data, lines = load_yaml(text)
    if not isinstance(data, dict):
        raise SuiteError([Problem("", 1, f"the top level must be a mapping of fields, not "
                                  f"{type(data).__name__}")])
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(_pydantic_problems(exc, (), lines)) from None
    problems = _semantic_problems(suite, lines)
    if problems:
        raise SuiteError(problems)
    return suite


def read_suite_text(path: str | Path) -> bytes:
    """Read a suite file, refusing anything that is not a small regular file."""
    p = Path(path)
    if not p.is_file():
        raise SuiteError([Problem("", None, f"no such suite file: {p}")])
    from ganbench.config.yamlio import MAX_BYTES

    if p.stat().st_size > MAX_BYTES:
        raise SuiteError([Problem("", None, f"file is larger than {MAX_BYTES} bytes; refused")])
    return p.read_bytes()


def load_suite(path: str | Path) -> tuple[Suite, str]:
    """Load and validate a suite file. Returns ``(suite, exact_text)``."""
    raw = read_suite_text(path)
    suite = parse_suite(raw)
    return suite, raw.decode("utf-8")


def suite_hash(text: str) -> str:
    """sha256 of the exact suite text (hex)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apply_overrides(suite: Suite, steps: int | None = None, seeds: int | None = None) -> tuple[Suite, dict[str, Any]]:
    """Return a copy of ``suite`` with CLI overrides applied, and the overrides made.

    ``--steps`` scales ``eval_every``/``log_every`` down when they would exceed the budget.
    """
    overrides: dict[str, Any] = {}
    s = suite.model_copy(deep=True)
    if steps is not None:
        if steps <= 0:
            raise SuiteError([Problem("budget.steps", None, "--steps must be positive")])
        overrides["budget.steps"] = steps
        s.budget.steps = steps
        if s.budget.eval_every > steps:
            s.budget.eval_every = steps
            overrides["budget.eval_every"] = steps
        if s.budget.log_every > steps:
            s.budget.log_every = steps
            overrides["budget.log_every"] = steps
    if seeds is not None:
        if seeds <= 0:
            raise SuiteError([Problem("seeds", None, "--seeds must be positive")])
        overrides["seeds"] = seeds
        s.seeds = seeds
    return s, overrides


def expand(suite: Suite) -> list[TrialSpec]:
    """Expand a suite into one :class:`TrialSpec` per dataset × combo."""
    from ganbench.components.remedies import REMEDIES

    specs = []
    seeds = list(range(suite.seeds))
    for ds_name, ds_params in suite.datasets.items():
        for combo_name, combo in suite.combos.items():
            if combo.datasets is not None and ds_name not in combo.datasets:
                continue
            r = resolved_combo(suite, combo_name)
            specs.append(TrialSpec(
                trial_id=f"{ds_name}__{combo_name}",
                dataset=ds_name,
                dataset_params=DATASETS.get(ds_name).Params.model_validate(ds_params or {}),
                combo=combo_name,
                loss=r["loss"], update=r["update"], n_critic=r["n_critic"],
                remedies={name: REMEDIES.get(name).Params.model_validate(p)
                          for name, p in r["remedies"].items()},
                model=Model.model_validate(r["model"]), optimizer=Optimizer.model_validate(r["optimizer"]),
                budget=suite.budget.model_copy(), evaluation=suite.evaluation.model_copy(),
                seeds=list(seeds), device=suite.device,
                cpus=suite.resources.cpus_per_trial, gpus=suite.resources.gpus_per_trial,
                fidelity=suite.fidelity.model_copy(),
            ))
    return specs
