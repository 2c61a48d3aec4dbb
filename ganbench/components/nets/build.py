"""Network builders, registered by dataset kind: ``toy2d`` → seed-axis MLPs, ``dirac`` → the
Dirac-GAN's θ and ψ, ``image`` → DCGAN-style seed-axis conv nets (:mod:`ganbench.components.nets.conv`) or
MLPs on flattened pixels. A new data modality registers its builder here (one function)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from torch import nn

from ganbench.components.nets.activations import ACTIVATIONS
from ganbench.components.nets.mlp import DiracDiscriminator, DiracGenerator, SeededMLP
from ganbench.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from ganbench.config.suite import Model

#: ``builder(model, dataset, seeds, build) -> (G, D, z_dim)``; ``model`` is the trial's
#: :class:`ganbench.config.suite.Model`
NET_BUILDERS: Registry[Callable[..., tuple[nn.Module, nn.Module, int]]] = Registry("network builder")


@NET_BUILDERS.register("toy2d", "seed-axis MLP generator and discriminator")
def build_mlp(model: Model, dataset: Any, seeds: list[int], build: Any) -> tuple[nn.Module, nn.Module, int]:
    act_g = ACTIVATIONS.get(model.generator.activation or model.activation)
    act_d = ACTIVATIONS.get(model.discriminator.activation or model.activation)
    z_dim = model.generator.z_dim
    dim = dataset.dim
    ini = model.init
    init = (ini.kind, ini.gain if ini.kind == "orthogonal" else ini.std)
    G = SeededMLP([z_dim, *model.generator.hidden, dim], act_g, seeds, "g_init", init=init)
    D = SeededMLP([dim * build.d_input_multiplier, *model.discriminator.hidden, 1],
                  act_d, seeds, "d_init", head_extra=build.d_head_extra, init=init)
    return G, D, z_dim


@NET_BUILDERS.register("dirac", "Dirac-GAN: G emits θ, D(x) = ψ·x")
def build_dirac(model: Model, dataset: Any, seeds: list[int], build: Any) -> tuple[nn.Module, nn.Module, int]:
    p = dataset.params
    return DiracGenerator(len(seeds), p.theta0), DiracDiscriminator(len(seeds), p.psi0), 1


@NET_BUILDERS.register("image", "DCGAN-style seed-axis conv G and D (model.kind conv, the default for images) "
                                "or seed-axis MLPs on the flattened pixels (model.kind mlp)")
def build_image(model: Model, dataset: Any, seeds: list[int], build: Any) -> tuple[nn.Module, nn.Module, int]:
    if model.kind == "mlp":
        return build_mlp(model, dataset, seeds, build)
    from ganbench.components.nets.conv import build_conv

    return build_conv(model, dataset, seeds, build)
