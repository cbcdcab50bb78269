"""Fréchet distance against independent float64 scipy references; KID, PRDC, classifier score."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.linalg
import torch

from ganforge.metrics.frechet import fid_from_features, frechet_distance, gaussian_stats
from ganforge.metrics.kid import kernel_inception_distance, polynomial_mmd2
from ganforge.metrics.prdc import prdc
from ganforge.metrics.score import classifier_score


def scipy_fd(mu1, s1, mu2, s2):
    """The textbook formula with scipy.linalg.sqrtm, float64."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        covmean = scipy.linalg.sqrtm(s1 @ s2).real
    d = mu1 - mu2
    return d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def scipy_fd_on_support(a, b):
    """scipy reference for rank-deficient features: the same formula in an orthonormal basis of the
    joint support of both centred sets, where the covariances are well conditioned."""
    mu1, mu2 = a.mean(0), b.mean(0)
    q = scipy.linalg.orth(np.concatenate([a - mu1, b - mu2]).T)  # (d, r)
    s1 = np.cov(a @ q, rowvar=False)
    s2 = np.cov(b @ q, rowvar=False)
    d = mu1 - mu2
    return d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2).real)


def test_full_rank_random_features_match_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(500, 64)), 1.1 * rng.normal(size=(500, 64)) + 0.05
    mu1, s1 = gaussian_stats(a)
    mu2, s2 = gaussian_stats(b)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(scipy_fd(mu1, s1, mu2, s2), rel=1e-6)


def test_ill_conditioned_covariances_match_scipy():
    rng = np.random.default_rng(1)
    d = 48
    q1, _ = np.linalg.qr(rng.normal(size=(d, d)))
    q2, _ = np.linalg.qr(rng.normal(size=(d, d)))
    s1 = (q1 * np.logspace(-10, 0, d)) @ q1.T  # condition number 1e10
    s2 = (q2 * np.logspace(-9, 0.5, d)) @ q2.T
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(scipy_fd(mu1, s1, mu2, s2), rel=1e-6)


@pytest.mark.parametrize("n,d,r", [(1000, 64, 10), (600, 160, 30), (60, 128, None)])
def test_rank_deficient_features_match_scipy(n, d, r):
    # r-dimensional features embedded in d dimensions, or fewer samples than dimensions (r None)
    rng = np.random.default_rng(2)
    if r is None:
        a, b = rng.normal(size=(n, d)), 1.3 * rng.normal(size=(n, d)) + 0.1
    else:
        p = rng.normal(size=(r, d))
        a, b = rng.normal(size=(n, r)) @ p, (1.2 * rng.normal(size=(n, r))) @ p + 0.1
    got = fid_from_features(torch.from_numpy(a), torch.from_numpy(b))
    assert got == pytest.approx(scipy_fd_on_support(a, b), rel=1e-6)


def _fid_high_precision(a, b, digits: int = 30) -> float:
    """FID of feature sets a (n, d), b (m, d) in mpmath at ``digits`` decimal digits: centred sums,
    the cross-product's singular values (the trace term), no float64 anywhere after the input."""
    import mpmath

    mpmath.mp.dps = digits
    (n, d), m = a.shape, b.shape[0]

    def centred(x, rows):
        mu = [mpmath.fsum(mpmath.mpf(float(x[i, j])) for i in range(rows)) / rows for j in range(d)]
        return mpmath.matrix([[mpmath.mpf(float(x[i, j])) - mu[j] for j in range(d)] for i in range(rows)]), mu

    xc, mx = centred(a, n)
    yc, my = centred(b, m)
    nuclear = mpmath.fsum(mpmath.svd_r(xc * yc.T, compute_uv=False))
    trace_x = mpmath.fsum(xc[i, j] ** 2 for i in range(n) for j in range(d)) / (n - 1)
    trace_y = mpmath.fsum(yc[i, j] ** 2 for i in range(m) for j in range(d)) / (m - 1)
    mean_term = mpmath.fsum((mx[j] - my[j]) ** 2 for j in range(d))
    return float(mean_term + trace_x + trace_y - 2 * nuclear / mpmath.sqrt((n - 1) * (m - 1)))


def test_fewer_samples_than_dimensions_is_exact():
    # features with a spectrum over 7 decades, fewer samples than dimensions: the eigen route
    # (clipping d - n near-zero eigenvalues) is about 4e-7 off; the cross-product route is exact
    rng = np.random.default_rng(5)
    n, m, d = 40, 40, 96
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    spectrum = np.logspace(0, -7, d)
    a = (rng.normal(size=(n, d)) * spectrum) @ q.T
    b = (1.2 * rng.normal(size=(m, d)) * spectrum) @ q.T + 0.01
    exact = _fid_high_precision(a, b)
    assert fid_from_features(torch.from_numpy(a), torch.from_numpy(b)) == pytest.approx(exact, rel=1e-12)
    mu1, s1 = gaussian_stats(a)
    mu2, s2 = gaussian_stats(b)
    assert abs(frechet_distance(mu1, s1, mu2, s2) / exact - 1) > 1e-8  # what the exact route fixes


def test_identical_sets_with_fewer_samples_than_dimensions_give_zero():
    a = np.random.default_rng(6).normal(size=(50, 300))
    assert fid_from_features(a, a.copy()) == pytest.approx(0.0, abs=1e-10)


def test_exactly_singular_commuting_covariances_closed_form():
    rng = np.random.default_rng(3)
    d, r = 256, 30
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    e1, e2 = np.zeros(d), np.zeros(d)
    e1[:r], e2[:r] = rng.uniform(0.5, 2, r), rng.uniform(0.5, 2, r)
    mu = rng.normal(size=d)
    exact = 0.01**2 * d + e1.sum() + e2.sum() - 2 * np.sqrt(e1 * e2).sum()
    got = frechet_distance(mu, (q * e1) @ q.T, mu + 0.01, (q * e2) @ q.T)
    assert got == pytest.approx(exact, rel=1e-10)


def test_one_dimensional_and_identical():
    # 1-D Gaussians: (m1 - m2)^2 + (s1 - s2)^2
    assert frechet_distance([1.0], [[4.0]], [3.0], [[9.0]]) == pytest.approx(4.0 + 1.0)
    x = torch.randn(300, 20, generator=torch.Generator().manual_seed(0))
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-9)


def test_frechet_rejects_mismatched_shapes():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_kid_unbiased_matches_formula_and_is_near_zero_for_same_distribution():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 6, generator=g, dtype=torch.float64), torch.randn(30, 6, generator=g, dtype=torch.float64)
    k = lambda a, b: (a @ b.T / 6 + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    ref = ((kxx.sum() - kxx.trace()) / (40 * 39) + (kyy.sum() - kyy.trace()) / (30 * 29) - 2 * kxy.mean()).item()
    assert polynomial_mmd2(x, y) == pytest.approx(ref, rel=1e-12)
    a, b = torch.randn(600, 16, generator=g), torch.randn(600, 16, generator=g)
    same = kernel_inception_distance(a, b, n_subsets=20, subset_size=300)
    shifted = kernel_inception_distance(a, b + 0.5, n_subsets=20, subset_size=300)
    assert abs(same.mean) < 3 * same.std + 1e-3
    assert shifted.mean > 10 * max(abs(same.mean), same.std)
    assert kernel_inception_distance(a, b, n_subsets=5, seed=1).to_dict() == kernel_inception_distance(a, b, n_subsets=5, seed=1).to_dict()


def test_prdc_on_matching_truncated_and_disjoint_sets():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(800, 8, generator=g)
    same = prdc(real, torch.randn(800, 8, generator=g))
    assert same.precision > 0.8 and same.recall > 0.8 and 0.7 < same.density < 1.3 and same.coverage > 0.9
    # fakes on a small part of the real manifold: high precision, low recall / coverage
    narrow = prdc(real, 0.2 * torch.randn(800, 8, generator=g))
    assert narrow.precision > 0.9 and narrow.recall < 0.3 and narrow.coverage < 0.5
    far = prdc(real, torch.randn(800, 8, generator=g) + 20)
    assert far.precision == 0 and far.recall == 0 and far.density == 0 and far.coverage == 0


def test_prdc_small_example_by_hand():
    # reals at 0, 1, 2, 10 on a line, k = 1: radii 1, 1, 1, 8; fakes at 0.5 and 30
    real = torch.tensor([[0.0], [1.0], [2.0], [10.0]])
    fake = torch.tensor([[0.5], [30.0], [31.0]])
    r = prdc(real, fake, k_pr=1, k_dc=1)
    assert r.precision == pytest.approx(1 / 3)  # only 0.5 lies in a real ball
    assert r.density == pytest.approx(2 / 3)  # 0.5 is inside the balls of 0 and 1
    assert r.coverage == pytest.approx(2 / 4)
    # fake radii (k=1): 0.5 -> 29.5 (to 30), 30 -> 1, 31 -> 1; the ball of 0.5 holds 0, 1, 2, 10
    assert r.recall == pytest.approx(1.0)


def test_kid_of_whole_sets_reports_no_spread():
    g = torch.Generator().manual_seed(2)
    real, fake = torch.randn(200, 16, generator=g), torch.randn(200, 16, generator=g) + 0.3
    whole = kernel_inception_distance(real, fake, n_subsets=100, subset_size=1000)
    assert whole.std is None and whole.n_subsets == 1 and whole.subset_size == 200
    assert whole.mean == pytest.approx(polynomial_mmd2(real, fake), rel=1e-12)
    # a larger fake set: subsets differ, so there is a spread
    more = kernel_inception_distance(real, torch.randn(400, 16, generator=g) + 0.3, n_subsets=20, subset_size=1000)
    assert more.n_subsets == 20 and more.std > 1e-6


def test_prdc_balls_are_open_so_duplicates_give_density_one():
    real = torch.randn(300, 4, generator=torch.Generator().manual_seed(1))
    r = prdc(real, real.clone(), k_pr=3, k_dc=5)
    assert (r.precision, r.recall, r.coverage) == (1.0, 1.0, 1.0)
    assert r.density == pytest.approx(1.0, abs=1e-12)  # a closed ball would count 6 of 5: 1.2


def test_prdc_sample_on_a_ball_edge_is_outside():
    real = torch.tensor([[0.0], [2.0], [50.0], [51.0]])  # k = 1 radii 2, 2, 1, 1
    fake = torch.tensor([[4.0], [100.0]])  # 4 is exactly on the edge of the ball of 2; 100 in none
    r = prdc(real, fake, k_pr=1, k_dc=1)
    assert r.precision == 0.0 and r.density == 0.0 and r.coverage == 0.0


def test_classifier_score():
    probs = torch.tensor([[0.95, 0.05], [0.97, 0.03], [0.6, 0.4], [0.1, 0.9]])
    s = classifier_score(probs)
    assert s.histogram == [3, 1]
    p = torch.tensor([0.75, 0.25])
    assert s.entropy == pytest.approx(float(-(p * p.log()).sum()))
    assert s.confident_fraction == pytest.approx(0.75)
    uniform = classifier_score(torch.eye(10).repeat(5, 1))
    assert uniform.entropy == pytest.approx(math.log(10)) and uniform.kl_to_uniform == pytest.approx(0.0, abs=1e-12)
