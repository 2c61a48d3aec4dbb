"""Process-level speed settings: the allocator tuning is idempotent and reported, and the
OpenMP spin default is in place before torch loads."""

from __future__ import annotations

import os
import subprocess
import sys

import torch

import ganbench
from ganbench.train import perf


def test_allocator_tuning_is_idempotent_and_reported():
    first = perf.tune_allocator()
    assert first == perf.tune_allocator()
    if sys.platform.startswith("linux"):
        assert first["allocator"] == "glibc"
        assert first["mmap_threshold"] == perf.MMAP_THRESHOLD
    # allocation still works normally afterwards (large and small blocks)
    x = torch.ones(8, 512, 128)
    assert float(x.sum()) == 8 * 512 * 128


def test_gomp_spincount_default_and_user_value_wins():
    code = "import ganbench, os; print(os.environ['GOMP_SPINCOUNT'])"
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ganbench.GOMP_SPINCOUNT
    env["GOMP_SPINCOUNT"] = "12345"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "12345"
