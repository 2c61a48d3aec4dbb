"""Shared fixtures: tiny suites and environment that keeps tests offline and quiet."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="mpl-"))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
# Image tests cache the digit classifier and torch-fidelity statistics here (never in the home
# folder); `make test` points it at .cache/ganbench so the classifier is trained once.
os.environ.setdefault("GANBENCH_CACHE", tempfile.mkdtemp(prefix="ganbench-cache-"))
os.environ.setdefault("TORCH_HOME", tempfile.mkdtemp(prefix="torch-home-"))

import pytest  # noqa: E402

TINY_SUITE = """\
name: tiny
description: A tiny suite for tests.
seeds: 2
budget: {steps: 60, eval_every: 30, eval_samples: 400, log_every: 10}
datasets:
  ring: {}
  dirac: {}
model: {generator: {hidden: [16], z_dim: 8}, discriminator: {hidden: [16]}, activation: relu}
optimizer: {name: adam, lr: 1.0e-3, batch_size: 32}
baseline: vanilla
combos:
  vanilla: {loss: non_saturating}
  minimax: {loss: minimax, update: simultaneous}
"""


def pytest_collection_modifyitems(config, items):
    """Tests under tests/integration/ (Ray, resume, cluster, browser, load) are marked
    ``integration``; ``make test-fast`` runs the rest."""
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def tiny_suite_text() -> str:
    return TINY_SUITE
