"""ganbench: a benchmark and diagnostics suite for the ways GAN training fails."""

import os as _os

__version__ = "0.1.0"

#: OpenMP spin before an idle worker sleeps, set before torch loads libgomp (a value already
#: in the environment wins). With libgomp's default (300 000 spins) an idle worker keeps its
#: core busy for milliseconds after every parallel region, and the per-seed noise threads of a
#: CPU trial share that core with it (the draw took 3.5 instead of 2.2 ms at S = 8 on 2 cores).
#: Much lower values cost more in wake-ups than they save: at 1 000 the plain PyTorch reference
#: loop of ``make bench`` ran 10–15 % slower, at 100–300 about 2× slower. 30 000 left that loop
#: at its default speed (416–417 vs 416–422 seed-steps/s) and ganbench's ring step 5–10 % faster.
GOMP_SPINCOUNT = "30000"
_os.environ.setdefault("GOMP_SPINCOUNT", GOMP_SPINCOUNT)
