"""The compatibility table: combinations of options that make no sense, in one place.

Each row names the two options involved, where to report the problem, a predicate over
``(combo, dataset kind)`` and the reason. ``check_combo`` returns ``(field path within the
combo, message)`` for every row that fires; the message names both options and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ganbench.components.data.toy import DATASETS

CROSS_ENTROPY_LOSSES = {"minimax", "non_saturating"}


def _kind(dataset: str) -> str:
    return DATASETS.get(dataset).kind


@dataclass(frozen=True)
class Rule:
    """One row of the table."""

    options: tuple[str, str]
    path: Callable[[dict[str, Any]], tuple[str, ...]]
    fires: Callable[[dict[str, Any], str], bool]
    why: Callable[[dict[str, Any], str], str]


def _has(c: dict[str, Any], remedy: str) -> bool:
    return remedy in c["remedies"]


def _param(c: dict[str, Any], remedy: str, key: str, default: Any) -> Any:
    return (c["remedies"].get(remedy) or {}).get(key, default)


TABLE: list[Rule] = [
    Rule(("update: simultaneous", "n_critic"), lambda c: ("n_critic",),
         lambda c, d: c["update"] == "simultaneous" and c["n_critic"] != 1,
         lambda c, d: f"update: simultaneous with n_critic: {c['n_critic']} is undefined: a "
                      "simultaneous step updates D and G once each from the same point; use "
                      "update: alternating for several D steps per G step"),
    Rule(("weight_clipping", "loss"), lambda c: ("remedies", "weight_clipping"),
         lambda c, d: _has(c, "weight_clipping") and c["loss"] != "wasserstein",
         lambda c, d: f"weight_clipping with loss: {c['loss']}: clipping enforces the Lipschitz "
                      "constraint of the WGAN critic; it only makes sense with loss: wasserstein"),
    Rule(("weight_clipping", "gradient_penalty"), lambda c: ("remedies", "weight_clipping"),
         lambda c, d: _has(c, "weight_clipping") and _has(c, "gradient_penalty"),
         lambda c, d: "weight_clipping with gradient_penalty: both constrain the critic's "
                      "Lipschitz constant and clipping defeats the penalty (Gulrajani et al. 2017); "
                      "use one"),
    Rule(("packing", "optimizer.batch_size"), lambda c: ("remedies", "packing", "k"),
         lambda c, d: _has(c, "packing") and int(c["optimizer"]["batch_size"]) % int(_param(c, "packing", "k", 2)) != 0,
         lambda c, d: f"packing k={_param(c, 'packing', 'k', 2)} with optimizer.batch_size: "
                      f"{c['optimizer']['batch_size']}: PacGAN packs k samples per D input, so the "
                      "batch size must be divisible by k"),
    Rule(("unrolled", "update: simultaneous"), lambda c: ("remedies", "unrolled"),
         lambda c, d: _has(c, "unrolled") and c["update"] == "simultaneous",
         lambda c, d: "unrolled with update: simultaneous: unrolling looks ahead at D's next "
                      "updates before G moves, which presumes alternating updates (Metz et al. 2016)"),
    Rule(("label_smoothing", "loss"), lambda c: ("remedies", "label_smoothing"),
         lambda c, d: _has(c, "label_smoothing") and c["loss"] not in CROSS_ENTROPY_LOSSES | {"least_squares"},
         lambda c, d: f"label_smoothing with loss: {c['loss']}: smoothing changes the real-label "
                      "target, and this loss has no labels (use minimax, non_saturating or "
                      "least_squares)"),
    Rule(("packing", "dataset: dirac"), lambda c: ("remedies", "packing"),
         lambda c, d: _has(c, "packing") and _kind(d) == "dirac",
         lambda c, d: "packing with dataset dirac: the Dirac-GAN's D is the 1-D linear map ψ·x "
                      "of the paper; packed inputs would change the game being studied"),
    Rule(("minibatch_discrimination", "dataset: dirac"), lambda c: ("remedies", "minibatch_discrimination"),
         lambda c, d: _has(c, "minibatch_discrimination") and _kind(d) == "dirac",
         lambda c, d: "minibatch_discrimination with dataset dirac: the Dirac-GAN's D has no "
                      "hidden features to compare across the batch"),
    Rule(("spectral_norm", "dataset: dirac"), lambda c: ("remedies", "spectral_norm"),
         lambda c, d: _has(c, "spectral_norm") and _kind(d) == "dirac",
         lambda c, d: "spectral_norm with dataset dirac: normalising the 1×1 weight ψ fixes "
                      "|ψ| = 1, which removes the discriminator's only degree of freedom"),
    # Conv nets (image datasets). Every remedy has a conv form: packing stacks the k samples
    # along D's input channels (Lin et al. 2018), minibatch discrimination acts on D's
    # flattened last conv features, spectral norm on each conv kernel's [C_out, C_in·k·k]
    # matrix (Miyato et al. 2018), penalties and instance noise on the flattened pixels.
    Rule(("model.kind: conv", "dataset"), lambda c: ("model", "kind"),
         lambda c, d: (c.get("model") or {}).get("kind") == "conv" and _kind(d) != "image",
         lambda c, d: f"model.kind: conv with dataset {d}: conv nets need an image dataset "
                      f"(this one is {_kind(d)}); use kind: auto or mlp"),
    Rule(("model.init", "conv nets"), lambda c: ("model", "init"),
         lambda c, d: (((c.get("model") or {}).get("init") or {}).get("kind", "torch_default")
                       != "torch_default" and _kind(d) == "image"
                       and (c.get("model") or {}).get("kind", "auto") != "mlp"),
         lambda c, d: f"model.init with the conv nets of dataset {d}: init applies to MLPs "
                      "only (conv nets use DCGAN's initialisation); use model.kind: mlp or "
                      "drop init"),
]


def check_combo(suite: Any, name: str, combo: dict[str, Any], dataset: str) -> list[tuple[tuple[str, ...], str]]:
    """Every row of :data:`TABLE` violated by ``combo`` on ``dataset``: ``[(path, message)]``."""
    if dataset not in DATASETS:
        return []
    return [(r.path(combo), r.why(combo, dataset)) for r in TABLE if r.fires(combo, dataset)]
