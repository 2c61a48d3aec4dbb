"""Unrolled GAN (Metz et al. 2016): G is trained against D as it will be k updates ahead.

G's loss is ``L_G(θ_G; θ_D^k)`` where ``θ_D^0 = θ_D`` (the current D, treated as a constant)
and ``θ_D^{j+1} = θ_D^j + U(θ_D^j, ∇L_D(θ_G, θ_D^j))``. What exactly is unrolled:

* **D's actual optimiser.** ``U`` is a functional (out-of-place, differentiable) copy of
  ``trainer.opt_d``: its class (Adam, SGD, RMSprop), its hyper-parameters (lr, betas, eps,
  momentum, dampening, nesterov, alpha, weight decay) and its current state (Adam's
  ``exp_avg``/``exp_avg_sq``/``step``, SGD's ``momentum_buffer``, RMSprop's
  ``square_avg``/``momentum_buffer``). The state is read, never modified; the lookahead
  carries its own copy forward from step to step. Adam is ``torch.optim.Adam`` with
  ``amsgrad=False`` (bias correction included), SGD is ``torch.optim.SGD`` (momentum,
  dampening, Nesterov), RMSprop is the non-centred ``torch.optim.RMSprop``; ``amsgrad``,
  ``maximize``, ``centered`` and decoupled weight decay are refused.
* **Fresh batches.** Every unroll step draws a fresh noise batch ``[S, B, z_dim]`` and a
  fresh real batch from the remedy's own per-seed streams (``stream_seed(seed, "remedy",
  10)`` and ``11``), so the trainer's noise and data streams are untouched and seeds stay
  independent. The fake batch ``G(z_j)`` keeps G's graph.
* **Second-order terms.** D's gradients are taken with ``create_graph=True``, so
  ``∂L_G/∂θ_G`` includes the terms through ``∂θ_D^k/∂θ_G`` (the paper's full unrolled
  gradient, not the first-order approximation that treats ``θ_D^k`` as fixed).
* **D's plain objective only.** The unrolled steps use
  ``objective.d_loss(real, fake, real_target)`` on ``trainer.d_input``-transformed inputs
  (packing applies, and instance noise is drawn from its own stream as in D's real steps).
  Penalties (gradient penalties) and after-step hooks (weight clipping) are *not* unrolled.
  D's buffers (spectral-norm vectors) are cloned for the lookahead, so it leaves D untouched.

The real D keeps only its ordinary update. With ``steps: 0`` the hook returns None and the
trainer takes the plain path, bit for bit. On the Dirac-GAN the real data are zeros, z is
irrelevant and D's only parameter is ψ; unrolling works unchanged.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from pydantic import Field
from torch.func import functional_call

from ganbench.components.nets.mlp import stream_seed
from ganbench.components.noise import NoiseStream
from ganbench.components.remedies.base import REMEDIES, Remedy, RemedyParams

Tensor = torch.Tensor
#: one parameter's optimiser state as the lookahead carries it (tensors, and ``step`` as float)
Slot = dict[str, Any]


class UnrolledParams(RemedyParams):
    steps: int = Field(5, ge=0, le=100, description="unroll steps k of D's optimiser (0: plain GAN)")


def _safe_sqrt(x: Tensor) -> Tensor:
    """``sqrt(x)`` for ``x ≥ 0`` with gradient 0 (not ∞·0 = NaN) where ``x == 0``."""
    pos = x > 0
    return torch.where(pos, torch.where(pos, x, torch.ones_like(x)).sqrt(), torch.zeros_like(x))


def adam_step(p: Tensor, g: Tensor, slot: Slot, group: dict[str, Any]) -> tuple[Tensor, Slot]:
    """One ``torch.optim.Adam`` step (``amsgrad=False``), out of place and differentiable.

    Args:
        p, g: parameter and its gradient.
        slot: the parameter's state (``step``, ``exp_avg``, ``exp_avg_sq``; empty before the
            first step). Not modified.
        group: the optimiser's param group (``lr``, ``betas``, ``eps``, ``weight_decay``).
    Returns:
        The updated parameter and its new state.
    """
    beta1, beta2 = group["betas"]
    lr, eps, wd = float(group["lr"]), group["eps"], group["weight_decay"]
    if wd:
        g = g + wd * p
    step = float(slot.get("step", 0.0)) + 1.0
    m = slot.get("exp_avg")
    v = slot.get("exp_avg_sq")
    m = torch.lerp(torch.zeros_like(p) if m is None else m, g, 1.0 - beta1)
    v = (torch.zeros_like(p) if v is None else v) * beta2 + (1.0 - beta2) * g * g
    step_size = lr / (1.0 - beta1 ** step)
    denom = _safe_sqrt(v) / (1.0 - beta2 ** step) ** 0.5 + eps
    return p - step_size * m / denom, {"step": step, "exp_avg": m, "exp_avg_sq": v}


def sgd_step(p: Tensor, g: Tensor, slot: Slot, group: dict[str, Any]) -> tuple[Tensor, Slot]:
    """One ``torch.optim.SGD`` step (momentum, dampening, Nesterov), out of place.

    Args and returns as :func:`adam_step`; the state is ``momentum_buffer``.
    """
    lr, momentum, wd = float(group["lr"]), group["momentum"], group["weight_decay"]
    if wd:
        g = g + wd * p
    if momentum == 0:
        return p - lr * g, {}
    buf = slot.get("momentum_buffer")
    buf = g if buf is None else buf * momentum + (1.0 - group["dampening"]) * g
    d = g + momentum * buf if group["nesterov"] else buf
    return p - lr * d, {"momentum_buffer": buf}


def rmsprop_step(p: Tensor, g: Tensor, slot: Slot, group: dict[str, Any]) -> tuple[Tensor, Slot]:
    """One non-centred ``torch.optim.RMSprop`` step, out of place.

    Args and returns as :func:`adam_step`; the state is ``step``, ``square_avg`` and
    (with momentum) ``momentum_buffer``.
    """
    lr, alpha, eps = float(group["lr"]), group["alpha"], group["eps"]
    momentum, wd = group["momentum"], group["weight_decay"]
    if wd:
        g = g + wd * p
    sq = slot.get("square_avg")
    sq = (torch.zeros_like(p) if sq is None else sq) * alpha + (1.0 - alpha) * g * g
    avg = _safe_sqrt(sq) + eps
    out: Slot = {"step": float(slot.get("step", 0.0)) + 1.0, "square_avg": sq}
    if momentum > 0:
        buf = slot.get("momentum_buffer")
        buf = (torch.zeros_like(p) if buf is None else buf) * momentum + g / avg
        out["momentum_buffer"] = buf
        return p - lr * buf, out
    return p - lr * g / avg, out


#: functional twin of each supported optimiser class
FUNCTIONAL_STEPS: dict[type, Callable[[Tensor, Tensor, Slot, dict[str, Any]], tuple[Tensor, Slot]]] = {
    torch.optim.Adam: adam_step,
    torch.optim.SGD: sgd_step,
    torch.optim.RMSprop: rmsprop_step,
}
#: options of the torch optimisers that the functional twins do not implement
_UNSUPPORTED = ("amsgrad", "maximize", "centered", "decoupled_weight_decay")


def functional_twin(opt: torch.optim.Optimizer) -> Callable[..., tuple[Tensor, Slot]]:
    """The functional step for ``opt``'s class; raises if an option is not reproduced."""
    try:
        fn = FUNCTIONAL_STEPS[type(opt)]
    except KeyError:
        raise TypeError(f"unrolled: no functional twin for optimiser {type(opt).__name__}; "
                        f"supported: {', '.join(c.__name__ for c in FUNCTIONAL_STEPS)}") from None
    for group in opt.param_groups:
        for key in _UNSUPPORTED:
            if group.get(key):
                raise ValueError(f"unrolled: {type(opt).__name__}({key}=True) is not supported")
    return fn


def optimizer_slots(opt: torch.optim.Optimizer, param: torch.nn.Parameter) -> Slot:
    """A read-only view of ``param``'s optimiser state (``step`` as a float)."""
    state = opt.state.get(param, {})
    return {k: (float(v) if k == "step" else v) for k, v in state.items()}


def draw_batches(trainer, noise: NoiseStream,
                 data_gens: list[torch.Generator]) -> tuple[Tensor, Tensor]:
    """A fresh noise batch ``[S, B, z_dim]`` (a new tensor: the unrolled graph keeps it) and real
    batch ``[S, B, dim]``, one stream per seed (zeros on the Dirac-GAN, whose G ignores z and
    whose data are δ₀)."""
    S, B, dev = trainer.S, trainer.batch, trainer.device
    real = torch.zeros(S, B, trainer.dataset.dim, device=dev)
    if trainer.is_dirac:
        return torch.zeros(S, B, trainer.z_dim, device=dev), real
    return noise.next(), trainer.dataset.sample_seeds_into(real, data_gens)


def unroll_discriminator(trainer, steps: int, noise: NoiseStream,
                         data_gens: list[torch.Generator], create_graph: bool = True) -> dict[str, Tensor]:
    """D's parameters (and cloned buffers) after ``steps`` lookahead steps of its optimiser.

    Args:
        trainer: the :class:`~ganbench.train.training.Trainer` (reads ``D``, ``G``, ``opt_d``).
        steps: number of unroll steps k (≥ 1).
        noise, data_gens: the per-seed noise stream (``fresh``) and data generators for the
            fresh batches.
        create_graph: keep the graph of D's gradients, so the result depends on θ_G through
            the updates (False gives the first-order approximation, for tests).
    Returns:
        A name → tensor mapping for ``torch.func.functional_call(trainer.D, ...)``.
    """
    D, opt = trainer.D, trainer.opt_d
    step_fn = functional_twin(opt)
    name_of = {id(p): n for n, p in D.named_parameters()}
    names: list[str] = []
    params: list[Tensor] = []
    slots: list[Slot] = []
    groups: list[dict[str, Any]] = []
    for group in opt.param_groups:
        for p in group["params"]:
            names.append(name_of[id(p)])
            params.append(p.detach().requires_grad_(True))
            slots.append(optimizer_slots(opt, p))
            groups.append(group)
    buffers = {n: b.clone() for n, b in D.named_buffers()}
    for _ in range(steps):
        z, real = draw_batches(trainer, noise, data_gens)
        fake = trainer.G(z)
        tensors = {**dict(zip(names, params)), **buffers}
        d_real = functional_call(D, tensors, (trainer.d_input(real),)).squeeze(-1)
        d_fake = functional_call(D, tensors, (trainer.d_input(fake),)).squeeze(-1)
        d_loss = trainer.objective.d_loss(d_real, d_fake, trainer.real_target)
        grads = torch.autograd.grad(d_loss.sum(), params, create_graph=create_graph, allow_unused=True)
        new_params: list[Tensor] = []
        for j, (p, g) in enumerate(zip(params, grads)):
            if g is None:  # like torch.optim: a parameter without a gradient is skipped
                new_params.append(p)
                continue
            p_new, slots[j] = step_fn(p, g, slots[j], groups[j])
            new_params.append(p_new if create_graph else p_new.detach().requires_grad_(True))
        params = new_params
    return {**dict(zip(names, params)), **buffers}


@REMEDIES.register("unrolled", "G trained against D unrolled k steps of D's own optimiser on fresh batches, with second-order terms (Metz et al. 2016)")
class Unrolled(Remedy):
    """Replaces G's loss by its value under D after ``steps`` lookahead updates (see the
    module docstring for exactly what is unrolled)."""

    Params = UnrolledParams

    def attach(self, trainer) -> None:
        dev = trainer.device
        self.noise = NoiseStream([stream_seed(s, "remedy", 10) for s in trainer.seeds], trainer.batch,
                                 trainer.z_dim, dev, fresh=True)
        self.data_gens = [torch.Generator(device=dev).manual_seed(stream_seed(s, "remedy", 11))
                          for s in trainer.seeds]

    def second_order_d(self) -> bool:
        return self.params.steps > 0

    def g_loss(self, trainer, fake: Tensor) -> Tensor | None:
        k = self.params.steps
        if k == 0:
            return None
        tensors = unroll_discriminator(trainer, k, self.noise, self.data_gens)
        logits = functional_call(trainer.D, tensors, (trainer.d_input(fake),)).squeeze(-1)
        return trainer.objective.g_loss(logits)
