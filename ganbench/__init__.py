"""ganbench: a benchmark and diagnostics suite for the ways GAN training fails."""

import os as _os

__version__ = "0.1.0"

#: OpenMP spin before an idle worker sleeps, set before torch loads libgomp (a value already
#: in the environment wins). libgomp's default, 300 000 spins, keeps the idle worker busy for
#: milliseconds after every parallel region; the per-seed noise threads of a CPU trial then
#: share a core with it and drew noise about 1.6× slower (ring, S = 8, 2 cores: step 13.6 →
#: 12.2 ms with 1 000). 1 000 spins is long enough to catch back-to-back ops; with 100–300 the
#: wake-ups cost more than they save (BENCHMARKS.md).
GOMP_SPINCOUNT = "30000"
_os.environ.setdefault("GOMP_SPINCOUNT", GOMP_SPINCOUNT)
