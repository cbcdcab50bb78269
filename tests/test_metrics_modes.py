"""Mode coverage (VEEGAN/PacGAN protocol) and the 2D density tools (KDE, D*, JS)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ganforge.metrics.density import cv_bandwidth, js_divergence, kde_log_prob, optimal_discriminator, scott_bandwidth
from ganforge.metrics.modes import ModeCoverage, histogram_kl_to_uniform, mode_coverage


def _ring(k=8, radius=1.0):
    a = torch.arange(k) * (2 * math.pi / k)
    return torch.stack([radius * torch.cos(a), radius * torch.sin(a)], 1)


def _mixture_samples(centers, std, n, seed=0, modes=None):
    g = torch.Generator().manual_seed(seed)
    modes = modes if modes is not None else list(range(centers.shape[0]))
    idx = torch.tensor(modes)[torch.randint(0, len(modes), (n,), generator=g)]
    return centers[idx] + std * torch.randn(n, centers.shape[1], generator=g)


def test_perfect_generator_captures_every_mode():
    c = _ring()
    cov = mode_coverage(_mixture_samples(c, 0.01, 2500), c, 0.01)
    assert isinstance(cov, ModeCoverage)
    assert cov.modes_captured == 8 and cov.n_modes == 8
    assert cov.hq_fraction > 0.98  # within 3 std in 2D: 1 - exp(-4.5) = 98.9 %
    assert cov.reverse_kl < 0.01
    assert sum(cov.histogram) == round(cov.hq_fraction * 2500)
    d = cov.to_dict()
    assert d["modes_captured"] == 8 and len(d["histogram"]) == 8


def test_collapsed_generator_on_one_mode():
    c = _ring()
    cov = mode_coverage(_mixture_samples(c, 0.01, 2500, modes=[3]), c, 0.01)
    assert cov.modes_captured == 1
    assert cov.histogram[3] == sum(cov.histogram)
    assert cov.reverse_kl == pytest.approx(math.log(8), abs=1e-12)


def test_off_mode_samples_are_low_quality():
    c = _ring()
    blob = 0.05 * torch.randn(2500, 2, generator=torch.Generator().manual_seed(1))  # at the centre
    cov = mode_coverage(blob, c, 0.01)
    assert cov.modes_captured == 0 and cov.hq_fraction == 0.0
    assert cov.reverse_kl == pytest.approx(math.log(8))  # the documented worst value


def test_reverse_kl_matches_formula_on_half_the_modes():
    # HQ samples evenly on 4 of 8 modes: KL(p || U) = sum 1/4 log(1/4 * 8) = log 2
    c = _ring()
    x = c[torch.arange(2000) % 4]
    cov = mode_coverage(x, c, 0.01)
    assert cov.modes_captured == 4 and cov.hq_fraction == 1.0
    assert cov.reverse_kl == pytest.approx(math.log(2), abs=1e-12)
    assert histogram_kl_to_uniform(torch.tensor([5, 5, 5])) == pytest.approx(0.0, abs=1e-12)


def test_threshold_is_in_units_of_std():
    c = torch.zeros(1, 2)
    x = torch.tensor([[0.029, 0.0], [0.031, 0.0]])
    assert mode_coverage(x, c, 0.01).histogram == [1]
    assert mode_coverage(x, c, 0.01, threshold=4.0).histogram == [2]


def test_mode_coverage_rejects_shape_mismatch():
    with pytest.raises(ValueError):
        mode_coverage(torch.zeros(3, 2), torch.zeros(4, 3), 0.1)


def test_kde_matches_explicit_float64_formula():
    rng = np.random.default_rng(0)
    s, p, h = rng.normal(size=(50, 2)), rng.normal(size=(7, 2)), 0.3
    d2 = ((p[:, None, :] - s[None, :, :]) ** 2).sum(-1)
    ref = np.log(np.exp(-0.5 * d2 / h**2).sum(1) / (50 * 2 * np.pi * h**2))
    got = kde_log_prob(torch.from_numpy(p), torch.from_numpy(s), h).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_scott_bandwidth_formula():
    x = torch.randn(1000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    sigma = float(x.var(0).mean().sqrt())
    assert scott_bandwidth(x) == pytest.approx(sigma * 1000 ** (-1 / 6))


def test_kde_integrates_to_one_on_a_grid():
    s = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    t = torch.linspace(-6, 6, 241)
    gx, gy = torch.meshgrid(t, t, indexing="ij")
    grid = torch.stack([gx.flatten(), gy.flatten()], 1)
    mass = kde_log_prob(grid, s).exp().sum() * (t[1] - t[0]) ** 2
    assert float(mass) == pytest.approx(1.0, abs=1e-3)


def test_cv_bandwidth_adapts_to_tight_modes():
    c = _ring()
    x = _mixture_samples(c, 0.01, 1000)
    h = cv_bandwidth(x)
    assert h < 0.05 < scott_bandwidth(x)  # Scott smooths over the whole ring


def test_optimal_discriminator_is_stable_in_log_space():
    pts = torch.zeros(4, 2)
    lp = torch.tensor([-1000.0, 0.0, float("-inf"), float("-inf")])
    lq = torch.tensor([-1000.0, float("-inf"), 0.0, float("-inf")])
    d = optimal_discriminator(pts, lp, lq)
    assert d.tolist() == [0.5, 1.0, 0.0, 0.5]
    d2 = optimal_discriminator(torch.zeros(1, 2), torch.tensor([math.log(3.0)]), torch.tensor([0.0]))
    assert float(d2) == pytest.approx(0.75)


def test_js_is_zero_for_identical_and_log2_for_disjoint():
    x = torch.randn(500, 2, generator=torch.Generator().manual_seed(0))
    assert js_divergence(x, x) == 0.0
    far = x + 100.0
    assert js_divergence(x, far) == pytest.approx(math.log(2), abs=1e-9)


def test_js_with_exact_density_tracks_the_truth():
    c = _ring()
    std = 0.01

    def log_prob(x):
        d2 = torch.cdist(x.double(), c.double()).pow(2)
        return torch.logsumexp(-0.5 * d2 / std**2, 1) - math.log(2 * math.pi * std**2) - math.log(8)

    real = _mixture_samples(c, std, 1000, seed=1)
    good = _mixture_samples(c, std, 1000, seed=2)
    half = _mixture_samples(c, std, 1000, seed=3, modes=[0, 1, 2, 3])
    js_good = js_divergence(real, good, log_prob)
    js_half = js_divergence(real, half, log_prob)
    # p_g on half the modes: JS = 1/2 [1/2 log(2*(1/8)/(1/8+1/4))*... ] = 1/2 log 2 + 3/8 log(4/3) ... exact:
    # on the 4 shared modes p = 1/8, q = 1/4; on the other 4 p = 1/8, q = 0.
    exact = 0.5 * (0.5 * math.log(2 * (1 / 8) / (3 / 8)) + 0.5 * math.log(2)) + 0.5 * math.log(2 * (1 / 4) / (3 / 8))
    assert js_good < 0.05
    assert js_half == pytest.approx(exact, abs=0.05)
