"""The Dirac-GAN (Mescheder et al. 2018) through the real training loop, against the paper's
vector field.

Paper convention: L(θ, ψ) = f(ψθ) + f(0), f(t) = -log(1 + e^(-t)), f'(t) = 1/(1 + e^t);
G minimises L, D maximises it. Plain gradient steps of size h:
    θ' = θ - h·∂L/∂θ = θ - h·ψ·f'(ψθ)
    ψ' = ψ + h·∂L/∂ψ = ψ + h·θ·f'(ψθ)

ganbench convention: the data is 0, G emits θ, D emits the "high = real" logit -ψ·x, so the real
logit is 0 and the fake logit is -ψθ.
* D (cross-entropy, shared by minimax and non-saturating):
    L_D = softplus(-0) + softplus(-ψθ) = log 2 + log(1 + e^(-ψθ)) = -L,
  so descending L_D is ascending L: ∂L_D/∂ψ = -θ·e^(-ψθ)/(1 + e^(-ψθ)) = -θ·f'(ψθ). ✓
* G, minimax: L_G = -softplus(-ψθ) = -log(1 + e^(-ψθ)) = f(ψθ), ∂L_G/∂θ = ψ·f'(ψθ). ✓
* G, non-saturating: L_G = softplus(-logit) = softplus(ψθ) = log(1 + e^(ψθ)),
    ∂L_G/∂θ = ψ·e^(ψθ)/(1 + e^(ψθ)) = ψ·σ(ψθ),  so  θ' = θ - h·ψ·σ(ψθ).
  (In the paper's notation this is G minimising -f(-ψθ).)

From θ = ψ = 1, h = 0.2: f'(1) = 1/(1 + e) = 0.2689414, σ(1) = 0.7310586.
* simultaneous minimax:  θ₁ = 1 - 0.2·0.2689414 = 0.9462117, ψ₁ = 1.0537883
* simultaneous NS:       θ₁ = 1 - 0.2·0.7310586 = 0.8537883, ψ₁ = 1.0537883
* alternating minimax:   ψ₁ = 1.0537883, then θ₁ = 1 - 0.2·ψ₁·f'(ψ₁) = 0.9455195
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganbench.config.suite import expand, parse_suite
from ganbench.train.training import DIRAC_DEFAULT_H, DiracTask, SampleTask, Trainer, train_trial


def fprime(t: float) -> float:
    return 1.0 / (1.0 + math.exp(t))


def sigma(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def g_grad(loss: str, theta: float, psi: float) -> float:
    """∂L_G/∂θ, derived in the module docstring."""
    return psi * fprime(psi * theta) if loss == "minimax" else psi * sigma(psi * theta)


def reference(steps: int, loss: str = "minimax", update: str = "simultaneous", h: float = 0.2,
              n_critic: int = 1, theta: float = 1.0, psi: float = 1.0) -> tuple[float, float]:
    """Pure-Python Dirac-GAN gradient steps (float64)."""
    for _ in range(steps):
        if update == "simultaneous":
            theta, psi = theta - h * g_grad(loss, theta, psi), psi + h * theta * fprime(psi * theta)
        else:   # D first (n_critic times), then G with the updated ψ
            for _ in range(n_critic):
                psi = psi + h * theta * fprime(psi * theta)
            theta = theta - h * g_grad(loss, theta, psi)
    return theta, psi


def make_spec(loss="minimax", update="simultaneous", n_critic=1, dataset="{h: 0.2}",
              optimizer="{batch_size: 4}", seeds=2, steps=500):
    text = f"""\
name: dirac_test
seeds: {seeds}
budget: {{steps: {steps}}}
datasets: {{dirac: {dataset}}}
optimizer: {optimizer}
combos: {{c: {{loss: {loss}, update: {update}, n_critic: {n_critic}}}}}
"""
    specs = expand(parse_suite(text))
    assert len(specs) == 1
    return specs[0]


def state(tr: Trainer) -> tuple[np.ndarray, np.ndarray]:
    return (tr.G.theta.detach().reshape(-1).double().numpy(),
            tr.D.psi.detach().reshape(-1).double().numpy())


def test_initial_state():
    tr = Trainer(make_spec(), device=torch.device("cpu"))
    th, ps = state(tr)
    np.testing.assert_array_equal(th, [1.0, 1.0])
    np.testing.assert_array_equal(ps, [1.0, 1.0])
    assert tr.lr_g == tr.lr_d == 0.2 and tr.opt_name == "sgd"


@pytest.mark.parametrize("loss,update,theta1,psi1", [
    ("minimax", "simultaneous", 0.9462117157, 1.0537882843),
    ("non_saturating", "simultaneous", 0.8537882843, 1.0537882843),
    ("minimax", "alternating", 0.9455195019, 1.0537882843),
    ("non_saturating", "alternating", 0.8437228413, 1.0537882843),
])
def test_one_step_matches_vector_field(loss, update, theta1, psi1):
    ref = reference(1, loss, update)
    assert ref == pytest.approx((theta1, psi1), abs=1e-9)   # the docstring's hand numbers
    tr = Trainer(make_spec(loss, update), device=torch.device("cpu"))
    tr.step()
    th, ps = state(tr)
    np.testing.assert_allclose(th, ref[0], atol=1e-6)
    np.testing.assert_allclose(ps, ref[1], atol=1e-6)


def test_alternating_n_critic():
    # two D steps, then G: ψ₁ = 1 + 0.2·f'(1) = 1.0537883; ψ₂ = ψ₁ + 0.2·f'(ψ₁);
    # θ₁ = 1 - 0.2·ψ₂·f'(ψ₂)
    psi = 1.0 + 0.2 * fprime(1.0)
    psi = psi + 0.2 * fprime(psi)
    theta = 1.0 - 0.2 * psi * fprime(psi)
    assert reference(1, "minimax", "alternating", n_critic=2) == pytest.approx((theta, psi), abs=1e-12)
    tr = Trainer(make_spec("minimax", "alternating", n_critic=2), device=torch.device("cpu"))
    tr.step()
    th, ps = state(tr)
    np.testing.assert_allclose(th, theta, atol=1e-6)
    np.testing.assert_allclose(ps, psi, atol=1e-6)


def test_probe_reports_theta_psi_dist():
    tr = Trainer(make_spec(), device=torch.device("cpu"))
    tr.step()
    pr = tr.probe()
    th, ps = reference(1)
    np.testing.assert_allclose(pr["theta"], th, atol=1e-6)
    np.testing.assert_allclose(pr["psi"], ps, atol=1e-6)
    np.testing.assert_allclose(pr["dist"], math.hypot(th, ps), atol=1e-6)
    # the probe's gradient norms are those of the step just taken, from (1, 1):
    # |∂L_G/∂θ| = ψ f'(1) = 0.2689414 and |∂L_D/∂ψ| = θ f'(1) = 0.2689414
    np.testing.assert_allclose(pr["g_grad_norm"], fprime(1.0), atol=1e-6)
    np.testing.assert_allclose(pr["d_grad_norm"], fprime(1.0), atol=1e-6)
    # D(real) = σ(0) = ½; D(fake) = σ(-ψθ) = σ(-1) at the point the step was taken from
    np.testing.assert_allclose(pr["d_real"], 0.5, atol=1e-7)
    np.testing.assert_allclose(pr["d_fake"], sigma(-1.0), atol=1e-6)


def _distance_after(steps, update, loss="minimax"):
    tr = Trainer(make_spec(loss, update), device=torch.device("cpu"))
    for _ in range(steps):
        tr.step()
    th, ps = state(tr)
    return th, ps, np.hypot(th, ps)


def test_simultaneous_minimax_moves_away_from_equilibrium():
    # Mescheder et al.: simultaneous gradient descent on the unregularised Dirac-GAN spirals out.
    th, ps, dist = _distance_after(500, "simultaneous")
    ref = reference(500, "minimax", "simultaneous")
    assert np.all(dist > math.sqrt(2) * 1.5)       # started at √2 ≈ 1.414; the reference reaches 3.10
    np.testing.assert_allclose(th, ref[0], rtol=1e-3)
    np.testing.assert_allclose(ps, ref[1], rtol=1e-3)


def test_alternating_minimax_stays_bounded():
    th, ps, dist = _distance_after(500, "alternating")
    ref = reference(500, "minimax", "alternating")
    assert np.all((dist >= 0.3) & (dist <= 3.0))   # the reference ends at 1.41
    np.testing.assert_allclose(th, ref[0], rtol=1e-3)
    np.testing.assert_allclose(ps, ref[1], rtol=1e-3)


def test_step_size_defaults():
    # no h: optimizer.lr if the suite's optimizer is sgd, else the paper's 0.2
    tr = Trainer(make_spec(dataset="{}", optimizer="{name: sgd, lr: 0.05, batch_size: 4}"),
                 device=torch.device("cpu"))
    assert tr.lr_g == tr.lr_d == 0.05
    tr = Trainer(make_spec(dataset="{}", optimizer="{name: adam, lr: 0.05, batch_size: 4}"),
                 device=torch.device("cpu"))
    assert tr.lr_g == tr.lr_d == DIRAC_DEFAULT_H == 0.2
    assert tr.opt_name == "sgd" and tr.momentum == 0.0   # Dirac-GAN is always plain SGD
    tr.step()
    np.testing.assert_allclose(state(tr)[0], reference(1)[0], atol=1e-6)


def test_task_is_chosen_once_from_the_dataset():
    # the Dirac-GAN's differences live in DiracTask; remedies still read the is_dirac flag
    tr = Trainer(make_spec(), device=torch.device("cpu"))
    assert isinstance(tr.task, DiracTask) and tr.is_dirac and tr.build.is_dirac
    z, real = tr.draw_noise(), tr.draw_real()
    tr.step()
    assert tr.draw_noise() is z and tr.draw_real() is real     # fixed input, data δ₀
    assert not real.any() and tr.task.log_every(tr.spec.budget) == 1
    assert {"theta", "psi", "dist"} <= set(tr.probe())
    ring_spec = expand(parse_suite(
        "name: t\nseeds: 1\nbudget: {steps: 5}\ndatasets: {ring: {}}\noptimizer: {batch_size: 4}\n"
        "combos: {c: {loss: minimax}}\n"))[0]
    ring = Trainer(ring_spec, device=torch.device("cpu"))
    assert isinstance(ring.task, SampleTask) and not ring.is_dirac and not ring.build.is_dirac
    assert ring.task.log_every(ring_spec.budget) == ring_spec.budget.log_every
    ring.step()
    assert "theta" not in ring.probe()


def test_custom_start_point():
    tr = Trainer(make_spec(dataset="{h: 0.1, theta0: 0.5, psi0: -2.0}"), device=torch.device("cpu"))
    tr.step()
    ref = reference(1, h=0.1, theta=0.5, psi=-2.0)
    th, ps = state(tr)
    np.testing.assert_allclose(th, ref[0], atol=1e-6)
    np.testing.assert_allclose(ps, ref[1], atol=1e-6)


@pytest.fixture
def keep_threads():
    # train_trial sets torch's thread count from resources.cpus_per_trial; restore it
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def test_train_trial_rows(keep_threads):
    spec = make_spec(steps=50)
    res = train_trial(spec, probes=True)
    th, ps = reference(50)
    assert [r["seed"] for r in res.rows] == [0, 1]
    for r in res.rows:
        assert r["status"] == "ok" and r["steps"] == 50
        assert r["theta_final"] == pytest.approx(th, abs=1e-5)
        assert r["psi_final"] == pytest.approx(ps, abs=1e-5)
        assert r["dist_final"] == pytest.approx(math.hypot(th, ps), abs=1e-5)
    # Dirac trials probe every step
    assert len(res.history) == 2 * 50
    assert {"theta", "psi", "dist"} <= set(res.history[0])
