"""``model.init`` of the seed-axis MLPs: orthogonal and normal weights, zero biases, the default
unchanged, and every seed's weights independent of the other seeds of its trial."""

from __future__ import annotations

import torch

from ganbench.components.nets.mlp import SeededMLP


def _mlp(init, seeds=(0, 1, 2), sizes=(256, 128, 128, 2)):
    return SeededMLP(list(sizes), torch.tanh, list(seeds), "g_init", init=init)


def test_orthogonal_weights_with_gain():
    net = _mlp(("orthogonal", 1.4))
    for w, b in zip(net.weights, net.biases):
        assert torch.count_nonzero(b) == 0
        for s in range(w.shape[0]):
            m = w[s]  # [fan_in, fan_out]
            gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
            torch.testing.assert_close(gram, 1.4 ** 2 * torch.eye(gram.shape[0]), atol=1e-4, rtol=0)


def test_normal_weights():
    net = _mlp(("normal", 0.02))
    w = net.weights[0].detach()
    assert abs(float(w.std()) - 0.02) < 0.001 and abs(float(w.mean())) < 0.001
    assert all(torch.count_nonzero(b) == 0 for b in net.biases)


def test_default_is_torch_linear_init_and_unchanged():
    a, b = _mlp(("torch_default", 1.0)), SeededMLP([256, 128, 128, 2], torch.tanh, [0, 1, 2], "g_init")
    for wa, wb in zip(list(a.weights) + list(a.biases), list(b.weights) + list(b.biases)):
        assert torch.equal(wa, wb)
    bound = 1 / 256 ** 0.5
    assert float(a.weights[0].detach().abs().max()) <= bound and torch.count_nonzero(a.biases[0]) > 0


def test_each_seed_is_drawn_alone():
    for init in (("orthogonal", 1.4), ("normal", 0.02)):
        many, one = _mlp(init, seeds=(0, 5, 9)), _mlp(init, seeds=(5,))
        for wm, wo in zip(many.weights, one.weights):
            assert torch.equal(wm[1], wo[0])
