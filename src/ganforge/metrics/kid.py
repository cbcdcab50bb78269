"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs").

KID is the squared maximum mean discrepancy between real and generated features with the cubic
polynomial kernel k(x, y) = (x . y / d + 1)^3, estimated without bias, averaged over random subsets
(the usual protocol: 100 subsets of 1000 samples each). Unlike FID it has an unbiased estimator, so
it can be compared across sample sizes; it may be slightly negative when the sets match.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch


@dataclass
class KID:
    mean: float  # mean unbiased MMD^2 over the subsets
    std: float | None  # standard deviation over the subsets; None when every subset is both whole sets
    n_subsets: int
    subset_size: int

    def to_dict(self) -> dict:
        return asdict(self)


def polynomial_mmd2(x: torch.Tensor, y: torch.Tensor, degree: int = 3, coef: float = 1.0) -> float:
    """Unbiased MMD^2 between ``x`` (m, d) and ``y`` (n, d) with k(a, b) = (a . b / d + coef)^degree."""
    x, y = x.double(), y.double()
    d = x.shape[1]
    k_xx = (x @ x.T / d + coef) ** degree  # (m, m)
    k_yy = (y @ y.T / d + coef) ** degree  # (n, n)
    k_xy = (x @ y.T / d + coef) ** degree  # (m, n)
    m, n = x.shape[0], y.shape[0]
    sum_xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    sum_yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(sum_xx + sum_yy - 2 * k_xy.mean())


def kernel_inception_distance(
    real_features: torch.Tensor,
    fake_features: torch.Tensor,
    n_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> KID:
    """KID between feature sets (n, d) and (m, d): mean and std of MMD^2 over random subsets.

    The subset size is capped by the smaller set; subsets are drawn without replacement within a
    subset, with a seeded generator so the number is reproducible. When neither set is larger than
    the subset size, every subset would be both whole sets: KID is computed once and reported with
    no spread (``std`` None, ``n_subsets`` 1) rather than a standard deviation of round-off.
    """
    real, fake = real_features.detach().cpu(), fake_features.detach().cpu()
    size = min(subset_size, real.shape[0], fake.shape[0])
    if size < 2:
        raise ValueError("KID needs at least 2 samples in each set")
    if size == real.shape[0] and size == fake.shape[0]:
        return KID(mean=polynomial_mmd2(real, fake), std=None, n_subsets=1, subset_size=size)
    g = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(n_subsets):
        r = real[torch.randperm(real.shape[0], generator=g)[:size]]  # (size, d)
        f = fake[torch.randperm(fake.shape[0], generator=g)[:size]]  # (size, d)
        values.append(polynomial_mmd2(r, f))
    v = torch.tensor(values, dtype=torch.float64)
    return KID(mean=float(v.mean()), std=float(v.std()) if len(values) > 1 else 0.0,
               n_subsets=n_subsets, subset_size=size)
