"""Tests for the unrolled, spectral_norm and minibatch_discrimination remedies
(ganbench.components.remedies.unrolled / spectral_norm / minibatch_discrimination), plus a short
training run of every registered remedy."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ganbench.components.remedies import REMEDIES
from ganbench.components.remedies.minibatch_discrimination import MinibatchFeatures, MinibatchStddev
from ganbench.components.remedies.spectral_norm import power_iteration
from ganbench.components.remedies.unrolled import (
    Unrolled, adam_step, draw_batches, rmsprop_step, sgd_step, unroll_discriminator,
)
from ganbench.config.suite import expand, parse_suite
from ganbench.train.training import Trainer
from ganbench.config.yamlio import SuiteError

ADAM = "{name: adam, lr: 1.0e-3, batch_size: 32}"


def suite_text(remedies: str = "{}", seeds: int = 2, loss: str = "non_saturating",
               optimizer: str = ADAM, dataset: str = "ring: {}", d_hidden: str = "[16]") -> str:
    return f"""\
name: t
seeds: {seeds}
budget: {{steps: 20, eval_every: 20, eval_samples: 100, log_every: 10}}
datasets:
  {dataset}
model: {{generator: {{z_dim: 8, hidden: [16]}}, discriminator: {{hidden: {d_hidden}}}}}
optimizer: {optimizer}
device: cpu
combos:
  c: {{loss: {loss}, remedies: {remedies}}}
"""


def make_trainer(remedies: str = "{}", seeds: list[int] | None = None, **kw) -> Trainer:
    spec = expand(parse_suite(suite_text(remedies, **kw)))[0]
    if seeds is not None:
        spec = dataclasses.replace(spec, seeds=seeds)
    return Trainer(spec)


def params_of(tr: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for p in tr.g_params + tr.d_params]


def remedy(tr: Trainer, cls):
    return next(r for r in tr.remedies if isinstance(r, cls))


# ------------------------------------------------------------------------------- unrolled
def test_unrolled_k0_equals_plain_bit_for_bit():
    plain, k0 = make_trainer(), make_trainer("{unrolled: {steps: 0}}")
    for _ in range(20):
        plain.step()
        k0.step()
    for a, b in zip(params_of(plain), params_of(k0), strict=True):
        assert torch.equal(a, b)


def test_unrolled_changes_g_update_but_not_d_update_of_step_1():
    plain, unr = make_trainer(), make_trainer("{unrolled: {steps: 3}}")
    assert plain.fused_critic and not unr.fused_critic
    plain.D.use_fused_critic(False)  # the same D arithmetic in both, so D's update is bit-equal
    plain.step()
    unr.step()
    for a, b in zip(plain.d_params, unr.d_params, strict=True):
        assert torch.equal(a, b)  # D moves first, before G's loss is ever unrolled
    assert not all(torch.equal(a, b) for a, b in zip(plain.g_params, unr.g_params))


def _reference_steps(opt_cls, kwargs, fn, n_steps=3):
    gen = torch.Generator().manual_seed(0)
    p0 = torch.randn(3, 4, 5, generator=gen)
    grads = [torch.randn(3, 4, 5, generator=gen) for _ in range(n_steps)]
    ref = torch.nn.Parameter(p0.clone())
    opt = opt_cls([ref], foreach=True, **kwargs)
    p, slot = p0.clone(), {}
    for g in grads:
        ref.grad = g.clone()
        opt.step()
        p, slot = fn(p, g, slot, opt.param_groups[0])
        assert torch.allclose(p, ref.detach(), atol=1e-6, rtol=0)


@pytest.mark.parametrize("opt_cls, kwargs, fn", [
    (torch.optim.Adam, {"lr": 1e-2, "betas": (0.5, 0.999)}, adam_step),
    (torch.optim.Adam, {"lr": 1e-2, "weight_decay": 0.1}, adam_step),
    (torch.optim.SGD, {"lr": 1e-2, "momentum": 0.9}, sgd_step),
    (torch.optim.SGD, {"lr": 1e-2, "momentum": 0.9, "nesterov": True}, sgd_step),
    (torch.optim.SGD, {"lr": 1e-2}, sgd_step),
    (torch.optim.RMSprop, {"lr": 1e-2, "momentum": 0.5}, rmsprop_step),
], ids=["adam", "adam_wd", "sgd_momentum", "sgd_nesterov", "sgd", "rmsprop"])
def test_functional_step_matches_torch_optimizer(opt_cls, kwargs, fn):
    _reference_steps(opt_cls, kwargs, fn)


def test_functional_step_continues_from_torch_state():
    """The lookahead starts from the optimiser's live state (exp_avg, exp_avg_sq, step)."""
    ref = torch.nn.Parameter(torch.randn(2, 3))
    opt = torch.optim.Adam([ref], lr=1e-2, foreach=True)
    for _ in range(4):
        ref.grad = torch.randn(2, 3)
        opt.step()
    state = {k: (float(v) if k == "step" else v.clone()) for k, v in opt.state[ref].items()}
    g = torch.randn(2, 3)
    p, _ = adam_step(ref.detach().clone(), g, state, opt.param_groups[0])
    ref.grad = g
    opt.step()
    assert torch.allclose(p, ref.detach(), atol=1e-6, rtol=0)


def restore(r, states) -> None:
    """Put the unrolled remedy's noise and data streams back where ``states`` found them."""
    r.noise.set_state(states[0])
    for g, st in zip(r.data_gens, states[1]):
        g.set_state(st)


@pytest.mark.parametrize("optimizer", [ADAM, "{name: sgd, lr: 1.0e-2, momentum: 0.9, batch_size: 32}",
                                       "{name: rmsprop, lr: 1.0e-3, batch_size: 32}"])
def test_one_unroll_step_equals_the_real_d_update(optimizer):
    """Unrolling one step reproduces what D's real optimiser does on the same batch, and
    leaves D and its optimiser state untouched."""
    tr = make_trainer("{unrolled: {steps: 1}}", optimizer=optimizer)
    for _ in range(3):
        tr.step()
    r = remedy(tr, Unrolled)
    before = params_of(tr)
    states = r.noise.get_state(), [g.get_state() for g in r.data_gens]
    ahead = unroll_discriminator(tr, 1, r.noise, r.data_gens)
    assert all(torch.equal(a, b) for a, b in zip(before, params_of(tr)))
    restore(r, states)
    z, real = draw_batches(tr, r.noise, r.data_gens)
    with torch.no_grad():
        fake = tr.G(z)
    d_loss, _, _ = tr.d_objective(real, fake)
    tr._d_update(torch.autograd.grad(d_loss.sum(), tr.d_params))
    for name, p in tr.D.named_parameters():
        assert torch.allclose(ahead[name], p.detach(), atol=1e-6, rtol=0), name


def test_unrolled_gradient_has_second_order_term():
    tr = make_trainer("{unrolled: {steps: 2}}")
    tr.step()
    r = remedy(tr, Unrolled)
    fake = tr.G(tr.draw_noise())
    states = r.noise.get_state(), [g.get_state() for g in r.data_gens]
    grads = {}
    for create_graph in (True, False):
        restore(r, states)
        ahead = unroll_discriminator(tr, 2, r.noise, r.data_gens, create_graph=create_graph)
        logits = torch.func.functional_call(tr.D, ahead, (tr.d_input(fake),)).squeeze(-1)
        loss = tr.objective.g_loss(logits).sum()
        grads[create_graph] = torch.autograd.grad(loss, tr.g_params, retain_graph=True)
    flat = {k: torch.cat([g.flatten() for g in v]) for k, v in grads.items()}
    assert torch.isfinite(flat[True]).all()
    # the terms through ∂θ_D^k/∂θ_G are a few percent of the gradient here, far above rounding
    assert (flat[True] - flat[False]).norm() > 1e-3 * flat[False].norm()


def test_unrolled_on_dirac():
    tr = make_trainer("{unrolled: {steps: 3}}", loss="minimax", dataset="dirac: {}")
    plain = make_trainer(loss="minimax", dataset="dirac: {}")
    tr.step()
    plain.step()
    assert torch.equal(tr.D.psi, plain.D.psi)
    assert not torch.equal(tr.G.theta, plain.G.theta)
    for _ in range(5):
        tr.step()
    assert torch.isfinite(tr.G.theta).all() and torch.isfinite(tr.D.psi).all()


# ------------------------------------------------------------------------------- spectral norm
def test_spectral_norm_unit_spectral_norm_after_training_forwards():
    tr = make_trainer("{spectral_norm: {generator: true}}", seeds=[0, 1, 2], d_hidden="[16, 16]")
    for _ in range(10):  # ≥ 3 training forwards of D per step
        tr.step()
    for net in (tr.D, tr.G):
        with torch.no_grad():
            for i, w in enumerate(net.weights):
                sn = torch.linalg.matrix_norm(net.weight_transform(i, w), ord=2)
                assert sn.shape == (3,)
                assert torch.allclose(sn, torch.ones(3), atol=1e-2), (i, sn)


def test_power_iteration_finds_largest_singular_value():
    w = torch.randn(2, 6, 4, generator=torch.Generator().manual_seed(1))
    u0 = torch.nn.functional.normalize(torch.ones(2, 4), dim=-1)
    u, v = power_iteration(w, u0, 200, 1e-12)
    sigma = torch.einsum("si,sio,so->s", v, w, u)
    assert torch.allclose(sigma, torch.linalg.matrix_norm(w, ord=2), atol=1e-5)


def test_spectral_norm_training_updates_u_and_evaluation_does_not():
    tr = make_trainer("{spectral_norm: {generator: true}}")
    before = [b.clone() for b in tr.G.buffers()] + [b.clone() for b in tr.D.buffers()]
    assert len(before) == 4
    tr.step()
    after = [b.clone() for b in tr.G.buffers()] + [b.clone() for b in tr.D.buffers()]
    # every estimate moves, except D's output layer's: a unit vector in R¹ is ±1
    assert [torch.equal(a, b) for a, b in zip(before, after)] == [False, False, False, True]
    tr.generate(50, 1)
    assert all(torch.equal(a, b) for a, b in zip(after[:2], tr.G.buffers()))


def test_unrolled_composes_with_spectral_norm_and_minibatch_features():
    tr = make_trainer("{unrolled: {steps: 2}, spectral_norm: {}, minibatch_discrimination: {}}")
    tr.step()
    r = remedy(tr, Unrolled)
    buffers = [b.clone() for b in tr.D.buffers()]
    ahead = unroll_discriminator(tr, 2, r.noise, r.data_gens)
    assert "pre_head.T" in ahead and "sn_u0" in ahead
    assert all(torch.equal(a, b) for a, b in zip(buffers, tr.D.buffers()))  # lookahead leaves D alone
    for _ in range(2):
        tr.step()
    assert all(torch.isfinite(p).all() for p in tr.g_params + tr.d_params)


@pytest.mark.parametrize("remedies", ["{spectral_norm: {generator: true}}",
                                      "{minibatch_discrimination: {}}",
                                      "{minibatch_discrimination: {kind: stddev}}",
                                      "{unrolled: {steps: 2}}"])
def test_seed_s_of_many_equals_single_seed_run(remedies):
    many = make_trainer(remedies, seeds=[0, 1, 2])
    for _ in range(10):
        many.step()
    for s in range(3):
        one = make_trainer(remedies, seeds=[s])
        for _ in range(10):
            one.step()
        for a, b in zip(many.g_params + many.d_params, one.g_params + one.d_params, strict=True):
            assert torch.allclose(a[s], b[0], atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------------- minibatch
def test_minibatch_features_shapes_and_training():
    plain = make_trainer()
    tr = make_trainer("{minibatch_discrimination: {kernels: 4, kernel_dim: 3}}")
    assert tr.D.weights[-1].shape[1] == plain.D.weights[-1].shape[1] + 4
    T = tr.D.pre_head.T
    assert T.shape == (2, 16, 12)
    assert any(p is T for p in tr.d_params)
    before = T.detach().clone()
    tr.step()
    assert T.grad is not None and T.grad.abs().sum() > 0
    assert not torch.equal(before, T.detach())
    out = tr.D.pre_head(torch.randn(2, 7, 16))
    assert out.shape == (2, 7, 20)


def test_minibatch_features_detect_identical_samples():
    gen = torch.Generator().manual_seed(0)
    mod = MinibatchFeatures(torch.randn(1, 8, 15, generator=gen) * 0.3, kernels=5)
    same = torch.randn(1, 1, 8, generator=gen).expand(1, 10, 8)
    spread = 3 * torch.randn(1, 10, 8, generator=gen)
    o_same, o_spread = mod(same)[..., 8:], mod(spread)[..., 8:]
    assert torch.allclose(o_same, torch.full_like(o_same, 9.0))  # Σ_{j≠i} exp(0)
    assert (o_same > o_spread).all()


def test_minibatch_stddev():
    f = torch.randn(2, 6, 5)
    f[0] = f[0, :1]  # seed 0: identical samples
    out = MinibatchStddev()(f)
    assert out.shape == (2, 6, 6)
    assert torch.allclose(out[0, :, -1], torch.zeros(6), atol=1e-3)
    expected = f[1].std(0, unbiased=False).mean()
    assert torch.allclose(out[1, :, -1], expected.expand(6), atol=1e-5)
    tr = make_trainer("{minibatch_discrimination: {kind: stddev}}")
    assert tr.D.weights[-1].shape[1] == 17


# ------------------------------------------------------------------------------- every remedy
def _first_valid(name: str) -> str:
    for loss in ("non_saturating", "wasserstein", "hinge"):
        text = suite_text(f"{{{name}: {{}}}}", loss=loss)
        try:
            parse_suite(text)
            return text
        except SuiteError:
            continue
    raise AssertionError(f"no loss accepts remedy {name} with its defaults")


@pytest.mark.parametrize("name", REMEDIES.names())
def test_every_remedy_trains_three_steps(name):
    tr = Trainer(expand(parse_suite(_first_valid(name)))[0])
    for _ in range(3):
        tr.step()
    pr = tr.probe()
    assert torch.isfinite(torch.as_tensor(pr["d_loss"])).all()
    assert torch.isfinite(torch.as_tensor(pr["g_loss"])).all()


@pytest.mark.parametrize("remedies, field", [
    ("{unrolled: {steps: -1}}", "combos.c.remedies.unrolled.steps"),
    ("{minibatch_discrimination: {kernels: 0}}", "combos.c.remedies.minibatch_discrimination.kernels"),
    ("{minibatch_discrimination: {kind: gram}}", "combos.c.remedies.minibatch_discrimination.kind"),
    ("{spectral_norm: {power_iterations: 0}}", "combos.c.remedies.spectral_norm.power_iterations"),
    ("{spectral_norm: {generator: 1}}", "combos.c.remedies.spectral_norm.generator"),
    ("{unrolled: {stepz: 3}}", "combos.c.remedies.unrolled.stepz"),
])
def test_bad_params_name_the_field(remedies, field):
    with pytest.raises(SuiteError) as info:
        parse_suite(suite_text(remedies))
    assert field in [p.path for p in info.value.problems]


@pytest.mark.parametrize("remedies", ["{unrolled: {steps: 3}}", "{spectral_norm: {generator: true}}",
                                      "{minibatch_discrimination: {kind: stddev}}",
                                      "{minibatch_discrimination: {kernels: 8, kernel_dim: 2}}"])
def test_valid_params_parse(remedies):
    parse_suite(suite_text(remedies))
