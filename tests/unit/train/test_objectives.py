"""Tests for ganbench.components.objectives: every registered loss against values worked out by hand.

Reference values are written with the probability D = σ(logit) = 1/(1 + e^(-logit)) and
math.log / math.exp, i.e. in the papers' form (-log D(x) - log(1 - D(G(z))), ...), not with
the softplus identities the implementation uses, so the two are independent.
"""

from __future__ import annotations

import math

import pytest
import torch

from ganbench.components.objectives import LOSSES

# [S=2, B=2] logits: seed 0 in row 0, seed 1 in row 1.
REAL = [[0.0, 2.0], [1.0, -1.0]]
FAKE = [[-1.0, 0.5], [3.0, -2.0]]


def sig(t: float) -> float:
    return 1.0 / (1.0 + math.exp(-t))


def mean(xs) -> float:
    return sum(xs) / len(xs)


def t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


# ---- hand references, one number per seed ----------------------------------------------------

def ref_ce_d(real_row, fake_row, target=1.0):
    # -E[t log D(x) + (1-t) log(1 - D(x))] - E log(1 - D(G(z)))
    r = mean([-(target * math.log(sig(x)) + (1 - target) * math.log(1 - sig(x))) for x in real_row])
    f = mean([-math.log(1 - sig(x)) for x in fake_row])
    return r + f


def ref_minimax_g(fake_row):
    return mean([math.log(1 - sig(x)) for x in fake_row])   # E log(1 - D(G(z)))


def ref_ns_g(fake_row):
    return mean([-math.log(sig(x)) for x in fake_row])      # -E log D(G(z))


def ref_w_d(real_row, fake_row, target=1.0):
    return mean(fake_row) - mean(real_row)


def ref_w_g(fake_row):
    return -mean(fake_row)


def ref_hinge_d(real_row, fake_row, target=1.0):
    return mean([max(0.0, 1 - x) for x in real_row]) + mean([max(0.0, 1 + x) for x in fake_row])


def ref_ls_d(real_row, fake_row, target=1.0):
    return 0.5 * mean([(x - target) ** 2 for x in real_row]) + 0.5 * mean([x ** 2 for x in fake_row])


def ref_ls_g(fake_row):
    return 0.5 * mean([(x - 1) ** 2 for x in fake_row])


REFS = {
    "minimax": (ref_ce_d, ref_minimax_g),
    "non_saturating": (ref_ce_d, ref_ns_g),
    "wasserstein": (ref_w_d, ref_w_g),
    "hinge": (ref_hinge_d, ref_w_g),
    "least_squares": (ref_ls_d, ref_ls_g),
}


def test_every_registered_loss_has_a_reference():
    assert set(LOSSES.names()) == set(REFS)


def test_some_values_by_hand():
    # Seed 0, cross-entropy D loss: real logits 0, 2 and fake logits -1, 0.5.
    #   -log σ(0) = log 2 = 0.693147;  -log σ(2) = log(1 + e^-2) = 0.126928   → mean 0.410038
    #   -log(1-σ(-1)) = log(1 + e^-1) = 0.313262;  -log(1-σ(0.5)) = log(1 + e^0.5) = 0.974077
    #                                                                          → mean 0.643669
    #   total 1.053707
    d = LOSSES.get("minimax").d_loss(t(REAL), t(FAKE))
    assert d[0].item() == pytest.approx(1.053707, abs=1e-6)
    # Hinge seed 1: real 1, -1 → relu(0) = 0, relu(2) = 2 → 1; fake 3, -2 → relu(4) = 4,
    # relu(-1) = 0 → 2; total 3.
    assert LOSSES.get("hinge").d_loss(t(REAL), t(FAKE))[1].item() == pytest.approx(3.0, abs=1e-12)
    # LSGAN G seed 0: ½·mean((-2)², (-0.5)²) = ½·(4 + 0.25)/2 = 1.0625
    assert LOSSES.get("least_squares").g_loss(t(FAKE))[0].item() == pytest.approx(1.0625, abs=1e-12)


@pytest.mark.parametrize("name", sorted(REFS))
def test_loss_matches_hand_reference(name):
    obj = LOSSES.get(name)
    ref_d, ref_g = REFS[name]
    d = obj.d_loss(t(REAL), t(FAKE))
    g = obj.g_loss(t(FAKE))
    assert d.shape == (2,) and g.shape == (2,)
    for s in range(2):
        assert d[s].item() == pytest.approx(ref_d(REAL[s], FAKE[s]), abs=1e-10)
        assert g[s].item() == pytest.approx(ref_g(FAKE[s]), abs=1e-10)


@pytest.mark.parametrize("name", sorted(REFS))
def test_per_seed_independence(name):
    obj = LOSSES.get(name)
    real2 = [REAL[0], [5.0, -7.0]]
    fake2 = [FAKE[0], [-4.0, 9.0]]
    d1, d2 = obj.d_loss(t(REAL), t(FAKE)), obj.d_loss(t(real2), t(fake2))
    g1, g2 = obj.g_loss(t(FAKE)), obj.g_loss(t(fake2))
    assert d1[0].item() == d2[0].item() and g1[0].item() == g2[0].item()
    assert d1[1].item() != d2[1].item() and g1[1].item() != g2[1].item()
    # and gradients do not leak across seeds either
    fake = t(FAKE).requires_grad_(True)
    obj.g_loss(fake)[0].backward()
    assert torch.all(fake.grad[1] == 0) and torch.any(fake.grad[0] != 0)


@pytest.mark.parametrize("name", ["minimax", "non_saturating"])
def test_label_smoothing(name):
    obj = LOSSES.get(name)
    d = obj.d_loss(t(REAL), t(FAKE), 0.9)
    for s in range(2):
        assert d[s].item() == pytest.approx(ref_ce_d(REAL[s], FAKE[s], 0.9), abs=1e-10)
    # Worked for seed 0: real part  -(0.9 log σ(0) + 0.1 log(1-σ(0))) = log 2 = 0.693147
    #                               -(0.9 log σ(2) + 0.1 log(1-σ(2))) = 0.9·0.126928 + 0.1·2.126928
    #                                                                 = 0.326928
    #   mean 0.510038, plus the fake part 0.643669 → 1.153707
    assert d[0].item() == pytest.approx(1.153707, abs=1e-6)
    # smoothing only touches the real term
    assert (obj.d_loss(t(REAL), t(FAKE), 0.9) - obj.d_loss(t(REAL), t(FAKE))).abs().max() > 0.05


def test_least_squares_real_target_is_b():
    d = LOSSES.get("least_squares").d_loss(t(REAL), t(FAKE), 0.9)
    for s in range(2):
        assert d[s].item() == pytest.approx(ref_ls_d(REAL[s], FAKE[s], 0.9), abs=1e-12)


@pytest.mark.parametrize("name", ["wasserstein", "hinge"])
def test_real_target_ignored_by_margin_losses(name):
    obj = LOSSES.get(name)
    assert torch.equal(obj.d_loss(t(REAL), t(FAKE), 0.9), obj.d_loss(t(REAL), t(FAKE)))


def test_flags():
    assert LOSSES.get("minimax").probability and LOSSES.get("non_saturating").probability
    assert not LOSSES.get("wasserstein").probability and LOSSES.get("wasserstein").wasserstein
    assert not any(LOSSES.get(n).wasserstein for n in ("minimax", "non_saturating", "hinge",
                                                       "least_squares"))


def _g_grad(name: str, logit: float) -> float:
    x = torch.tensor([[logit]], dtype=torch.float64, requires_grad=True)
    LOSSES.get(name).g_loss(x).sum().backward()
    return x.grad.item()


def test_minimax_saturates_non_saturating_does_not():
    # d/df log(1 - σ(f)) = -σ(f) → 0 as f → -∞   (minimax: D confidently rejects the fake)
    # d/df -log σ(f)     = -(1 - σ(f)) → -1       (non-saturating)
    for f in (-5.0, -10.0, -30.0):
        assert _g_grad("minimax", f) == pytest.approx(-sig(f), rel=1e-9)
        assert _g_grad("non_saturating", f) == pytest.approx(-(1 - sig(f)), rel=1e-9)
    assert abs(_g_grad("minimax", -30.0)) < 1e-12
    assert abs(_g_grad("non_saturating", -30.0)) > 0.999
    # the sign is the same: both push the fake logit up
    assert _g_grad("minimax", -1.0) < 0 and _g_grad("non_saturating", -1.0) < 0


def test_cross_entropy_losses_are_stable_at_extreme_logits():
    big = t([[80.0, -80.0]])
    for name in ("minimax", "non_saturating"):
        obj = LOSSES.get(name)
        assert torch.isfinite(obj.d_loss(big, big)).all() and torch.isfinite(obj.g_loss(big)).all()
    # -log σ(-80) ≈ 80 without overflow: the mean over [80, -80] of -log σ is (80 + 0)/2
    assert LOSSES.get("non_saturating").g_loss(big).item() == pytest.approx(40.0, abs=1e-9)
