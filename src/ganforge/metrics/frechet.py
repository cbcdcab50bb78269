"""The Fréchet distance between two Gaussians fitted to features (FID, Heusel et al. 2017).

    d^2 = |mu_1 - mu_2|^2 + tr(S_1) + tr(S_2) - 2 tr((S_1 S_2)^(1/2))

The trace term is computed without a general matrix square root: with A = S_1^(1/2) (symmetric,
from an eigendecomposition), S_1 S_2 is similar to A S_2 A, which is symmetric positive
semi-definite, so tr((S_1 S_2)^(1/2)) = sum_i sqrt(lambda_i(A S_2 A)) (Dowson & Landau 1982).
Everything runs in float64 and eigenvalues within round-off of zero are set to 0, so
rank-deficient covariances need no epsilon on the diagonal.

From features with fewer samples than dimensions (n or m < d), :func:`fid_from_features` computes
the trace term exactly instead: with centred features X (n, d) and Y (m, d), S_1 S_2 =
X^T X Y^T Y / ((n-1)(m-1)) has the same non-zero eigenvalues as (X Y^T)(X Y^T)^T, so
tr((S_1 S_2)^(1/2)) is the nuclear norm of the cross-product X Y^T (n, m) over sqrt((n-1)(m-1)).
Its singular values need no clipping, so the result is exact to float64 round-off where the
eigenvalue route, clipping the d - n near-zero eigenvalues, is about 1e-6 off.
"""

from __future__ import annotations

import numpy as np
import torch


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d) of ``features`` (n, d), in float64."""
    f = features.detach().cpu().double().numpy() if isinstance(features, torch.Tensor) else np.asarray(features, np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f"features must be (n >= 2, d); got shape {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _clip_roundoff(w: np.ndarray) -> np.ndarray:
    """Eigenvalues (d,) with those within round-off of zero (|w| <= d * eps * max|w|) set to 0.

    Zero eigenvalues come out of eigh as +-1e-16 * |S|; their square roots (1e-8 each) would add
    up to a relative error near 1e-6 on rank-deficient covariances.
    """
    tol = w.size * np.finfo(np.float64).eps * max(float(np.abs(w).max(initial=0.0)), 1e-300)
    return np.where(w > tol, w, 0.0)


def _sym_sqrt(s: np.ndarray) -> np.ndarray:
    """Square root of a symmetric PSD matrix (d, d) via eigh, round-off eigenvalues clipped to 0."""
    w, v = np.linalg.eigh(0.5 * (s + s.T))  # (d,), (d, d)
    return (v * np.sqrt(_clip_roundoff(w))) @ v.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """tr((S_1 S_2)^(1/2)) for symmetric PSD S_1, S_2 (d, d), via eig(S_1^(1/2) S_2 S_1^(1/2))."""
    a = _sym_sqrt(np.asarray(sigma1, np.float64))  # (d, d)
    m = a @ np.asarray(sigma2, np.float64) @ a  # (d, d) symmetric PSD, same spectrum as S_1 S_2
    w = np.linalg.eigvalsh(0.5 * (m + m.T))
    return float(np.sqrt(_clip_roundoff(w)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Squared Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (float64, >= 0)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shape mismatch: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    d2 = float(diff @ diff) + float(np.trace(sigma1)) + float(np.trace(sigma2)) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    return max(d2, 0.0)


def _as_float64(features) -> np.ndarray:
    if isinstance(features, torch.Tensor):
        return features.detach().cpu().double().numpy()
    return np.asarray(features, np.float64)


def fid_from_cross_product(real_features, fake_features) -> float:
    """FID between feature sets (n, d) and (m, d) with the trace term as a nuclear norm (module
    docstring); exact for any n, m, and cheaper than the eigen route when min(n, m) < d."""
    x, y = _as_float64(real_features), _as_float64(fake_features)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(x.shape[0], y.shape[0]) < 2:
        raise ValueError(f"features must be (n >= 2, d) and (m >= 2, d); got {x.shape} and {y.shape}")
    n, m = x.shape[0], y.shape[0]
    mu_x, mu_y = x.mean(axis=0), y.mean(axis=0)
    xc, yc = x - mu_x, y - mu_y  # (n, d), (m, d)
    trace_x, trace_y = float((xc * xc).sum()) / (n - 1), float((yc * yc).sum()) / (m - 1)
    nuclear = float(np.linalg.svd(xc @ yc.T, compute_uv=False).sum())  # singular values of (n, m)
    diff = mu_x - mu_y
    d2 = float(diff @ diff) + trace_x + trace_y - 2.0 * nuclear / np.sqrt((n - 1) * (m - 1))
    return max(d2, 0.0)


def fid_from_features(real_features, fake_features) -> float:
    """FID between two feature sets (n, d) and (m, d): the exact cross-product route when either
    set has fewer samples than dimensions, else Gaussian statistics and the eigen route."""
    real, fake = _as_float64(real_features), _as_float64(fake_features)
    if real.ndim == 2 and fake.ndim == 2 and min(real.shape[0], fake.shape[0]) < real.shape[1]:
        return fid_from_cross_product(real, fake)
    mu_r, s_r = gaussian_stats(real)
    mu_f, s_f = gaussian_stats(fake)
    return frechet_distance(mu_r, s_r, mu_f, s_f)
