"""Activation functions, registered by name (suite field ``model.activation``)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ganbench.registry import Registry

ACTIVATIONS: Registry[Callable[[torch.Tensor], torch.Tensor]] = Registry("activation")
ACTIVATIONS.add("relu", torch.relu, "max(0, x)")


def leaky_relu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU with negative slope 0.2."""
    return F.leaky_relu(x, 0.2)


leaky_relu.negative_slope = 0.2  # type: ignore[attr-defined]  (read by the fused critic)
ACTIVATIONS.add("leaky_relu", leaky_relu, "max(0.2x, x) (slope 0.2, as in DCGAN)")
ACTIVATIONS.add("tanh", torch.tanh, "hyperbolic tangent (saturates for |x| >> 1)")
ACTIVATIONS.add("sigmoid", torch.sigmoid, "logistic sigmoid (saturates; the classic vanishing-gradient setting)")
