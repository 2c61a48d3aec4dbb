"""Toy MLP generator and discriminator with a leading seed axis (docs/architecture.md, seed axis).

Parameters are ``[S, fan_in, fan_out]`` weights and ``[S, 1, fan_out]`` biases, batches are
``[S, B, features]``, and each layer is one :func:`~ganbench.components.nets.seed_linear.seed_linear`
(a batched product in whichever memory order is fast for its shape). Each seed's slice is
initialised from its own generator exactly like ``torch.nn.Linear`` (uniform in
``±1/sqrt(fan_in)``), so seed ``s`` of an S-seed network equals a 1-seed network with seed ``s``.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ganbench.components.nets.seed_linear import seed_linear

#: Offsets that separate the random streams of one seed (init of G, init of D, noise, data, eval).
STREAMS = {"g_init": 1, "d_init": 2, "noise": 3, "data": 4, "eval": 5, "remedy": 6}


def stream_seed(seed: int, stream: str, extra: int = 0) -> int:
    """A 63-bit seed for one random stream of one user seed (independent across streams)."""
    state = np.random.SeedSequence([int(seed), STREAMS[stream], int(extra)]).generate_state(2, np.uint32)
    return int(state[0]) << 31 ^ int(state[1])


class SeededMLP(nn.Module):
    """An MLP evaluated for S seeds at once.

    Args:
        sizes: layer widths including input and output, e.g. ``[256, 128, 128, 2]``.
        activation: the hidden activation (applied after every layer but the last).
        seeds: the user seeds, one per slice of the seed axis.
        stream: which init stream to use (``"g_init"`` or ``"d_init"``).
        init: ``("torch_default", _)`` (``torch.nn.Linear``'s U(±1/√fan_in) for weights and
            biases), ``("orthogonal", gain)`` or ``("normal", std)`` (zero biases for both).
    """

    def __init__(self, sizes: Sequence[int], activation: Callable[[torch.Tensor], torch.Tensor],
                 seeds: Sequence[int], stream: str, head_extra: int = 0,
                 init: tuple[str, float] = ("torch_default", 1.0)):
        super().__init__()
        self.sizes = list(sizes)
        self.activation = activation
        n_seeds = len(seeds)
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        #: optional module mapping the last hidden features ``[S, B, A]`` to
        #: ``[S, B, A + head_extra]`` before the output layer (minibatch features)
        self.pre_head: nn.Module | None = None
        #: optional ``(layer index, weight) -> weight`` applied in forward (spectral norm)
        self.weight_transform: Callable[[int, torch.Tensor], torch.Tensor] | None = None
        #: activation slope when forward runs as one fused CPU kernel (set by
        #: :meth:`use_fused_critic`), else None
        self.fused_slope: float | None = None
        gens = [torch.Generator().manual_seed(stream_seed(s, stream)) for s in seeds]
        fan_ins = list(sizes[:-1])
        fan_ins[-1] += head_extra
        for fan_in, fan_out in zip(fan_ins, sizes[1:]):
            w = torch.empty(n_seeds, fan_in, fan_out)
            b = torch.empty(n_seeds, 1, fan_out)
            bound = 1.0 / math.sqrt(fan_in)
            kind, scale = init
            for i, g in enumerate(gens):
                if kind == "orthogonal":
                    nn.init.orthogonal_(w[i], gain=scale, generator=g)
                    b[i].zero_()
                elif kind == "normal":
                    w[i].normal_(0.0, scale, generator=g)
                    b[i].zero_()
                else:
                    w[i].uniform_(-bound, bound, generator=g)
                    b[i].uniform_(-bound, bound, generator=g)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))

    @property
    def layer_names(self) -> list[str]:
        """``l0, l1, ..., out``: names used for per-layer gradient norms."""
        n = len(self.weights)
        return [f"l{i}" for i in range(n - 1)] + ["out"]

    def layer_params(self) -> list[tuple[str, list[nn.Parameter]]]:
        """(layer name, its parameters) pairs, for per-layer probes."""
        out = [(n, [w, b]) for n, w, b in zip(self.layer_names, self.weights, self.biases)]
        if self.pre_head is not None:
            extra = list(self.pre_head.parameters())
            if extra:
                out.insert(len(out) - 1, ("features", extra))
        return out

    def use_fused_critic(self, on: bool = True) -> bool:
        """Compute this network with :mod:`ganbench.components.accel.critic` where that gives the
        same function (a one-hidden-layer (leaky) ReLU critic, CPU float32, kernel compiled);
        returns whether it will. Only for callers that never differentiate twice through it."""
        from ganbench.components.accel import critic as fused_critic

        slope = fused_critic.eligible(self) if on else None
        self.fused_slope = slope if slope is not None and fused_critic.available() else None
        return self.fused_slope is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused_slope is not None and x.device.type == "cpu" and x.dtype == torch.float32 \
                and self.pre_head is None and self.weight_transform is None:
            from ganbench.components.accel.critic import fused_critic

            return fused_critic(x, self.weights[0], self.biases[0], self.weights[1], self.biases[1],
                                self.fused_slope)
        last = len(self.weights) - 1
        transform = self.weight_transform
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if transform is not None:
                w = transform(i, w)
            if i == last and self.pre_head is not None:
                x = self.pre_head(x)
            x = seed_linear(x, w, b)
            if i < last:
                # the product's output is a fresh tensor nothing else holds, so ReLU can
                # overwrite it (one 2 MiB allocation and pass fewer per layer at S = 8)
                x = x.relu_() if self.activation is torch.relu else self.activation(x)
        return x


class DiracGenerator(nn.Module):
    """Dirac-GAN generator: emits its single parameter θ for every z (``[S, B, 1]``)."""

    def __init__(self, n_seeds: int, theta0: float):
        super().__init__()
        self.theta = nn.Parameter(torch.full((n_seeds, 1, 1), float(theta0)))

    layer_names = ["theta"]

    def layer_params(self):
        return [("theta", [self.theta])]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.theta.expand(z.shape[0], z.shape[1], 1)


class DiracDiscriminator(nn.Module):
    """Dirac-GAN discriminator ``D(x) = ψ·x`` in the paper's convention; emits the logit
    ``-ψ·x`` in ganbench's "high = real" convention (see :class:`ganbench.components.data.toy.Dirac`)."""

    def __init__(self, n_seeds: int, psi0: float):
        super().__init__()
        self.psi = nn.Parameter(torch.full((n_seeds, 1, 1), float(psi0)))

    layer_names = ["psi"]

    def layer_params(self):
        return [("psi", [self.psi])]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -(self.psi * x)
