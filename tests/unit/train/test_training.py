"""The training loop: seed-axis independence, divergence handling, determinism, probes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ganbench.config.suite import expand, parse_suite
from ganbench.train.training import Trainer, train_trial

RING = """\
name: t
seeds: 3
budget: {steps: 50, eval_every: 25, eval_samples: 300, log_every: 5}
datasets: {ring: {}}
model: {generator: {hidden: [32, 32], z_dim: 16}, discriminator: {hidden: [32]}}
optimizer: {name: adam, lr: 1.0e-3, batch_size: 64}
combos:
  a: {loss: non_saturating}
"""

DIRAC = """\
name: d
seeds: 1
budget: {steps: 30, eval_every: 10, eval_samples: 10, log_every: 10}
datasets: {dirac: {h: 0.2}}
combos: {mm: {loss: minimax}}
"""


def _spec(text: str, **combo):
    return dataclasses.replace(expand(parse_suite(text))[0], **combo)


def _params(tr: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in tr.g_params + tr.d_params]


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_seed_s_of_S_equals_single_seed_run(update):
    """Seed axis: seed s of an S-seed trial equals a 1-seed trial with seed s (50 steps)."""
    spec = _spec(RING, update=update)
    multi = Trainer(spec)
    for _ in range(50):
        multi.step()
    for i, seed in enumerate(spec.seeds):
        single_spec = dataclasses.replace(spec, seeds=[seed])
        single = Trainer(single_spec)
        for _ in range(50):
            single.step()
        for pm, ps in zip(multi.g_params + multi.d_params, single.g_params + single.d_params):
            assert torch.allclose(pm.detach()[i], ps.detach()[0], atol=1e-5, rtol=0), (seed, pm.shape)


def test_seeds_differ_from_each_other():
    tr = Trainer(_spec(RING))
    w = tr.G.weights[0].detach()
    assert not torch.equal(w[0], w[1])


def test_training_is_deterministic():
    spec = _spec(RING)
    a, b = train_trial(spec), train_trial(spec)
    for ra, rb in zip(a.rows, b.rows):
        for k in ("modes_covered", "hq_fraction", "frechet_distance", "d_loss_final", "g_grad_norm_final"):
            assert ra[k] == rb[k] or (np.isnan(ra[k]) and np.isnan(rb[k])), k
    for s in a.samples:
        assert np.array_equal(a.samples[s], b.samples[s])


def test_two_thread_trial_with_parallel_noise_is_deterministic():
    """With 2 CPUs the noise is drawn on two threads (z 512 × batch 64 is large enough):
    repeated runs still give identical samples."""
    spec = _spec(RING.replace("z_dim: 16", "z_dim: 512"))
    spec = dataclasses.replace(spec, cpus=2, budget=spec.budget.model_copy(update={"steps": 20, "eval_every": 20}))
    before = torch.get_num_threads()
    try:
        a, b = train_trial(spec), train_trial(spec)
        assert Trainer(spec).noise.threads == 2
    finally:
        torch.set_num_threads(before)
    for s in a.samples:
        assert np.array_equal(a.samples[s], b.samples[s])


def test_probes_do_not_change_training():
    spec = _spec(RING)
    with_probes = train_trial(spec, probes=True)
    without = train_trial(spec, probes=False)
    for s in with_probes.samples:
        assert np.array_equal(with_probes.samples[s], without.samples[s])
    steps = sorted({r["step"] for r in with_probes.history})
    assert steps == list(range(5, 51, 5))
    assert sorted({r["step"] for r in without.history}) == [25, 50]


def test_history_records_probes_and_evals():
    res = train_trial(_spec(RING))
    rows = [r for r in res.history if r["seed"] == 0]
    assert len(rows) == 10
    for key in ("d_loss", "g_loss", "g_grad_norm", "d_grad_norm", "g_grad_norm.l0",
                "g_grad_norm.out", "d_grad_norm.l0", "d_real", "d_fake"):
        assert np.isfinite(rows[-1][key]), key
    # the total norm is the root of the summed squared per-layer norms
    total = np.sqrt(sum(rows[-1][f"g_grad_norm.{n}"] ** 2 for n in ("l0", "l1", "out")))
    assert rows[-1]["g_grad_norm"] == pytest.approx(total, rel=1e-5)
    evals = [r for r in rows if "modes_covered" in r]
    assert [r["step"] for r in evals] == [25, 50]
    assert 0 <= res.rows[0]["modes_covered"] <= 8
    assert 0 < rows[-1]["d_real"] < 1  # a probability for a sigmoid loss


def test_divergence_is_recorded_and_stops_the_seed():
    text = RING.replace("optimizer: {name: adam, lr: 1.0e-3, batch_size: 64}",
                        "optimizer: {name: sgd, lr: 5.0, batch_size: 64}").replace(
        "non_saturating", "least_squares")
    res = train_trial(_spec(text))
    for row in res.rows:
        assert row["status"] == "diverged"
        assert row["diverged_step"] == row["steps"] and row["steps"] < 50
        assert np.isnan(row["modes_covered"])


def test_dirac_history_every_step():
    res = train_trial(_spec(DIRAC))
    thetas = [r["theta"] for r in res.history]
    assert len(thetas) == 30
    assert res.history[0]["psi"] != 1.0
    assert res.rows[0]["dist_final"] == pytest.approx(
        np.hypot(res.rows[0]["theta_final"], res.rows[0]["psi_final"]))


@pytest.mark.parametrize("steps, every, cap, expected", [
    (50, 25, 101, [25, 50]),
    (60, 25, 101, [25, 50, 60]),          # the last step is always an evaluation
    (10, 25, 101, [10]),
    (1000, 10, 5, [10, 260, 510, 750, 1000]),  # 100 evaluations, 5 kept evenly by index
])
def test_snapshot_steps(steps, every, cap, expected):
    from ganbench.train.training import snapshot_steps

    assert sorted(snapshot_steps(steps, every, cap)) == expected


def test_evolution_keeps_the_evaluation_samples_as_float16():
    """Toy trials keep the first 512 samples per seed of every evaluation: the last snapshot is
    the final samples' prefix, rounded to float16; the Dirac-GAN keeps none."""
    res = train_trial(_spec(RING.replace("eval_samples: 300", "eval_samples: 600")))
    evo = res.evolution
    assert list(evo["steps"]) == [25, 50]
    for seed in (0, 1, 2):
        arr = evo[f"seed{seed}"]
        assert arr.dtype == np.float16 and arr.shape == (2, 512, 2)
        np.testing.assert_array_equal(arr[-1], res.samples[seed][:512].astype(np.float16))
        assert not np.array_equal(arr[0], arr[1])
    assert train_trial(_spec(DIRAC)).evolution == {}
