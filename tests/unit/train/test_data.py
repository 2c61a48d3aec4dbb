"""Tests for ganbench.components.data.toy samplers and ganbench.components.nets.mlp."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganbench.components.data.toy import DATASETS, Dirac, DiracParams, Grid, GridParams, Ring, RingParams
from ganbench.components.nets.mlp import STREAMS, SeededMLP, stream_seed


@pytest.fixture(params=["ring", "grid"])
def mixture(request):
    cls = DATASETS.get(request.param)
    return cls(cls.Params())


def test_registry_names():
    assert {"ring", "grid", "dirac"} <= set(DATASETS.names())


def test_sample_shape_and_dtype(mixture):
    x = mixture.sample(300, seed=0)
    assert x.shape == (300, 2) and x.dtype == torch.float32 and mixture.dim == 2
    assert torch.isfinite(x).all()


def test_same_seed_same_samples(mixture):
    assert torch.equal(mixture.sample(500, seed=7), mixture.sample(500, seed=7))
    assert not torch.equal(mixture.sample(500, seed=7), mixture.sample(500, seed=8))


def test_sample_into_matches_sample(mixture):
    gen = torch.Generator().manual_seed(3)
    out = torch.empty(100, 2)
    res = mixture.sample_into(out, gen)
    assert res is out
    assert torch.equal(out, mixture.sample(100, seed=3))


def test_sample_seeds_into_equals_per_seed_draws(mixture):
    """The all-seeds sampler gives each seed exactly its own generator's per-seed draw,
    over successive batches (the mode indices and offsets stay in each generator's order)."""
    seeds = (4, 5, 6)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    alone = [torch.Generator().manual_seed(s) for s in seeds]
    out = torch.empty(3, 64, 2)
    for _ in range(3):
        res = mixture.sample_seeds_into(out, gens)
        assert res is out
        for s, g in enumerate(alone):
            assert torch.equal(out[s], mixture.sample_into(torch.empty(64, 2), g))


def test_empirical_std_around_nearest_centre(mixture):
    x = mixture.sample(20_000, seed=1).double().numpy()
    c = mixture.centres
    idx = np.argmin(((x[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
    resid = x - c[idx]
    # each coordinate of the residual is N(0, std²); with 20 000 samples the sample std is
    # within a relative ≈ 1/√(2·20000) = 0.5 % (1σ) of std, so 3 % is very safe
    np.testing.assert_allclose(resid.std(0), mixture.std, rtol=0.03)
    # the residual mean has standard error std/√20000; allow 5 of them
    np.testing.assert_allclose(resid.mean(0), 0.0, atol=5 * mixture.std / math.sqrt(20_000))
    # every mode is hit, roughly uniformly
    counts = np.bincount(idx, minlength=mixture.n_modes)
    k = mixture.n_modes
    assert counts.min() > 0.8 * 20_000 / k and counts.max() < 1.2 * 20_000 / k


def test_custom_params():
    ring = Ring(RingParams(modes=5, radius=3.0, std=0.1))
    assert ring.n_modes == 5
    np.testing.assert_allclose(np.hypot(*ring.centres.T), 3.0)
    grid = Grid(GridParams(side=3, spacing=1.0))
    assert {tuple(c) for c in grid.centres.tolist()} == {(a, b) for a in (-1.0, 0.0, 1.0) for b in (-1.0, 0.0, 1.0)}


def test_dirac_samples_are_zeros():
    d = Dirac(DiracParams())
    assert d.kind == "dirac" and d.dim == 1 and d.n_modes == 1
    x = d.sample(10, seed=0)
    assert x.shape == (10, 1) and torch.equal(x, torch.zeros(10, 1))
    out = torch.full((4, 1), 5.0)
    assert torch.equal(d.sample_into(out, torch.Generator()), torch.zeros(4, 1))


def test_protocol_records_settings():
    p = Ring(RingParams()).protocol()
    assert p["kind"] == "toy2d" and p["std"] == 0.02 and len(p["centres"]) == 8
    assert p["params"] == {"modes": 8, "radius": 2.0, "std": 0.02}


# --------------------------------------------------------------------------------------------
# nets/mlp
# --------------------------------------------------------------------------------------------


def test_seeded_mlp_init_bounds_like_nn_linear():
    # nn.Linear: weight ~ kaiming_uniform(a=√5): bound = gain·√(3/fan_in) with
    # gain = √(2/(1 + a²)) = √(1/3), i.e. 1/√fan_in; bias ~ U(±1/√fan_in). Same bound for both.
    sizes = [256, 128, 2]
    net = SeededMLP(sizes, torch.relu, seeds=[0, 1, 2], stream="g_init")
    for (fan_in, fan_out), w, b in zip(zip(sizes[:-1], sizes[1:]), net.weights, net.biases):
        bound = 1 / math.sqrt(fan_in)
        assert w.shape == (3, fan_in, fan_out) and b.shape == (3, 1, fan_out)
        assert w.abs().max().item() <= bound and b.abs().max().item() <= bound
        # uniform: fills the range and has variance bound²/3
        assert w.abs().max().item() > 0.98 * bound
        assert w.var().item() == pytest.approx(bound ** 2 / 3, rel=0.05)
    lin = torch.nn.Linear(256, 128)   # the reference bound, from torch itself
    assert lin.weight.abs().max().item() <= 1 / math.sqrt(256)
    assert lin.weight.abs().max().item() > 0.98 / math.sqrt(256)


def test_seed_slice_equals_single_seed_net():
    sizes = [16, 32, 32, 2]
    multi = SeededMLP(sizes, torch.tanh, seeds=[3, 5, 11], stream="d_init")
    for i, s in enumerate([3, 5, 11]):
        single = SeededMLP(sizes, torch.tanh, seeds=[s], stream="d_init")
        for wm, ws in zip(multi.parameters(), single.parameters()):
            assert torch.equal(wm[i:i + 1], ws)
    # and the forward pass slice matches
    x = torch.randn(3, 7, 16, generator=torch.Generator().manual_seed(0))
    y = multi(x)
    assert y.shape == (3, 7, 2)
    single = SeededMLP(sizes, torch.tanh, seeds=[5], stream="d_init")
    torch.testing.assert_close(y[1:2], single(x[1:2]), rtol=1e-6, atol=1e-7)


def test_seeded_mlp_forward_matches_linear_layers():
    sizes = [4, 8, 3]
    net = SeededMLP(sizes, torch.relu, seeds=[0], stream="g_init")
    x = torch.randn(1, 5, 4, generator=torch.Generator().manual_seed(1))
    w0, b0 = net.weights[0][0], net.biases[0][0]
    w1, b1 = net.weights[1][0], net.biases[1][0]
    ref = torch.relu(x[0] @ w0 + b0) @ w1 + b1   # no activation after the last layer
    torch.testing.assert_close(net(x)[0], ref)
    assert net.layer_names == ["l0", "out"]


def test_streams_differ_and_init_differs_between_g_and_d():
    g = SeededMLP([4, 4], torch.relu, seeds=[0], stream="g_init")
    d = SeededMLP([4, 4], torch.relu, seeds=[0], stream="d_init")
    assert not torch.equal(g.weights[0], d.weights[0])


def test_stream_seed():
    vals = {name: stream_seed(0, name) for name in STREAMS}
    assert len(set(vals.values())) == len(STREAMS)             # differs across streams
    assert stream_seed(0, "noise") == stream_seed(0, "noise")  # deterministic
    assert stream_seed(0, "noise") != stream_seed(1, "noise")  # differs across seeds
    assert stream_seed(0, "eval", 1) != stream_seed(0, "eval", 2)
    for v in vals.values():
        assert 0 <= v < 2 ** 63
        torch.Generator().manual_seed(v)   # accepted by torch
