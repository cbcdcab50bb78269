"""Discriminator rejection sampling: the acceptance formula, the sampler on a known density ratio,
and the fitted ratio discriminator correcting a real, under-trained generator."""

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from ganforge.config import Config
from ganforge.engine import Trainer
from ganforge.engine.rejection import acceptance_probability, fit_density_ratio, rejection_sample
from ganforge.errors import ConfigError
from ganforge.metrics.modes import mode_coverage


def test_acceptance_is_exp_of_the_logit_gap_when_gamma_is_zero():
    logits = torch.tensor([-3.0, -1.0, 0.0, 1.5, 2.0])
    p = acceptance_probability(logits, max_logit=2.0)
    assert torch.allclose(p, torch.exp(logits - 2.0), atol=1e-5)
    assert p[-1] > 0.99  # the best sample is (almost) always kept


def test_gamma_shifts_the_acceptance_rate_monotonically():
    logits = torch.linspace(-5, 0, 11)
    lower, exact, higher = (acceptance_probability(logits, 0.0, g) for g in (1.0, 0.0, -1.0))
    assert (lower <= exact).all() and (exact <= higher).all()
    assert ((0 <= lower) & (higher <= 1)).all()


class _GaussianProposal:
    """A stand-in for a trainer whose G draws N(0, 1) in 1D."""

    device = torch.device("cpu")

    def generate(self, n, ema=True, generator=None):
        return torch.randn(n, 1, generator=generator)


class _ExactLogRatio(nn.Module):
    """log N(x; 1, 1) / N(x; 0, 1) = x - 1/2: the optimal D's logit for data N(1, 1) against G."""

    def forward(self, x):
        return x[:, 0] - 0.5


def test_rejection_sampling_with_the_exact_ratio_recovers_the_data_distribution():
    res = rejection_sample(_GaussianProposal(), _ExactLogRatio(), 20000, quantile=1.0,
                           generator=torch.Generator().manual_seed(0))
    x = res.samples[:, 0]
    assert len(x) == 20000
    assert abs(x.mean().item() - 1.0) < 0.05  # shifted from G's mean 0 to the data's mean 1
    assert abs(x.std().item() - 1.0) < 0.05
    # the ratio is unbounded, so M comes from the samples: acceptance well below 1 but not tiny
    assert 0.01 < res.acceptance < 0.5


def _rough_ring8(pack):
    """ring8 after 300 rounds: every mode visited, few samples within 3 std of one."""
    cfg = Config().with_overrides({
        "data.name": "ring8", "model.z_dim": 8, "model.pack": pack, "optim.lr_g": 1e-3,
        "optim.lr_d": 1e-3, "optim.beta1": 0.5, "train.batch_size": 128, "train.device": "cpu",
        "train.progress": False,
    })
    trainer = Trainer(cfg)
    for _ in range(300):
        trainer.step()
    return trainer


@pytest.mark.parametrize("pack", [1, 2])
def test_fitted_ratio_discriminator_raises_the_quality_of_a_rough_generator(pack):
    trainer = _rough_ring8(pack)
    before = {k: v.clone() for k, v in trainer.D.state_dict().items()}
    D_ratio = fit_density_ratio(trainer, steps=300)
    assert all(torch.equal(before[k], v) for k, v in trainer.D.state_dict().items())  # game's D untouched
    centers, std = trainer.data.centers, trainer.data.std
    raw = mode_coverage(trainer.generate(2500, generator=torch.Generator().manual_seed(1)), centers, std)
    res = rejection_sample(trainer, D_ratio, 2500, generator=torch.Generator().manual_seed(2))
    drs = mode_coverage(res.samples, centers, std)
    assert res.samples.shape == (2500, 2)
    assert drs.hq_fraction > raw.hq_fraction + 0.1, (raw, drs)
    assert drs.modes_captured >= raw.modes_captured - 1
    assert math.isfinite(res.acceptance) and 0 < res.acceptance <= 1


def test_a_lower_quantile_accepts_more():
    proposal, ratio = _GaussianProposal(), _ExactLogRatio()
    exact = rejection_sample(proposal, ratio, 5000, quantile=1.0, generator=torch.Generator().manual_seed(0))
    partial = rejection_sample(proposal, ratio, 5000, quantile=0.9, generator=torch.Generator().manual_seed(0))
    assert partial.acceptance > 2 * exact.acceptance
    assert 0.0 < partial.samples.mean().item() < exact.samples.mean().item()  # corrected, but only partly
    with pytest.raises(ConfigError, match="quantile"):
        rejection_sample(proposal, ratio, 10, quantile=0.0)


def test_rejection_sampling_refuses_conditional_models():
    trainer = SimpleNamespace(cfg=Config().with_overrides({"model.conditional": True}))
    with pytest.raises(ConfigError, match="unconditional"):
        fit_density_ratio(trainer, steps=1)
