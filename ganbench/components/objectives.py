"""GAN objectives as small pure functions with one shared signature.

Every loss works on discriminator *logits* with a leading seed axis: ``real`` and ``fake``
are ``[S, B]`` tensors (``[S, B']`` for packed batches) and each function returns the
per-seed loss ``[S]`` (the mean over the batch). Convention: D's logit is high for
"real". Both networks *minimise* their loss.

* ``minimax`` (Goodfellow et al. 2014, the saturating original):
  ``L_D = -E log D(x) - E log(1 - D(G(z)))``, ``L_G = E log(1 - D(G(z)))``.
* ``non_saturating`` ("modified minimax"): the same ``L_D``, ``L_G = -E log D(G(z))``.
* ``wasserstein`` (Arjovsky et al. 2017): ``L_D = E D(G(z)) - E D(x)``, ``L_G = -E D(G(z))``;
  no Lipschitz constraint by itself (add ``weight_clipping`` or ``gradient_penalty``).
* ``hinge`` (Lim & Ye 2017; Miyato et al. 2018): ``L_D = E relu(1 - D(x)) + E relu(1 + D(G(z)))``,
  ``L_G = -E D(G(z))``.
* ``least_squares`` (Mao et al. 2017, a=0, b=c=1): ``L_D = ½E(D(x)-1)² + ½E D(G(z))²``,
  ``L_G = ½E(D(G(z))-1)²``.

``D(·) = sigmoid(logit)`` for the two cross-entropy losses; ``log D = -softplus(-logit)`` and
``log(1-D) = -softplus(logit)`` are used for numerical stability. ``real_target`` (< 1) gives
one-sided label smoothing (Salimans et al. 2016) for the cross-entropy losses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ganbench.registry import Registry

Tensor = torch.Tensor


@dataclass(frozen=True)
class Objective:
    """A GAN loss: ``d_loss(real, fake, real_target)`` and ``g_loss(fake)``, both ``-> [S]``.

    ``probability`` says whether ``sigmoid(logit)`` is D's probability of "real" (used when
    probes report D's output); ``wasserstein`` marks critic losses (for compatibility checks).
    """

    d_loss: Callable[..., Tensor]
    g_loss: Callable[[Tensor], Tensor]
    probability: bool
    wasserstein: bool = False


LOSSES: Registry[Objective] = Registry("loss")


def _bce_real(real: Tensor, real_target: float) -> Tensor:
    # -[t log σ(r) + (1-t) log(1-σ(r))] with t = real_target
    if real_target == 1.0:
        return F.softplus(-real).mean(-1)
    return (real_target * F.softplus(-real) + (1.0 - real_target) * F.softplus(real)).mean(-1)


def ce_d_loss(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    """Cross-entropy discriminator loss, shared by minimax and non-saturating."""
    return _bce_real(real, real_target) + F.softplus(fake).mean(-1)


def minimax_g_loss(fake: Tensor) -> Tensor:
    """Saturating generator loss ``E log(1 - D(G(z)))``."""
    return -F.softplus(fake).mean(-1)


def non_saturating_g_loss(fake: Tensor) -> Tensor:
    """Non-saturating generator loss ``-E log D(G(z))``."""
    return F.softplus(-fake).mean(-1)


def wasserstein_d_loss(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    """Critic loss ``E D(G(z)) - E D(x)``."""
    return fake.mean(-1) - real.mean(-1)


def wasserstein_g_loss(fake: Tensor) -> Tensor:
    """Generator loss ``-E D(G(z))`` (also used by hinge)."""
    return -fake.mean(-1)


def hinge_d_loss(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    """Hinge discriminator loss ``E relu(1 - D(x)) + E relu(1 + D(G(z)))``."""
    return F.relu(1.0 - real).mean(-1) + F.relu(1.0 + fake).mean(-1)


def least_squares_d_loss(real: Tensor, fake: Tensor, real_target: float = 1.0) -> Tensor:
    """LSGAN discriminator loss ``½E(D(x) - b)² + ½E D(G(z))²`` with ``b = real_target``."""
    return 0.5 * (real - real_target).square().mean(-1) + 0.5 * fake.square().mean(-1)


def least_squares_g_loss(fake: Tensor) -> Tensor:
    """LSGAN generator loss ``½E(D(G(z)) - 1)²``."""
    return 0.5 * (fake - 1.0).square().mean(-1)


LOSSES.add("minimax", Objective(ce_d_loss, minimax_g_loss, True),
           "original saturating GAN: G minimises log(1 - D(G(z))) (Goodfellow et al. 2014)")
LOSSES.add("non_saturating", Objective(ce_d_loss, non_saturating_g_loss, True),
           "modified minimax: G minimises -log D(G(z)) (Goodfellow et al. 2014)")
LOSSES.add("wasserstein", Objective(wasserstein_d_loss, wasserstein_g_loss, False, True),
           "WGAN critic loss E D(fake) - E D(real) (Arjovsky et al. 2017); pair with clipping or GP")
LOSSES.add("hinge", Objective(hinge_d_loss, wasserstein_g_loss, False),
           "hinge loss for D, -E D(G(z)) for G (Lim & Ye 2017; Miyato et al. 2018)")
LOSSES.add("least_squares", Objective(least_squares_d_loss, least_squares_g_loss, False),
           "LSGAN with a=0, b=c=1 (Mao et al. 2017)")
