"""The remedy interface: hooks the training loop calls at fixed points.

Every hook has a no-op default, so a remedy overrides only what it changes. Hooks act on
tensors with the leading seed axis (``[S, B, ...]``) and per-seed values ``[S]``. The order
of the hooks within one training step (see :mod:`ganbench.train.training`):

1. ``configure(build)`` — before the networks exist: change learning rates, D's input
   width, the real-label target, ... (:class:`Build` is the mutable build plan).
2. ``attach(trainer)`` — once the networks and optimisers exist (wrap layers, make RNGs).
3. ``begin_step(trainer, step)`` — at the start of each G step (schedules).
4. ``d_input(trainer, x)`` — every batch D sees, real or fake, in ``input_order``.
5. ``d_penalty(trainer, real_in, fake_in)`` — extra per-seed D loss ``[S]`` (or None).
6. ``after_d_step(trainer)`` — after each optimiser step of D (weight clipping).
7. ``g_loss(trainer, fake)`` — may replace the generator loss (unrolling); return None
   to keep the ordinary one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import torch
from pydantic import BaseModel, ConfigDict

from ganbench.registry import Registry

if TYPE_CHECKING:  # pragma: no cover
    from ganbench.train.training import Trainer


class RemedyParams(BaseModel):
    """Base for remedy parameters: strict, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


@dataclass
class Build:
    """The build plan remedies may edit in :meth:`Remedy.configure`.

    Attributes:
        lr_d, lr_g: learning rates of D and G.
        betas_d, betas_g: Adam betas of D and G.
        d_input_multiplier: D's input width is ``dim × this`` (PacGAN packing).
        d_head_extra: extra features appended before D's output layer (minibatch features).
        real_target: target for real samples in the cross-entropy losses (label smoothing).
        is_dirac: whether the trial is a Dirac-GAN.
    """

    lr_d: float
    lr_g: float
    betas_d: tuple[float, float]
    betas_g: tuple[float, float]
    d_input_multiplier: int = 1
    d_head_extra: int = 0
    real_target: float = 1.0
    is_dirac: bool = False


class Remedy:
    """Base class for remedies. ``Params`` validates the suite's settings for it."""

    Params: ClassVar[type[RemedyParams]] = RemedyParams
    #: order in which ``d_input`` hooks apply (noise before packing)
    input_order: ClassVar[int] = 50

    def __init__(self, params: RemedyParams):
        self.params = params

    # hooks (no-ops by default) -------------------------------------------------------
    def configure(self, build: Build) -> None:
        """Edit the build plan before the networks are created."""

    def attach(self, trainer: "Trainer") -> None:
        """Called once the networks and optimisers exist."""

    def begin_step(self, trainer: "Trainer", step: int) -> None:
        """Called at the start of G step ``step`` (1-based)."""

    def d_input(self, trainer: "Trainer", x: torch.Tensor) -> torch.Tensor:
        """Transform a batch before D sees it (``[S, B, d]`` → ``[S, B', d']``)."""
        return x

    def d_penalty(self, trainer: "Trainer", real_in: torch.Tensor,
                  fake_in: torch.Tensor) -> torch.Tensor | None:
        """An extra per-seed D loss ``[S]`` computed on D's (transformed) inputs."""
        return None

    def after_d_step(self, trainer: "Trainer") -> None:
        """Called after every optimiser step of D."""

    def g_loss(self, trainer: "Trainer", fake: torch.Tensor) -> torch.Tensor | None:
        """Replace the generator loss (``[S]``); None keeps the ordinary one."""
        return None

    def second_order_d(self) -> bool:
        """Whether this remedy differentiates through D's gradients (a penalty on ∂D/∂x,
        unrolled D updates). Such trials keep D in torch ops; others may run a fused,
        once-differentiable critic (:mod:`ganbench.components.accel.critic`)."""
        return False


REMEDIES: Registry[type[Remedy]] = Registry("remedy")


def input_gradient(trainer: "Trainer", x: torch.Tensor) -> torch.Tensor:
    """∂D(x)/∂x per sample (``[S, B, d]``), kept in the graph (``create_graph``) so that a
    penalty on it can be trained through."""
    x = x.detach().requires_grad_(True)
    out = trainer.d_logits(x)
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return g
