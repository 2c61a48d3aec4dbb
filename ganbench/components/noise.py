"""Per-seed Gaussian noise for the training loop, drawn by torch on the trial's device.

Each seed ``s`` of a trial has its own ``torch.Generator`` on the trial's device, seeded with
``keys[s]`` (``stream_seed(s, "noise")``): Mersenne twister (mt19937) on the CPU, Philox on
CUDA. A seed's noise therefore depends only on its key, its position in the stream and the
device type, never on the other seeds of the trial, the thread count or whether a C compiler
is installed. A CUDA trial draws on the GPU; nothing is drawn on the host and copied.

Reproducibility: the same machine type, device and package versions give the same numbers.
CPU and CUDA runs draw different (equally valid) noise, so they agree in distribution, not
number for number.

Threads (CPU): ``torch.randn`` draws one generator's values on one thread (0.30 ms per 131k
values on this kind of machine). At the Metz ring size (512 × 256 values per seed per step)
S = 8 seeds cost 2.4 ms a step on one thread, so :class:`NoiseStream` shares the seeds of a
draw among ``threads`` threads (the calling thread and a small pool): seed ``s`` is always
drawn whole by one thread from its own generator, so the values do not depend on how seeds are
assigned to threads. ATen releases the GIL inside the draw, so the threads run in parallel
(1.34 ms for S = 8 on 2 threads, measured in isolation by ``make bench``'s profile).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import torch

#: Smallest per-seed draw (values) worth sharing among threads.
MIN_PARALLEL = 32_768

_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _pool(workers: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``workers`` helper threads (created on first use, never at import)."""
    with _pool_lock:
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(workers, thread_name_prefix="ganbench-noise")
        return _pools[workers]


def describe() -> str:
    """How the training noise is drawn (recorded in the manifest's protocol)."""
    return ("one torch.Generator per seed on the trial's device, seeded with "
            "stream_seed(seed, 'noise'): mt19937 on CPU, Philox on CUDA; torch's normal_ "
            "(Box-Muller), float32")


class NoiseStream:
    """``[S, batch, dim]`` standard normal noise, seed ``s`` from generator ``keys[s]``.

    Args:
        keys: one seed (< 2^64) per trial seed, e.g. ``stream_seed(seed, "noise")``.
        batch, dim: the per-seed draw shape.
        device: the trial's device; the generators and the buffer live there.
        threads: CPU threads to draw on (default: torch's intra-op thread count). One thread,
            one seed, a non-CPU device or draws under :data:`MIN_PARALLEL` values draw on the
            calling thread alone.
        fresh: return a new tensor from each draw instead of refilling one buffer (for callers
            whose autograd graph must keep earlier draws, like unrolling).

    The whole state is the generators' states (:meth:`get_state`).
    """

    def __init__(self, keys: Sequence[int], batch: int, dim: int, device: torch.device,
                 threads: int | None = None, fresh: bool = False):
        device = torch.device(device)
        self.keys = [int(k) for k in keys]
        self.S = len(self.keys)
        self.shape, self.device, self.fresh = (self.S, batch, dim), device, fresh
        self.gens = [torch.Generator(device=device).manual_seed(k) for k in self.keys]
        threads = torch.get_num_threads() if threads is None else int(threads)
        parallel = device.type == "cpu" and batch * dim >= MIN_PARALLEL
        self.threads = max(1, min(threads, self.S)) if parallel else 1
        # contiguous chunks of seeds, chunk 0 on the calling thread
        bounds = [round(i * self.S / self.threads) for i in range(self.threads + 1)]
        self._chunks = [range(bounds[i], bounds[i + 1]) for i in range(self.threads)]
        self.current = torch.zeros(self.shape, device=device)

    def _fill(self, buf: torch.Tensor, seeds: range) -> None:
        for s in seeds:
            buf[s].normal_(generator=self.gens[s])

    def next(self) -> torch.Tensor:
        """Draw the next noise batch and return it: the same buffer each call, refilled, unless
        the stream is ``fresh``."""
        if self.fresh:
            self.current = torch.empty(self.shape, device=self.device)
        buf = self.current
        if self.threads == 1:
            self._fill(buf, range(self.S))
        else:
            pool = _pool(self.threads - 1)
            futures = [pool.submit(self._fill, buf, chunk) for chunk in self._chunks[1:]]
            self._fill(buf, self._chunks[0])
            for f in futures:
                f.result()
        return buf

    def get_state(self) -> list[torch.Tensor]:
        """Each seed's generator state (restore with :meth:`set_state`)."""
        return [g.get_state() for g in self.gens]

    def set_state(self, state: Sequence[torch.Tensor]) -> None:
        for g, st in zip(self.gens, state):
            g.set_state(st)
