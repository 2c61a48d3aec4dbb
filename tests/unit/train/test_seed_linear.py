"""The shape-aware seed-axis linear layer agrees with ``torch.baddbmm`` in value and in first
and second derivatives, in every product form it picks."""

from __future__ import annotations

import pytest
import torch

from ganbench.components.nets.seed_linear import NARROW, bmm, seed_linear


# (batch, fan_in, fan_out): narrow outputs (transposed form), fan_in 1 (outer product),
# D's 2-wide input, and ordinary widths
SHAPES = [(7, 3, 1), (7, 3, 2), (7, 5, NARROW), (7, 1, 5), (9, 2, 9), (7, 5, 6), (3, 6, 2)]


@pytest.mark.parametrize("shape", SHAPES)
def test_value_and_gradients_match_baddbmm(shape):
    B, K, N = shape
    g = torch.Generator().manual_seed(B * 100 + K * 10 + N)
    x = torch.randn(2, B, K, dtype=torch.double, generator=g, requires_grad=True)
    w = torch.randn(2, K, N, dtype=torch.double, generator=g, requires_grad=True)
    b = torch.randn(2, 1, N, dtype=torch.double, generator=g, requires_grad=True)
    ref = torch.baddbmm(b, x, w)
    out = seed_linear(x, w, b)
    assert out.shape == ref.shape
    assert torch.allclose(out, ref, atol=1e-12)
    up = torch.randn(ref.shape, dtype=torch.double, generator=g)
    g_ref = torch.autograd.grad(ref, (x, w, b), up)
    g_out = torch.autograd.grad(out, (x, w, b), up)
    for a, c in zip(g_ref, g_out):
        assert torch.allclose(a, c, atol=1e-12)
    assert torch.autograd.gradcheck(seed_linear, (x, w, b))
    assert torch.autograd.gradgradcheck(seed_linear, (x, w, b))


def test_only_needed_gradients_are_computed():
    x = torch.randn(2, 8, 4)  # like G's noise input: no gradient wanted
    w = torch.randn(2, 4, 3, requires_grad=True)
    b = torch.zeros(2, 1, 3, requires_grad=True)
    gw, gb = torch.autograd.grad(seed_linear(x, w, b).sum(), (w, b))
    assert torch.allclose(gw, x.transpose(1, 2).sum(2, keepdim=True).expand_as(gw))
    assert torch.allclose(gb, torch.full_like(gb, 8.0))


@pytest.mark.parametrize("m,k,n", [(16, 1, 8), (16, 8, 1), (16, 8, 2), (16, 8, 16)])
def test_bmm_forms_agree_with_torch_bmm(m, k, n):
    a, c = torch.randn(3, m, k), torch.randn(3, k, n)
    assert torch.allclose(bmm(a, c), torch.bmm(a, c), atol=1e-5)


@pytest.mark.parametrize("width", [1, 2, NARROW, NARROW + 1])
def test_narrow_hidden_layers_train(width):
    """Hidden layers as narrow as the transposed form (ReLU is applied in place on them)."""
    from ganbench.components.nets.mlp import SeededMLP

    net = SeededMLP([3, width, width, 2], torch.relu, seeds=[0, 1], stream="g_init")
    x = torch.randn(2, 16, 3)
    out = net(x)
    assert out.shape == (2, 16, 2) and out.is_contiguous()
    grads = torch.autograd.grad(out.square().sum(), list(net.parameters()))
    assert all(torch.isfinite(g).all() for g in grads)
    # the same as plain baddbmm layers
    h = x
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        h = torch.baddbmm(b, h, w)
        if i < len(net.weights) - 1:
            h = torch.relu(h)
    assert torch.allclose(out, h, atol=1e-6)
