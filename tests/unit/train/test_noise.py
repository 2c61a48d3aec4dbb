"""The training noise: one torch generator per seed on the trial's device, standard normal,
the same numbers however many threads draw them and whichever other seeds share the trial."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from ganbench.components.nets.mlp import stream_seed
from ganbench.components.noise import MIN_PARALLEL, NoiseStream

CPU = torch.device("cpu")
KEYS = [stream_seed(s, "noise") for s in range(4)]


def test_each_seed_is_its_own_torch_generator_stream():
    """Seed s's draws are torch.Generator(stream key).normal_ in order: nothing else."""
    st = NoiseStream(KEYS, 8, 3, CPU)
    first, second = st.next().clone(), st.next().clone()
    for s, key in enumerate(KEYS):
        g = torch.Generator().manual_seed(key)
        expect = torch.empty(2, 8, 3)
        expect[0].normal_(generator=g)
        expect[1].normal_(generator=g)
        assert torch.equal(first[s], expect[0]) and torch.equal(second[s], expect[1])


def test_a_seed_draws_the_same_noise_whatever_other_seeds_share_the_trial():
    alone = NoiseStream(KEYS[2:3], 64, 600, CPU).next()
    together = NoiseStream(KEYS, 64, 600, CPU).next()
    assert torch.equal(alone[0], together[2])


@pytest.mark.parametrize("threads", [2, 3, 4])
def test_threaded_draws_equal_sequential_draws_and_state_restores(threads):
    batch, dim = 128, MIN_PARALLEL // 128  # large enough to be shared among threads
    seq = NoiseStream(KEYS, batch, dim, CPU, threads=1)
    par = NoiseStream(KEYS, batch, dim, CPU, threads=threads)
    assert seq.threads == 1 and par.threads == min(threads, len(KEYS))
    for _ in range(3):
        assert torch.equal(seq.next(), par.next())
    state = par.get_state()
    after = par.next().clone()
    par.set_state(state)
    assert torch.equal(par.next(), after)


def test_small_draws_stay_on_the_calling_thread():
    assert NoiseStream(KEYS, 8, 8, CPU, threads=4).threads == 1
    assert NoiseStream(KEYS[:1], 512, 256, CPU, threads=4).threads == 1


def test_draws_are_standard_normal_and_independent_across_seeds():
    st = NoiseStream(KEYS, 1000, 250, CPU, threads=2)
    z = st.next().double()
    flat = z.reshape(-1).numpy()
    assert abs(flat.mean()) < 0.005 and abs(flat.std() - 1) < 0.005
    assert stats.kstest(flat[:200_000], "norm").pvalue > 1e-3
    per_seed = z.reshape(len(KEYS), -1).numpy()
    corr = np.corrcoef(per_seed)
    assert np.abs(corr[np.triu_indices(len(KEYS), 1)]).max() < 0.01


def test_refilled_buffer_bumps_autograd_version_and_fresh_streams_allocate():
    st = NoiseStream(KEYS[:2], 4, 2, CPU)
    buf = st.next()
    v = buf._version
    assert st.next() is buf and buf._version > v
    fresh = NoiseStream(KEYS[:2], 4, 2, CPU, fresh=True)
    a, b = fresh.next(), fresh.next()
    assert a is not b and not torch.equal(a, b)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_noise_is_drawn_on_the_device_from_per_seed_generators():
    dev = torch.device("cuda")
    st = NoiseStream(KEYS, 512, 256, dev)
    z = st.next()
    assert z.device.type == "cuda" and all(g.device.type == "cuda" for g in st.gens)
    assert st.threads == 1
    g = torch.Generator(device=dev).manual_seed(KEYS[1])
    assert torch.equal(z[1], torch.empty(512, 256, device=dev).normal_(generator=g))
    assert abs(float(z.mean())) < 0.01
