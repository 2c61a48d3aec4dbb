"""The training noise: Philox4x32-10 + Box–Muller, compiled kernel equal to the numpy reference
bit for bit, standard normal, and the same numbers however many threads draw them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from ganbench.components import noise
from ganbench.components.noise import MIN_PARALLEL, NoiseStream, philox4x32, philox_normal, philox_normal_numpy

CPU = torch.device("cpu")


@pytest.mark.parametrize("counter, key, expect", [
    # known-answer vectors of the Random123 reference implementation (kat_vectors, philox4x32 10)
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF, 0xFFFFFFFF), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
])
def test_philox_matches_random123_known_answers(counter, key, expect):
    out = philox4x32(np.array([counter], np.uint32), key)
    assert tuple(int(v) for v in out[0]) == expect


def test_compiled_kernel_is_built_here():
    # CI machines have a C compiler; without one the numpy reference runs (same numbers)
    assert noise.kernel() is not None
    assert noise.kernel_info()["implementation"] == "compiled C kernel"


@pytest.mark.parametrize("key, block0, n", [
    (0, 0, 1000), (2**63 - 5, 2**32 - 3, 37), (123456789123, 17, 512 * 256), (5, 0, 3), (7, 9, 257),
])
def test_compiled_kernel_equals_numpy_reference_bit_for_bit(key, block0, n):
    out = torch.full((n,), float("nan"))
    philox_normal(key, block0, out)
    ref = philox_normal_numpy(key, block0, n)
    assert np.array_equal(out.numpy().view(np.uint32), ref.view(np.uint32))


def test_box_muller_covers_every_quadrant_and_the_edges_exactly():
    """Reference values computed by hand from the definition: u = (a + 1) 2^-24, θ = 2π t 2^-24."""
    from ganbench.components.noise import _box_muller

    a = np.array([0xFFFFFFFF, 0, 0x7FFFFFFF, 0x12345678, 0x12345678, 0x12345678, 0x12345678], np.uint32)
    t = np.array([0, 0, 0, 0x10000000, 0x50000000, 0x90000000, 0xD0000000], np.uint32)
    c, s = _box_muller(a, t)
    ua = ((a >> 8).astype(np.float64) + 1) / 2**24
    th = 2 * np.pi * (t >> 8).astype(np.float64) / 2**24
    r = np.sqrt(-2 * np.log(ua))
    assert c[0] == 0 and s[0] == 0  # u = 1 gives r = 0
    np.testing.assert_allclose(c, r * np.cos(th), rtol=0, atol=2e-6)
    np.testing.assert_allclose(s, r * np.sin(th), rtol=0, atol=2e-6)
    assert np.isclose(c[1], np.sqrt(48 * np.log(2)), rtol=1e-6)  # the largest |z|: u = 2^-24


def test_successive_draws_continue_one_stream():
    one = torch.empty(2, 4 * 100)
    philox_normal(42, 0, one)
    s = NoiseStream([42], 4, 100, CPU, threads=1)
    first = s.next().clone()
    second = s.next().clone()
    assert torch.equal(first.reshape(-1), one.reshape(-1)[:400])
    assert torch.equal(second.reshape(-1), one.reshape(-1)[400:])
    assert s.get_state() == [200]


def test_parallel_draws_equal_sequential_draws_and_state_restores():
    batch, dim = 64, MIN_PARALLEL // 64
    seq = NoiseStream(range(100, 105), batch, dim, CPU, threads=1)
    par = NoiseStream(range(100, 105), batch, dim, CPU, threads=2)
    assert seq.threads == 1 and par.threads == 2
    for _ in range(3):
        a, b = seq.next().clone(), par.next().clone()
        assert torch.equal(a, b)
    state = par.get_state()
    c = par.next().clone()
    par.set_state(state)
    assert torch.equal(par.next(), c)
    # seed s of the stream is its key's stream alone
    alone = NoiseStream([102], batch, dim, CPU, threads=1)
    for _ in range(4):
        last = alone.next()
    assert torch.equal(c[2], last[0])


def test_draws_are_standard_normal_and_independent_across_seeds():
    z = NoiseStream([1, 2], 1000, 1000, CPU, threads=2).next().double().reshape(2, -1).numpy()
    for x in z:
        assert abs(x.mean()) < 5 / 1000  # 5 standard errors of 10^6 draws
        assert abs(x.var() - 1) < 5 * np.sqrt(2 / 10**6)
        assert abs(stats.skew(x)) < 5 * np.sqrt(6 / 10**6)
        assert abs(stats.kurtosis(x)) < 5 * np.sqrt(24 / 10**6)
        assert stats.kstest(x, "norm").pvalue > 1e-4
        assert np.abs(x).max() <= np.sqrt(48 * np.log(2)) + 1e-5
        # neighbouring values (same block, same Box–Muller pair) are uncorrelated
        assert abs(np.corrcoef(x[0::2], x[1::2])[0, 1]) < 5 / np.sqrt(x.size / 2)
    assert abs(np.corrcoef(z[0], z[1])[0, 1]) < 5 / 1000


def test_refilled_buffer_bumps_autograd_version_and_fresh_streams_allocate():
    s = NoiseStream([3], 8, 8, CPU)
    buf = s.next()
    v = buf._version
    assert s.next() is buf and buf._version > v  # autograd sees the in-place refill
    f = NoiseStream([3], 8, 8, CPU, fresh=True)
    a, b = f.next(), f.next()
    assert a is not b and torch.equal(a, NoiseStream([3], 8, 8, CPU).next())  # the same first draw


def test_numpy_fallback_gives_the_same_training_noise(monkeypatch):
    compiled = NoiseStream([11, 12], 32, 16, CPU).next().clone()
    monkeypatch.setattr(noise, "_kernel", False)
    assert noise.kernel() is None
    fallback = NoiseStream([11, 12], 32, 16, CPU).next()
    assert torch.equal(compiled, fallback)


def test_small_draws_stay_on_the_calling_thread():
    assert NoiseStream(range(4), 8, 8, CPU, threads=2).threads == 1
    assert NoiseStream([1], 512, 256, CPU, threads=2).threads == 1


def test_float64_default_dtype_gets_the_same_values_converted():
    ref = NoiseStream([8], 16, 16, CPU).next().clone()
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        for fresh in (False, True):
            z = NoiseStream([8], 16, 16, CPU, fresh=fresh).next()
            assert z.dtype == torch.float64 and torch.equal(z, ref.double())
    finally:
        torch.set_default_dtype(default)
    with pytest.raises(ValueError, match="float32"):
        philox_normal(1, 0, torch.empty(4, dtype=torch.float64))


def _cpu_has(flag: str) -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return flag in f.read().split()
    except OSError:
        return False


@pytest.mark.parametrize("march, needs", [("x86-64", None), ("haswell", "avx2"), ("skylake-avx512", "avx512f")])
def test_every_vector_path_of_the_kernel_equals_the_reference(tmp_path, march, needs):
    """noise_kernel.c has an AVX-512, an AVX2 and a plain C Philox; each build gives the numpy
    reference's numbers bit for bit, across a wrap of the counter's low word too."""
    import ctypes
    import platform
    import shutil
    import subprocess

    if platform.machine() not in ("x86_64", "AMD64") or shutil.which("cc") is None:
        pytest.skip("needs an x86-64 C compiler")
    if needs and not _cpu_has(needs):
        pytest.skip(f"this CPU lacks {needs}")
    so = tmp_path / f"noise-{march}.so"
    subprocess.run(["cc", "-O3", f"-march={march}", "-ffp-contract=off", "-fno-math-errno", "-shared",
                    "-fPIC", "-o", str(so), str(noise.kernels.HERE / "noise_kernel.c")], check=True)
    fn = ctypes.CDLL(str(so)).ganbench_normal
    fn.argtypes = [ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_void_p, ctypes.c_int64]
    for key, block0, n in ((0, 0, 1000), (2**63 - 5, 2**32 - 37, 4099), (123456789123, 17, 131072),
                           (7, 2**33 - 5, 301)):
        out = np.full(n, np.nan, np.float32)
        fn(key & 0xFFFFFFFF, key >> 32, block0, out.ctypes.data, n)
        assert np.array_equal(out.view(np.uint32), philox_normal_numpy(key, block0, n).view(np.uint32))
