"""Per-seed Gaussian noise for the training loop, drawn on all of the trial's threads.

``torch.randn`` runs single-threaded on CPU, and at the Metz ring size (z of 512 × 256 per
seed per step) it was the largest cost of a step after the matrix products: about 3 ms of a
15 ms step at S = 8 on 2 cores. :class:`NoiseStream` draws the seeds in parallel: the
calling thread and ``threads - 1`` helper threads claim seeds one at a time until all are
drawn (the seeds' draws are independent, so this is plain work sharing).

Reproducibility: each seed has its own generator, every draw of a generator completes before
the next begins, and each fills its own slice, so the numbers are bit-identical to drawing
sequentially on one thread.

Two designs measured worse here and are not used (ring, S = 8, 2 cores):

* drawing step t+1's noise ahead on a background thread while step t runs: at normal
  priority it competes with the OpenMP workers of the matrix products, which partition work
  statically and wait for the slowest thread (a step went from 13 to 48 ms); at idle
  priority (``SCHED_IDLE``) it drew 1 of 400 seeds under libgomp's default spin (the idle
  OpenMP worker keeps the other core busy) and 43 % of them with ``GOMP_SPINCOUNT`` 30 000,
  but the step was no faster (712 vs 707 seed-steps/s): whenever it runs it takes a core
  from the step;
* a helper pool while libgomp's default spin keeps an OpenMP worker busy after each parallel
  region: the helper shares a core with the spinning worker (see ``ganbench.GOMP_SPINCOUNT``).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

import torch

#: Smallest per-seed draw (elements) worth handing to a helper thread.
MIN_PARALLEL = 16_384

_pools: dict[int, ThreadPoolExecutor] = {}


def _pool(helpers: int) -> ThreadPoolExecutor:
    pool = _pools.get(helpers)
    if pool is None:
        pool = _pools[helpers] = ThreadPoolExecutor(helpers, thread_name_prefix="ganbench-noise")
    return pool


class NoiseStream:
    """``[S, batch, dim]`` standard normal noise, seed ``s`` drawn with ``gens[s]``.

    Args:
        gens: one generator per seed (owned by this stream: nothing else may draw from them).
        batch, dim: the per-seed draw shape.
        device: where the buffer lives.
        threads: threads to draw on (default: torch's intra-op thread count); one thread, one
            seed, a non-CPU device or draws under :data:`MIN_PARALLEL` elements draw on the
            calling thread alone.
    """

    def __init__(self, gens: Sequence[torch.Generator], batch: int, dim: int,
                 device: torch.device, threads: int | None = None):
        self.gens = list(gens)
        self.S = len(self.gens)
        threads = torch.get_num_threads() if threads is None else int(threads)
        parallel = device.type == "cpu" and batch * dim >= MIN_PARALLEL
        self.threads = max(1, min(threads, self.S)) if parallel else 1
        self.current = torch.zeros(self.S, batch, dim, device=device)
        self._lock = threading.Lock()
        self._next = 0

    def next(self) -> torch.Tensor:
        """Draw the next noise batch into the buffer and return it (the same tensor each call)."""
        buf = self.current
        if self.threads == 1:
            for s, g in enumerate(self.gens):
                torch.randn(buf.shape[1:], generator=g, out=buf[s])
            return buf
        self._next = 0
        futs = [_pool(self.threads - 1).submit(self._work, buf) for _ in range(self.threads - 1)]
        self._work(buf)
        for f in futs:
            f.result()
        return buf

    def _work(self, buf: torch.Tensor) -> None:
        while True:
            with self._lock:
                s = self._next
                if s >= self.S:
                    return
                self._next = s + 1
            torch.randn(buf.shape[1:], generator=self.gens[s], out=buf[s])
