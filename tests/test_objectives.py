"""Each loss equals its formula on hand-picked logits; regularisers match finite differences."""

import math

import pytest
import torch

from ganforge.objectives import EQUILIBRIUM_VALUE, OBJECTIVES, get_objective, gradient_penalty, minimax_value, r1_penalty
from ganforge.errors import ConfigError

REAL = torch.tensor([2.0, -1.0, 0.5])
FAKE = torch.tensor([-3.0, 0.0, 1.5])


def sig(x):
    return 1 / (1 + math.exp(-x))


def mean(xs):
    return sum(xs) / len(xs)


def test_value_is_minus_log4_when_d_is_one_half_everywhere():
    zeros = torch.zeros(7)
    assert minimax_value(zeros, zeros).item() == pytest.approx(-math.log(4), abs=1e-7)
    assert EQUILIBRIUM_VALUE == pytest.approx(-1.3862943611198906)


def test_value_formula():
    expected = mean([math.log(sig(r)) for r in REAL.tolist()]) + mean([math.log(1 - sig(f)) for f in FAKE.tolist()])
    assert minimax_value(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", ["minimax", "nonsaturating"])
def test_probabilistic_d_loss(name):
    expected = -mean([math.log(sig(r)) for r in REAL.tolist()]) - mean([math.log(1 - sig(f)) for f in FAKE.tolist()])
    assert OBJECTIVES[name].d_loss(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_g_losses():
    f = FAKE.tolist()
    assert OBJECTIVES["minimax"].g_loss(FAKE).item() == pytest.approx(mean([math.log(1 - sig(x)) for x in f]), rel=1e-6)
    assert OBJECTIVES["nonsaturating"].g_loss(FAKE).item() == pytest.approx(-mean([math.log(sig(x)) for x in f]), rel=1e-6)
    assert OBJECTIVES["wasserstein"].g_loss(FAKE).item() == pytest.approx(-mean(f))
    assert OBJECTIVES["hinge"].g_loss(FAKE).item() == pytest.approx(-mean(f))
    assert OBJECTIVES["lsgan"].g_loss(FAKE).item() == pytest.approx(0.5 * mean([(x - 1) ** 2 for x in f]))


def test_d_losses_of_other_families():
    r, f = REAL.tolist(), FAKE.tolist()
    assert OBJECTIVES["wasserstein"].d_loss(REAL, FAKE).item() == pytest.approx(mean(f) - mean(r))
    assert OBJECTIVES["wgan-gp"].d_loss(REAL, FAKE).item() == pytest.approx(mean(f) - mean(r))
    hinge = mean([max(0, 1 - x) for x in r]) + mean([max(0, 1 + x) for x in f])
    assert OBJECTIVES["hinge"].d_loss(REAL, FAKE).item() == pytest.approx(hinge)
    ls = 0.5 * mean([(x - 1) ** 2 for x in r]) + 0.5 * mean([x**2 for x in f])
    assert OBJECTIVES["lsgan"].d_loss(REAL, FAKE).item() == pytest.approx(ls)


def test_saturation_is_the_reason_for_the_nonsaturating_loss():
    # early in training D rejects fakes confidently (logit -8): the minimax G loss has almost no gradient
    fake = torch.tensor([-8.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(OBJECTIVES["minimax"].g_loss(fake), fake)
    fake2 = torch.tensor([-8.0], requires_grad=True)
    (g_ns,) = torch.autograd.grad(OBJECTIVES["nonsaturating"].g_loss(fake2), fake2)
    assert abs(g_mm.item()) < 1e-3 < abs(g_ns.item())


def test_objective_flags_and_unknown_name():
    assert OBJECTIVES["wasserstein"].clip_weights and not OBJECTIVES["wgan-gp"].clip_weights
    assert OBJECTIVES["wgan-gp"].default_gp_weight == 10.0
    with pytest.raises(ConfigError, match="valid losses: .*hinge"):
        get_objective("vanilla")


def _quadratic_critic():
    w = torch.tensor([[0.7, -1.3]], dtype=torch.float64)

    def D(x):  # D(x) = sum((x w^T)^2, dim 1): grad = 2 (x.w) w
        return (x @ w.T).pow(2).sum(1)

    return D


def _finite_difference_norms(D, x, eps=1e-6):
    norms = []
    for i in range(x.shape[0]):
        g = torch.zeros(x.shape[1], dtype=torch.float64)
        for j in range(x.shape[1]):
            e = torch.zeros_like(x[i]); e[j] = eps
            g[j] = (D((x[i] + e)[None]) - D((x[i] - e)[None])).item() / (2 * eps)
        norms.append(g.norm().item())
    return torch.tensor(norms, dtype=torch.float64)


@pytest.mark.parametrize("one_sided", [False, True])
def test_gradient_penalty_matches_finite_differences(one_sided):
    D = _quadratic_critic()
    real = torch.tensor([[1.0, 0.5], [-0.2, 0.3], [0.1, 0.1]], dtype=torch.float64)
    fake = torch.tensor([[0.0, -1.0], [0.4, 0.9], [0.05, 0.0]], dtype=torch.float64)
    gp = gradient_penalty(D, real, fake, one_sided=one_sided, generator=torch.Generator().manual_seed(3))
    eps = torch.rand((3, 1), generator=torch.Generator().manual_seed(3)).double()
    x_hat = eps * real + (1 - eps) * fake
    excess = _finite_difference_norms(D, x_hat) - 1
    if one_sided:
        excess = excess.clamp_min(0)
    assert gp.item() == pytest.approx(excess.pow(2).mean().item(), rel=1e-6)
    assert gp.requires_grad  # it can be backpropagated into D


def test_r1_matches_finite_differences():
    D = _quadratic_critic()
    real = torch.tensor([[1.0, 0.5], [-0.2, 0.3]], dtype=torch.float64)
    expected = _finite_difference_norms(D, real).pow(2).mean().item()
    assert r1_penalty(D, real).item() == pytest.approx(expected, rel=1e-6)


def _linear_critic(w: torch.Tensor, bias: float = 0.3):
    """D(x) = <x, w> + b for inputs of any shape (B, ...): grad_x D = w for every x, so |grad| = |w|."""
    w = w.clone().requires_grad_(True)

    def D(x):  # (B, ...) -> (B,)
        return (x.flatten(1) * w.flatten()).sum(1) + bias

    return D, w


@pytest.mark.parametrize("w, two_sided, one_sided", [
    ([3.0, 0.0, 0.0, -4.0], 16.0, 16.0),  # |w| = 5: (5 - 1)^2 either way
    ([0.3, 0.4, 0.0, 0.0], 0.25, 0.0),  # |w| = 0.5: two-sided (0.5 - 1)^2, one-sided nothing below 1
    ([0.6, 0.0, 0.8, 0.0], 0.0, 0.0),  # |w| = 1: the Lipschitz-1 critic WGAN-GP aims for
])
def test_gradient_penalty_on_a_linear_critic_equals_its_formula(w, two_sided, one_sided):
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(5, 1, 2, 2, generator=g), torch.randn(5, 1, 2, 2, generator=g)  # images (B, C, H, W)
    for mode_one_sided, expected in ((False, two_sided), (True, one_sided)):
        D, weight = _linear_critic(torch.tensor(w).reshape(1, 2, 2))
        gp = gradient_penalty(D, real, fake, one_sided=mode_one_sided, generator=torch.Generator().manual_seed(1))
        assert gp.item() == pytest.approx(expected, abs=1e-6)
        # it backpropagates into D: d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w| (zero where the penalty is)
        gp.backward()
        norm = torch.tensor(w).norm()
        grad = 2 * (norm - 1) * torch.tensor(w) / norm if expected > 0 else torch.zeros(4)
        assert torch.allclose(weight.grad.flatten(), grad, atol=1e-5)


def test_gradient_penalty_averages_per_sample_norms():
    # D(x) = relu(<x, w>): gradient w where <x, w> > 0, zero where < 0. Real and fake of the first
    # two pairs lie on the positive side, the last pair on the negative side; their interpolates
    # stay on the same side whatever the mixing weights, so the per-sample norms are |w|, |w|, 0.
    w = torch.tensor([2.0, 0.0])  # |w| = 2

    def D(x):
        return torch.relu(x @ w)

    real = torch.tensor([[1.0, 5.0], [0.5, -3.0], [-1.0, 2.0]])
    fake = torch.tensor([[3.0, -1.0], [0.2, 0.7], [-0.4, -6.0]])
    gp = gradient_penalty(D, real, fake, generator=torch.Generator().manual_seed(7))
    assert gp.item() == pytest.approx((1.0 + 1.0 + 1.0) / 3)  # (2-1)^2, (2-1)^2, (0-1)^2
    one = gradient_penalty(D, real, fake, one_sided=True, generator=torch.Generator().manual_seed(7))
    assert one.item() == pytest.approx((1.0 + 1.0 + 0.0) / 3)


def test_r1_on_a_linear_critic_equals_its_formula():
    D, weight = _linear_critic(torch.tensor([1.0, -2.0, 2.0]))  # |w|^2 = 9
    real = torch.randn(6, 3, generator=torch.Generator().manual_seed(2))
    r1 = r1_penalty(D, real)
    assert r1.item() == pytest.approx(9.0)
    r1.backward()  # d/dw |w|^2 = 2 w
    assert torch.allclose(weight.grad, torch.tensor([2.0, -4.0, 4.0]))
