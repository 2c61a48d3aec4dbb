"""The one-hidden-layer (leaky) ReLU MLP critic as one fused CPU kernel.

The toy suites' discriminator (Metz et al. 2016: 2 → 128 → 1, ReLU) has almost no arithmetic
(0.4 MFLOP per seed-step, 0.3 % of the ring step's) but, written as torch ops, it made and
read several ``[S, B, 128]`` tensors per pass (4 MiB each for the joint real+fake batch at
S = 8) and took about a quarter of the step on 2 cores (2.7 of 11.4 ms: a 2-wide input
product, the outer product of the 1-wide head's gradient, ReLU and its backward, bias sums).
``critic.c`` computes a sample's hidden units in registers, forward and backward, and
never stores them: the backward pass recomputes the pre-activations (2 multiply-adds per
unit). Measured on the ring at S = 8, 2 threads: the critic's share of a step fell from about
2.7 ms to about 0.4 ms (``make bench``, BENCHMARKS.md).

Scope: the fused path is used only where it computes exactly what the torch path computes, to
float rounding: a :class:`~ganbench.components.nets.mlp.SeededMLP` with one hidden layer, a 1-wide head,
ReLU or leaky ReLU, at most ``MAX_INPUTS`` inputs and ``MAX_HIDDEN`` hidden units, no
minibatch features or spectral norm, float32 on the CPU, and a compiled kernel. The Trainer
also keeps the torch path for remedies that differentiate through D's gradients (gradient
penalties, unrolling): :class:`FusedCritic` is once-differentiable, and a second derivative
through it raises instead of returning something wrong.

Threads: the kernel shares the seeds of a call among the threads of torch's OpenMP pool
(:mod:`ganbench.components.accel`); each seed is computed by one thread in a fixed order, so results do
not depend on the thread count.
"""

from __future__ import annotations

import ctypes
from typing import Any

import torch
from torch.autograd.function import once_differentiable

from ganbench.components import accel

#: Limits compiled into ``critic.c`` (MAXK, MAXH).
MAX_INPUTS = 8
MAX_HIDDEN = 1024

_fns: Any = None


def _kernels() -> tuple[Any, Any] | None:
    global _fns
    if _fns is None:
        lib = accel.load("critic", respect_switch=False)
        if lib is None:
            _fns = False
        else:
            P, I, F = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float
            fwd, bwd = lib.ganbench_critic_forward, lib.ganbench_critic_backward
            fwd.restype = bwd.restype = None
            fwd.argtypes = [I, I, I, I, P, P, P, P, P, F, P]
            bwd.argtypes = [I, I, I, I, P, P, P, P, F, P, P, P, P, P, P]
            _fns = (fwd, bwd)
    return _fns or None


def available() -> bool:
    """Whether the compiled critic kernel can run in this process (compiled, switch not off)."""
    return accel.enabled() and _kernels() is not None


def activation_slope(activation: Any) -> float | None:
    """The negative slope of a (leaky) ReLU activation callable (0 for ReLU), else None."""
    if activation is torch.relu:
        return 0.0
    slope = getattr(activation, "negative_slope", None)
    return float(slope) if slope is not None and 0.0 <= float(slope) <= 1.0 else None


def eligible(mlp: Any) -> float | None:
    """The activation slope if ``mlp`` (a SeededMLP) is a critic the kernel computes exactly,
    else None."""
    if len(mlp.weights) != 2 or mlp.sizes[-1] != 1 or mlp.pre_head is not None \
            or mlp.weight_transform is not None:
        return None
    w1 = mlp.weights[0]
    if w1.device.type != "cpu" or w1.dtype != torch.float32:
        return None
    if w1.shape[1] > MAX_INPUTS or w1.shape[2] > MAX_HIDDEN:
        return None
    return activation_slope(mlp.activation)


class FusedCritic(torch.autograd.Function):
    """``[S, B, K] → [S, B, 1]``: ``act(x·W1 + b1)·w2 + b2`` per seed, fused (see module)."""

    @staticmethod
    def forward(ctx, x, w1, b1, w2, b2, slope: float):  # type: ignore[override]
        fwd, _ = _kernels()
        x = x.contiguous()
        w1, b1, w2, b2 = (t.detach().contiguous() for t in (w1, b1, w2, b2))
        S, B, K = x.shape
        H = w1.shape[2]
        out = torch.empty(S, B, 1, dtype=x.dtype, device=x.device)
        fwd(S, B, K, H, x.data_ptr(), w1.data_ptr(), b1.data_ptr(), w2.data_ptr(), b2.data_ptr(),
            slope, out.data_ptr())
        ctx.save_for_backward(x, w1, b1, w2)
        ctx.slope = slope
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, g):  # type: ignore[override]
        _, bwd = _kernels()
        x, w1, b1, w2 = ctx.saved_tensors
        need_x, need_w1, need_b1, need_w2, need_b2, _ = ctx.needs_input_grad
        S, B, K = x.shape
        H = w1.shape[2]
        g = g.contiguous()
        gx = torch.empty_like(x) if need_x else None
        gw1 = torch.empty_like(w1) if need_w1 else None
        gb1 = torch.empty_like(b1) if need_b1 else None
        gw2 = torch.empty_like(w2) if need_w2 else None
        gb2 = torch.empty(S, 1, 1, dtype=x.dtype) if need_b2 else None

        def ptr(t: torch.Tensor | None) -> int | None:
            return None if t is None else t.data_ptr()

        bwd(S, B, K, H, ptr(x), ptr(w1), ptr(b1), ptr(w2), ctx.slope, ptr(g), ptr(gx), ptr(gw1),
            ptr(gb1), ptr(gw2), ptr(gb2))
        return gx, gw1, gb1, gw2, gb2, None


def fused_critic(x: torch.Tensor, w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor,
                 b2: torch.Tensor, slope: float) -> torch.Tensor:
    """Apply :class:`FusedCritic` (weights in :class:`~ganbench.components.nets.mlp.SeededMLP` layout)."""
    return FusedCritic.apply(x, w1, b1, w2, b2, slope)
