"""Per-seed Gaussian noise for the training loop: a counter-based generator, compiled once.

At the Metz ring size (z of 512 × 256 per seed per step) drawing the noise was the largest
cost of a step after the matrix products. ``torch.randn`` on CPU draws from a Mersenne
twister one word at a time (0.37 ms per 131k values here), which is 2.1 ms of a 12 ms step at
S = 8 on 2 cores even when shared across both threads. This module draws it instead with

* **Philox4x32-10** (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11), the
  counter-based generator behind cuRAND, JAX and numpy's ``Philox``: block ``b`` of a stream is
  a pure function of (key, b), so a stream's state is one integer and any block can be
  computed independently (and vectorised);
* **Box–Muller** on 24-bit uniforms, with ``ln``, ``sin`` and ``cos`` as fixed float32
  polynomials, so that every floating-point operation is a single IEEE-754 operation.

The kernel (``noise_kernel.c``) is compiled with the system C compiler the first time it is
needed and cached (:mod:`ganbench.components.kernels`). Philox runs in explicit AVX-512 or AVX2 code where
the CPU has it (GCC vectorised the plain loop with 64-bit multiplies, 2.5× slower), plain C
elsewhere; all three give the same integers. It draws 131k values in 0.14 ms on one core
(Intel Xeon, AVX-512), against 0.35 ms for ``torch.randn``. Where no compiler is
available, :func:`philox_normal_numpy` computes the *same numbers* (a test checks bit
equality), only slower; which one ran is recorded in the manifest (:func:`kernel_info`).
The numbers depend on nothing but the key and the position in the stream: not the machine,
the vector width, the thread count or the device (a CUDA trial draws on the host and copies).

Distribution: exact Box–Muller of a uniform on the 2^24-point grid ``(k + 1) 2^-24``, so
``|z| ≤ sqrt(48 ln 2) = 5.77`` (a normal exceeds that with probability 8e-9); the polynomials
are accurate to a few float32 ulps. Tests check the moments and a KS test on 10^6 draws.

Threads: :class:`NoiseStream` draws all seeds in one kernel call that shares them among the
threads of torch's own OpenMP pool (:mod:`ganbench.components.kernels`). Python helper threads (the
previous design) cost about 0.5 ms a draw at S = 8 in a training step: a woken helper waits
for the core that torch's spinning OpenMP worker holds. Two other designs were measured worse
for the earlier ``torch.randn`` draw and are not used (ring, S = 8, 2 cores):
drawing step t+1's noise on a background thread while step t runs (it competes with the
OpenMP workers of the matrix products, which wait for the slowest thread: a step went from 13
to 48 ms; at idle priority it was no faster), and a helper pool under libgomp's default spin
(see ``ganbench.GOMP_SPINCOUNT``).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from typing import Any, Sequence

import numpy as np
import torch

from ganbench.components import kernels

#: Smallest per-seed draw (values) worth sharing among threads.
MIN_PARALLEL = 32_768

_M = (0xD2511F53, 0xCD9E8D57)
_W = (0x9E3779B9, 0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_f32 = np.float32


# ----------------------------------------------------------------------------- reference
def philox4x32(counters: np.ndarray, key: tuple[int, int], rounds: int = 10) -> np.ndarray:
    """Philox4x32 of ``counters`` (``[N, 4]`` uint32 words) under ``key`` (two 32-bit words);
    returns ``[N, 4]`` uint32. The Random123 reference algorithm, in numpy."""
    c = [counters[:, i].astype(np.uint64) for i in range(4)]
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    m0, m1 = np.uint64(_M[0]), np.uint64(_M[1])
    for _ in range(rounds):
        p0, p1 = m0 * c[0], m1 * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k0, p1 & _MASK, (p0 >> np.uint64(32)) ^ c[3] ^ k1, p0 & _MASK]
        k0, k1 = (k0 + np.uint64(_W[0])) & _MASK, (k1 + np.uint64(_W[1])) & _MASK
    return np.stack(c, 1).astype(np.uint32)


def _box_muller(a: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r cos θ, r sin θ) from two uint32 word arrays, exactly as ``noise_kernel.c`` does it."""
    a, t = a >> np.uint32(8), t >> np.uint32(8)
    bits = (a + np.uint32(1)).astype(np.int32).astype(_f32).view(np.uint32)
    mb = (bits & np.uint32(0x7FFFFF)) | np.uint32(0x3F800000)
    big = (mb > np.uint32(0x3FB504F3)).astype(np.uint32)
    mb = mb - (big << np.uint32(23))
    e = (bits >> np.uint32(23)).astype(np.int32) - 127 + big.astype(np.int32)
    m = mb.view(_f32)
    s = (m - _f32(1)) / (m + _f32(1))
    z = s * s
    p = _f32(float.fromhex("0x1.745d18p-4"))
    for c in ("0x1.c71c72p-4", "0x1.24924ap-3", "0x1.99999ap-3", "0x1.555556p-2", "0x1p0"):
        p = p * z + _f32(float.fromhex(c))
    lnu = (e - 24).astype(_f32) * _f32(float.fromhex("0x1.62e43p-1")) + _f32(2) * s * p
    r = np.sqrt(_f32(-2) * lnu)
    q = t >> np.uint32(22)
    y = (t & np.uint32(0x3FFFFF)).astype(np.int32).astype(_f32) * _f32(float.fromhex("0x1.921fb6p-22"))
    w = y * y
    sp = _f32(float.fromhex("-0x1.ae6456p-26"))
    for c in ("0x1.71de3ap-19", "-0x1.a01a02p-13", "0x1.111112p-7", "-0x1.555556p-3", "0x1p0"):
        sp = sp * w + _f32(float.fromhex(c))
    sy = sp * y
    cp = _f32(float.fromhex("0x1.1eed8ep-29"))
    for c in ("-0x1.27e4fcp-22", "0x1.a01a02p-16", "-0x1.6c16c2p-10", "0x1.555556p-5", "-0x1p-1"):
        cp = cp * w + _f32(float.fromhex(c))
    cy = cp * w + _f32(1)
    sb, cb = sy.view(np.uint32), cy.view(np.uint32)
    odd = (np.uint32(0) - (q & np.uint32(1))).astype(np.uint32)
    cbits = ((sb & odd) | (cb & ~odd)) ^ (((q + np.uint32(1)) & np.uint32(2)) << np.uint32(30))
    sbits = ((cb & odd) | (sb & ~odd)) ^ ((q & np.uint32(2)) << np.uint32(30))
    return r * cbits.view(_f32), r * sbits.view(_f32)


def philox_normal_numpy(key: int, block0: int, n: int) -> np.ndarray:
    """``n`` standard normal float32 values of stream ``key`` (64-bit) from block ``block0``:
    the reference implementation of ``noise_kernel.c`` (same numbers, bit for bit)."""
    nb = (n + 3) // 4
    ctr = np.uint64(block0) + np.arange(nb, dtype=np.uint64)
    words = np.zeros((nb, 4), np.uint32)
    words[:, 0], words[:, 1] = (ctr & _MASK).astype(np.uint32), (ctr >> np.uint64(32)).astype(np.uint32)
    x = philox4x32(words, (key & 0xFFFFFFFF, (key >> 32) & 0xFFFFFFFF))
    out = np.empty((nb, 4), _f32)
    out[:, 0], out[:, 1] = _box_muller(x[:, 0], x[:, 1])
    out[:, 2], out[:, 3] = _box_muller(x[:, 2], x[:, 3])
    return out.reshape(-1)[:n]


# ----------------------------------------------------------------------------- compiled kernel
_lock = threading.Lock()
_kernel: Any = None


def kernel() -> Any:
    """The compiled ``ganbench_normal`` function (:func:`ganbench.components.kernels.load`), or None where
    it cannot be built (then the numpy reference runs: same numbers, slower).
    ``GANBENCH_NOISE_KERNEL=numpy`` or ``GANBENCH_KERNELS=off`` forces that."""
    global _kernel
    with _lock:
        if _kernel is None:
            lib = None
            if os.environ.get("GANBENCH_NOISE_KERNEL") != "numpy" and sys.byteorder == "little":
                lib = kernels.load("noise_kernel")
            if lib is None:
                _kernel = False
            else:
                fn = lib.ganbench_normal
                fn.restype = None
                fn.argtypes = [ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_void_p,
                               ctypes.c_int64]
                many = lib.ganbench_normal_seeds
                many.restype = None
                many.argtypes = [ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                 ctypes.c_int64, ctypes.c_int]
                fn.seeds = many
                _kernel = fn
        return _kernel or None


def kernel_info() -> dict[str, str]:
    """What draws the training noise in this process (recorded in ``manifest.json``)."""
    how = kernels.info("noise_kernel") if kernel() is not None else {"implementation": "numpy reference"}
    return {"generator": "Philox4x32-10 + Box-Muller (ganbench.components.noise)", **how}


def philox_normal(key: int, block0: int, out: torch.Tensor) -> None:
    """Fill the contiguous float32 CPU tensor ``out`` with stream ``key``'s values from block
    ``block0`` on (``ceil(out.numel() / 4)`` blocks)."""
    if out.dtype != torch.float32 or out.device.type != "cpu" or not out.is_contiguous():
        raise ValueError(f"philox_normal fills a contiguous float32 CPU tensor, not {out.dtype} "
                         f"on {out.device}")
    n = out.numel()
    fn = kernel()
    if fn is not None:
        fn(key & 0xFFFFFFFF, (key >> 32) & 0xFFFFFFFF, block0, out.data_ptr(), n)
    else:
        out.view(-1).copy_(torch.from_numpy(philox_normal_numpy(key, block0, n)))


# ----------------------------------------------------------------------------- the stream
class NoiseStream:
    """``[S, batch, dim]`` standard normal noise, seed ``s`` from Philox stream ``keys[s]``.

    Args:
        keys: one 64-bit stream key per seed (e.g. ``stream_seed(seed, "noise")``).
        batch, dim: the per-seed draw shape.
        device: where the buffer lives (off the CPU the values are drawn on the host and
            copied, so they equal a CPU trial's). The buffer has torch's default dtype; the
            values are float32 (converted exactly when the default is float64).
        threads: threads to draw on (default: torch's intra-op thread count); one thread, one
            seed or draws under :data:`MIN_PARALLEL` values draw on the calling thread alone.
            The compiled kernel draws all seeds in one call, sharing them among the threads of
            torch's OpenMP pool (:mod:`ganbench.components.kernels`).
        fresh: return a new tensor from each draw instead of refilling one buffer (for callers
            whose autograd graph must keep earlier draws, like unrolling).

    Each draw advances every seed's stream by ``ceil(batch · dim / 4)`` blocks; the whole state
    is that block position per seed (:meth:`get_state`).
    """

    def __init__(self, keys: Sequence[int], batch: int, dim: int, device: torch.device,
                 threads: int | None = None, fresh: bool = False):
        self.keys = [int(k) & 0xFFFFFFFFFFFFFFFF for k in keys]
        self.S = len(self.keys)
        #: each seed's block position, the stream's whole state
        self.blocks = np.zeros(self.S, dtype=np.uint64)
        self.per_draw = (batch * dim + 3) // 4
        threads = torch.get_num_threads() if threads is None else int(threads)
        self.threads = max(1, min(threads, self.S)) if batch * dim >= MIN_PARALLEL else 1
        self.shape, self.device, self.fresh = (self.S, batch, dim), device, fresh
        self.current = torch.zeros(self.shape, device=device)
        self._direct = device.type == "cpu" and self.current.dtype == torch.float32
        self._host = self.current if self._direct else torch.zeros(self.shape, dtype=torch.float32)
        self._keys = np.array(self.keys, dtype=np.uint64)
        kernel()  # compile (or fall back) now, not inside the first step

    def next(self) -> torch.Tensor:
        """Draw the next noise batch and return it: the same buffer each call, refilled, unless
        the stream is ``fresh``."""
        if self.fresh:
            self.current = torch.empty(self.shape, device=self.device)
            if self._direct:
                self._host = self.current
        buf = self._host
        fn = kernel()
        if fn is not None:
            fn.seeds(self.S, self._keys.ctypes.data, self.blocks.ctypes.data, buf.data_ptr(),
                     buf[0].numel(), self.threads)
        else:
            for s in range(self.S):
                philox_normal(self.keys[s], int(self.blocks[s]), buf[s])
        self.blocks += np.uint64(self.per_draw)
        if buf is not self.current:
            self.current.copy_(buf)
        else:  # written through a raw pointer: tell autograd the buffer changed
            torch.autograd.graph.increment_version(buf)
        return self.current

    def get_state(self) -> list[int]:
        """Each seed's block position (restore with :meth:`set_state`)."""
        return [int(b) for b in self.blocks]

    def set_state(self, state: Sequence[int]) -> None:
        self.blocks[:] = np.array([int(b) for b in state], dtype=np.uint64)
