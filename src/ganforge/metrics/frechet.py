"""The Fréchet distance between two Gaussians fitted to features (FID, Heusel et al. 2017).

    d^2 = |mu_1 - mu_2|^2 + tr(S_1) + tr(S_2) - 2 tr((S_1 S_2)^(1/2))

The trace term is computed without a general matrix square root: with A = S_1^(1/2) (symmetric,
from an eigendecomposition), S_1 S_2 is similar to A S_2 A, which is symmetric positive
semi-definite, so tr((S_1 S_2)^(1/2)) = sum_i sqrt(lambda_i(A S_2 A)) (Dowson & Landau 1982).
Everything runs in float64 and eigenvalues within round-off of zero are set to 0, so
rank-deficient covariances (fewer samples than feature dimensions) need no epsilon on the diagonal.
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


def fid_from_features(real_features, fake_features) -> float:
    """FID between two feature sets (n, d) and (m, d)."""
    mu_r, s_r = gaussian_stats(real_features)
    mu_f, s_f = gaussian_stats(fake_features)
    return frechet_distance(mu_r, s_r, mu_f, s_f)
