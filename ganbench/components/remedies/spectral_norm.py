"""Spectral normalisation (Miyato et al. 2018): every weight divided by its spectral norm.

Each layer of D (and of G with ``generator: true``), the output layer included, uses
``w / σ(w)`` where ``σ`` is the per-seed estimate of the largest singular value of
``w[s]`` (``[fan_in, fan_out]``; the layer computes ``x @ w``). As in
``torch.nn.utils.spectral_norm``, ``σ`` comes from power iteration on a persistent
estimate ``u`` of the left singular vector of the linear map (``[S, fan_out]``, a buffer
``sn_u<i>`` on the network, so it moves with ``.to(device)``):

    v ← normalise(w u),  u ← normalise(wᵀ v)   (``power_iterations`` times, no grad)
    σ = vᵀ w u                                (grad flows through w; u, v are constants)

The iteration runs in place on every forward with grad enabled while the network is in
training mode (D's real and fake passes, penalties, G's step), so the estimate tracks the
weights at one iteration per forward by default. Forwards without grad (evaluation
samples, ``torch.no_grad`` critic passes of G) only read ``u``, so evaluating never
changes training. ``u`` starts as a normalised N(0, I) draw from its own per-seed stream
(``stream_seed(seed, "remedy", 20)`` for D, ``21`` for G) followed by 15 warm-up
iterations, as in ``torch.nn.utils.parametrizations.spectral_norm``. Norms are per seed:
no reduction spans the seed axis.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field

from ganbench.components.nets.mlp import SeededMLP, stream_seed
from ganbench.components.remedies.base import REMEDIES, Remedy, RemedyParams

Tensor = torch.Tensor
#: power iterations run once when ``u`` is created
WARMUP_ITERATIONS = 15


class SpectralNormParams(RemedyParams):
    generator: bool = Field(False, description="also normalise every layer of G")
    power_iterations: int = Field(1, ge=1, le=100, description="power iterations per training forward")
    eps: float = Field(1e-12, gt=0, le=1e-3, description="ε of the vector normalisation")


def power_iteration(w: Tensor, u: Tensor, iterations: int, eps: float) -> tuple[Tensor, Tensor]:
    """Run ``iterations`` power-iteration steps for ``w`` ``[S, fan_in, fan_out]`` from
    ``u`` ``[S, fan_out]``; returns the new ``(u, v)`` (``v`` ``[S, fan_in]``), both
    normalised per seed. Pure: ``u`` is not modified."""
    v = u
    for _ in range(iterations):
        v = F.normalize(torch.bmm(w, u.unsqueeze(-1)).squeeze(-1), dim=-1, eps=eps)
        u = F.normalize(torch.bmm(v.unsqueeze(1), w).squeeze(1), dim=-1, eps=eps)
    return u, v


def spectral_sigma(w: Tensor, u: Tensor, v: Tensor) -> Tensor:
    """``σ = vᵀ w u`` per seed (``[S, 1, 1]``), differentiable in ``w`` only."""
    return torch.einsum("si,sio,so->s", v, w, u).reshape(-1, 1, 1)


def normalise_net(net: SeededMLP, seeds: list[int], stream: int, p: SpectralNormParams,
                  device: torch.device) -> None:
    """Give ``net`` its ``u`` buffers and a ``weight_transform`` that returns ``w / σ``
    (composed after any transform already set).

    ``net`` is a :class:`SeededMLP` (weights ``[S, fan_in, fan_out]``) or a seed-axis conv net
    (:mod:`ganbench.components.nets.conv`) whose ``sn_view(i, w)`` gives the ``[S, fan_in, fan_out]``
    matrix of conv weight ``i``: ``[C_in·k·k, C_out]``, the matrix ``torch.nn.utils.spectral_norm``
    normalises (output channels as rows)."""
    view = getattr(net, "sn_view", None)

    def matrix(i: int, w: Tensor) -> Tensor:
        return w if view is None else view(i, w)

    gens = [torch.Generator().manual_seed(stream_seed(s, "remedy", stream)) for s in seeds]
    for i, w in enumerate(net.weights):
        m = matrix(i, w.detach())
        u0 = torch.stack([torch.randn(m.shape[-1], generator=g) for g in gens])
        u0 = F.normalize(u0.to(device), dim=-1, eps=p.eps)
        with torch.no_grad():
            u0, _ = power_iteration(m, u0, WARMUP_ITERATIONS, p.eps)
        net.register_buffer(f"sn_u{i}", u0)
    previous = net.weight_transform

    def transform(i: int, w: Tensor) -> Tensor:
        if previous is not None:
            w = previous(i, w)
        m = matrix(i, w)
        u = getattr(net, f"sn_u{i}")  # looked up each call, so functional_call can swap it
        update = net.training and torch.is_grad_enabled()
        with torch.no_grad():
            if update:
                u_new, v = power_iteration(m.detach(), u, p.power_iterations, p.eps)
                u.copy_(u_new)
            else:
                v = F.normalize(torch.bmm(m.detach(), u.unsqueeze(-1)).squeeze(-1), dim=-1, eps=p.eps)
            # clones: later in-place updates of u must not touch tensors saved for backward
            u, v = u.clone(), v.clone()
        sigma = spectral_sigma(m, u, v)
        if w.dim() != 3:  # conv kernels [S, a, b, k, k]
            sigma = sigma.reshape(-1, *([1] * (w.dim() - 1)))
        return w / sigma

    net.weight_transform = transform


@REMEDIES.register("spectral_norm", "every layer's weight divided by its spectral norm, estimated by power iteration (Miyato et al. 2018); optionally G too")
class SpectralNorm(Remedy):
    """Spectrally normalises every layer of D (and G with ``generator: true``); see the
    module docstring for the power-iteration details."""

    Params = SpectralNormParams

    def attach(self, trainer) -> None:
        nets: list[tuple[torch.nn.Module, int]] = [(trainer.D, 20)]
        if self.params.generator:
            nets.append((trainer.G, 21))
        for net, stream in nets:
            if not (isinstance(net, SeededMLP) or hasattr(net, "sn_view")):
                raise TypeError(f"spectral_norm needs seed-axis MLP or conv networks, not {type(net).__name__}")
            normalise_net(net, trainer.seeds, stream, self.params, trainer.device)
