"""The optimal discriminator D* on 2D data and the gap of a given D to it."""

from __future__ import annotations

import math

import pytest
import torch

from ganforge.diagnostics.optimal import d_star_at, probe_optimal_discriminator


def _gauss(n, mean, seed):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)) * 0.5 + torch.tensor(mean)


def _log_prob(x):  # exact density of N((0, 0), 0.5^2 I)
    return -(x.double() ** 2).sum(1) / (2 * 0.25) - math.log(2 * math.pi * 0.25)


def test_d_star_matches_the_density_ratio():
    real, fake = _gauss(800, [0.0, 0.0], 0), _gauss(800, [1.5, 0.0], 1)
    pts = torch.tensor([[-1.0, 0.0], [0.75, 0.0], [2.5, 0.0]])
    d = d_star_at(pts, real, fake, _log_prob, bandwidth=0.3)
    assert d[0] > 0.9 and abs(float(d[1]) - 0.5) < 0.15 and d[2] < 0.1


def test_gap_is_small_for_d_star_itself_and_large_for_a_wrong_d():
    real, fake = _gauss(600, [0.0, 0.0], 0), _gauss(600, [1.5, 0.0], 1)

    def d_star(x):
        return d_star_at(x, real, fake, _log_prob, bandwidth=0.3)

    good = probe_optimal_discriminator(real, fake, d_star, _log_prob, bandwidth=0.3)
    assert good.d_gap == pytest.approx(0.0, abs=1e-9)
    inverted = probe_optimal_discriminator(real, fake, lambda x: 1 - d_star(x), _log_prob, bandwidth=0.3)
    assert inverted.d_gap > 0.5
    assert 0.3 < good.js < math.log(2)  # means 3 std apart: mostly separated
    no_d = probe_optimal_discriminator(real, fake)
    assert no_d.d_gap is None and no_d.n_real == 600
