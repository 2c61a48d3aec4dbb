"""The fused one-hidden-layer critic: the same function and gradients as the torch path, the
same numbers on any thread count, and used only where it is exact."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ganbench.components.accel import critic as fused_critic
from ganbench.components.nets.activations import ACTIVATIONS
from ganbench.components.nets.mlp import SeededMLP
from ganbench.config.suite import expand, parse_suite
from ganbench.train.training import Trainer

pytestmark = pytest.mark.skipif(not fused_critic.available(), reason="no C compiler for the critic kernel")


def _net(K: int, H: int, S: int, act: str) -> SeededMLP:
    return SeededMLP([K, H, 1], ACTIVATIONS.get(act), list(range(S)), "d_init")


def _torch_forward(net: SeededMLP, x: torch.Tensor) -> torch.Tensor:
    net.use_fused_critic(False)
    try:
        return net(x)
    finally:
        net.use_fused_critic(True)


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
@pytest.mark.parametrize("S, B, K, H", [(1, 1, 1, 5), (3, 67, 2, 128), (2, 130, 8, 130), (4, 64, 4, 16)])
def test_forward_and_gradients_match_torch(act, S, B, K, H):
    net = _net(K, H, S, act)
    assert net.use_fused_critic()
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(S, B, K, generator=gen, requires_grad=True)
    g = torch.randn(S, B, 1, generator=gen)
    out = net(x)
    grads = torch.autograd.grad((out * g).sum(), [x, *net.parameters()])
    # reference in float64 through the plain torch layers
    ref_net = _net(K, H, S, act).double()
    ref_net.load_state_dict(net.state_dict())
    ref_net.use_fused_critic(False)
    xd = x.detach().double().requires_grad_(True)
    ref = ref_net(xd)
    ref_grads = torch.autograd.grad((ref * g.double()).sum(), [xd, *ref_net.parameters()])
    assert out.shape == (S, B, 1)
    torch.testing.assert_close(out.double(), ref, rtol=1e-5, atol=1e-5)
    for a, r in zip(grads, ref_grads):
        assert a.shape == r.shape
        torch.testing.assert_close(a.double(), r, rtol=1e-4, atol=1e-5)


def test_only_needed_gradients_and_input_gradient_alone():
    net = _net(2, 32, 2, "relu")
    assert net.use_fused_critic()
    x = torch.randn(2, 50, 2, requires_grad=True)
    (gx,) = torch.autograd.grad(net(x).sum(), [x])
    (gx_ref,) = torch.autograd.grad(_torch_forward(net, x).sum(), [x])
    torch.testing.assert_close(gx, gx_ref, rtol=1e-4, atol=1e-6)
    # parameters alone (the D step: a detached batch)
    gp = torch.autograd.grad(net(x.detach()).sum(), list(net.parameters()))
    gp_ref = torch.autograd.grad(_torch_forward(net, x.detach()).sum(), list(net.parameters()))
    for a, r in zip(gp, gp_ref):
        torch.testing.assert_close(a, r, rtol=1e-4, atol=1e-6)


def test_same_numbers_on_one_and_two_threads():
    net = _net(2, 128, 8, "relu")
    assert net.use_fused_critic()
    x = torch.randn(8, 1024, 2, requires_grad=True)
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            out = net(x)
            grads = torch.autograd.grad(out.square().sum(), [x, *net.parameters()])
            results.append([out.detach(), *grads])
    finally:
        torch.set_num_threads(before)
    for a, b in zip(*results):
        assert torch.equal(a, b)


def test_second_derivative_raises_instead_of_being_wrong():
    net = _net(2, 16, 1, "relu")
    assert net.use_fused_critic()
    x = torch.randn(1, 8, 2, requires_grad=True)
    (gx,) = torch.autograd.grad(net(x).sum(), [x], create_graph=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(gx.square().sum(), list(net.parameters()))


@pytest.mark.parametrize("sizes, act", [([2, 64, 64, 1], "relu"), ([2, 64, 1], "sigmoid"),
                                        ([2, 64, 1], "tanh"), ([2, 64, 3], "relu"), ([9, 64, 1], "relu"),
                                        ([2, 2000, 1], "relu")])
def test_not_used_where_it_would_not_be_exact(sizes, act):
    net = SeededMLP(sizes, ACTIVATIONS.get(act), [0], "d_init")
    assert not net.use_fused_critic()
    assert net.fused_slope is None


def test_unavailable_kernel_falls_back_to_torch(monkeypatch):
    monkeypatch.setattr(fused_critic, "_fns", False)
    net = _net(2, 16, 1, "relu")
    assert not net.use_fused_critic()
    x = torch.randn(1, 4, 2)
    assert net(x).shape == (1, 4, 1)


RING = """\
name: t
seeds: 2
budget: {steps: 20, eval_every: 20, eval_samples: 200, log_every: 5}
datasets: {ring: {}}
model: {generator: {hidden: [32, 32], z_dim: 16}, discriminator: {hidden: [32]}}
optimizer: {name: adam, lr: 1.0e-3, batch_size: 64}
combos:
  plain: {loss: non_saturating}
  simultaneous: {loss: non_saturating, update: simultaneous}
  packed: {loss: non_saturating, remedies: {packing: {k: 4}, instance_noise: {std: 0.1}}}
  r1: {loss: non_saturating, remedies: {gradient_penalty: {kind: r1, weight: 1.0}}}
  unrolled: {loss: non_saturating, remedies: {unrolled: {steps: 2}}}
  sn: {loss: non_saturating, remedies: {spectral_norm: {}}}
"""


def _specs() -> dict[str, object]:
    return {s.combo: s for s in expand(parse_suite(RING))}


@pytest.mark.parametrize("combo, fused", [("plain", True), ("simultaneous", True), ("packed", True),
                                          ("r1", False), ("unrolled", False), ("sn", False)])
def test_trainer_fuses_only_without_second_derivatives_or_weight_transforms(combo, fused):
    assert Trainer(_specs()[combo]).fused_critic is fused


@pytest.mark.parametrize("combo", ["plain", "simultaneous", "packed"])
def test_fused_training_follows_the_torch_path(combo):
    """Ten steps with the fused critic stay within float rounding of the torch critic."""
    spec = _specs()[combo]
    fused, plain = Trainer(spec), Trainer(spec)
    assert fused.fused_critic
    plain.D.use_fused_critic(False)
    for _ in range(10):
        fused.step()
        plain.step()
    for a, b in zip(fused.g_params + fused.d_params, plain.g_params + plain.d_params):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-3, atol=1e-4)


def test_trial_rows_say_which_critic_ran():
    from ganbench.train.training import train_trial

    specs = _specs()
    for combo, expect in (("plain", "fused"), ("r1", "torch")):
        spec = specs[combo]
        spec = dataclasses.replace(spec, budget=spec.budget.model_copy(
            update={"steps": 4, "eval_every": 4, "log_every": 2}))
        rows = train_trial(spec).rows
        assert [r["critic"] for r in rows] == [expect] * len(spec.seeds)
