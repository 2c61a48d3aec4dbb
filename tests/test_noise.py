"""Per-seed noise drawn on several threads equals the sequential draw, bit for bit."""

from __future__ import annotations

import torch

from ganbench.noise import MIN_PARALLEL, NoiseStream


def _gens(n: int, base: int = 100) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(base + i) for i in range(n)]


def test_parallel_draws_equal_sequential_draws():
    batch, dim = 64, MIN_PARALLEL // 64
    seq = NoiseStream(_gens(5), batch, dim, torch.device("cpu"), threads=1)
    par = NoiseStream(_gens(5), batch, dim, torch.device("cpu"), threads=2)
    assert seq.threads == 1 and par.threads == 2
    for _ in range(4):  # successive draws keep each generator's order
        a, b = seq.next().clone(), par.next().clone()
        assert torch.equal(a, b)
    # seed s of the stream is exactly what its generator alone would give
    one = torch.Generator().manual_seed(102)
    expect = [torch.randn(batch, dim, generator=one) for _ in range(4)]
    assert torch.equal(b[2], expect[-1])


def test_each_seed_is_standard_normal_and_seeds_differ():
    s = NoiseStream(_gens(3), 256, 256, torch.device("cpu"), threads=2)
    z = s.next()
    assert z.shape == (3, 256, 256)
    assert abs(float(z.mean())) < 0.01 and abs(float(z.std()) - 1.0) < 0.01
    assert not torch.equal(z[0], z[1])


def test_small_draws_stay_on_the_calling_thread():
    assert NoiseStream(_gens(4), 8, 8, torch.device("cpu"), threads=2).threads == 1
    assert NoiseStream(_gens(1), 512, 256, torch.device("cpu"), threads=2).threads == 1
