"""Point distributions in 1, 2 or N dimensions that can be sampled without end.

The Gaussian mixtures keep the exact parameters of the PacGAN benchmark (Lin et al. 2018):
``ring8`` is 8 Gaussians on a circle of radius 1 with std 0.01, ``grid25`` is a 5x5 grid at spacing
2 centred on 0 with std 0.05. Mixtures expose their mode centres and std (for mode coverage) and an
exact log density (for the optimal discriminator D*).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import torch

from ganforge.errors import DataError

POINT_DATASETS: dict[str, str] = {
    "ring8": "8 Gaussians on a circle of radius 1, std 0.01 (PacGAN)",
    "grid25": "25 Gaussians on a 5x5 grid, spacing 2, centred on 0, std 0.05 (PacGAN)",
    "spiral": "a two-turn Archimedean spiral with small Gaussian noise",
    "moons": "two interleaving half circles with small Gaussian noise",
    "line": "a uniform segment from (-1, -1) to (1, 1) with small Gaussian noise",
    "gauss1d": "1D Gaussian N(2, 0.5^2), as in the figure of the original GAN paper",
    "bimodal1d": "1D mixture of N(-2, 0.4^2) and N(2, 0.4^2)",
    "points": "Gaussians of a given std centred on user points (CSV or NPY file in data.path)",
}


class PointDistribution(ABC):
    """Base class: a distribution over R^dim that can be sampled with a torch.Generator."""

    name: str = ""
    dim: int = 2
    centers: torch.Tensor | None = None  # (K, dim) mode centres where the modes are known
    std: float | None = None  # per-mode standard deviation where the modes are known

    @abstractmethod
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples, (n, dim) float32."""

    def sample_with_labels(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``n`` samples (n, dim) and their labels (n,), or None for an unlabelled distribution (all
        but the self-conditioned ones of :mod:`ganforge.data.clusters`). Same draws as :meth:`sample`."""
        return self.sample(n, generator), None

    def log_prob(self, x: torch.Tensor) -> torch.Tensor | None:
        """Exact log density at ``x`` (n, dim) -> (n,), or None where it is not known in closed form."""
        return None

    @property
    def bounds(self) -> tuple[list[float], list[float]]:
        """A view box (low corner, high corner) that holds the data with a margin."""
        x = self.sample(4096, torch.Generator().manual_seed(0))
        lo, hi = x.min(0).values, x.max(0).values
        pad = 0.15 * (hi - lo).clamp_min(1e-3)
        return (lo - pad).tolist(), (hi + pad).tolist()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


class GaussianMixture(PointDistribution):
    """Equal-weight mixture of isotropic Gaussians with a shared std."""

    def __init__(self, name: str, centers: torch.Tensor, std: float):
        if centers.ndim != 2 or centers.shape[0] == 0:
            raise DataError(f"{name}: mixture centres must be a non-empty (K, dim) array")
        if not std > 0:
            raise DataError(f"{name}: the std of the mixture must be > 0, got {std}")
        self.name = name
        self.centers = centers.float()
        self.std = float(std)
        self.dim = centers.shape[1]

    @classmethod
    def from_points(cls, points: torch.Tensor, std: float, name: str = "points") -> "GaussianMixture":
        """A mixture with one Gaussian of std ``std`` on each of ``points`` (m, dim)."""
        return cls(name, torch.as_tensor(points, dtype=torch.float32), std)

    def sample(self, n, generator=None):
        k = torch.randint(0, self.centers.shape[0], (n,), generator=generator)  # (n,)
        noise = torch.randn(n, self.dim, generator=generator)  # (n, dim)
        return self.centers[k] + self.std * noise

    def log_prob(self, x):
        # log (1/K) sum_k N(x; c_k, std^2 I), with logsumexp for stability
        d2 = torch.cdist(x.float(), self.centers).pow(2)  # (n, K)
        log_norm = -0.5 * self.dim * math.log(2 * math.pi * self.std**2)
        return torch.logsumexp(-0.5 * d2 / self.std**2, dim=1) + log_norm - math.log(self.centers.shape[0])


PointDistribution.from_points = staticmethod(GaussianMixture.from_points)  # type: ignore[attr-defined]


class CurveDistribution(PointDistribution):
    """Points along a parametric curve t -> (x(t), y(t)) with t ~ U[0, 1], plus Gaussian noise."""

    def __init__(self, name: str, curve, noise: float):
        self.name, self.curve, self.noise, self.dim = name, curve, float(noise), 2

    def sample(self, n, generator=None):
        t = torch.rand(n, generator=generator)  # (n,)
        return self.curve(t, generator) + self.noise * torch.randn(n, 2, generator=generator)


def _spiral(t, generator):
    angle = 4 * math.pi * t  # two turns
    r = 0.15 + 1.35 * t
    return torch.stack([r * torch.cos(angle), r * torch.sin(angle)], dim=1)


def _moons(t, generator):
    # the upper moon for half the points, the lower (shifted) moon for the rest, as in scikit-learn
    upper = torch.rand(t.shape[0], generator=generator) < 0.5
    angle = math.pi * t
    x = torch.where(upper, torch.cos(angle), 1 - torch.cos(angle))
    y = torch.where(upper, torch.sin(angle), 0.5 - torch.sin(angle))
    return torch.stack([x - 0.5, y - 0.25], dim=1)


def _line(t, generator):
    u = 2 * t - 1
    return torch.stack([u, u], dim=1)


def ring8(radius: float = 1.0, std: float = 0.01) -> GaussianMixture:
    angles = torch.arange(8) * (2 * math.pi / 8)
    centers = torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1)
    return GaussianMixture("ring8", centers, std)


def grid25(spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    ticks = (torch.arange(5) - 2) * spacing  # -4, -2, 0, 2, 4
    gx, gy = torch.meshgrid(ticks, ticks, indexing="ij")
    return GaussianMixture("grid25", torch.stack([gx.flatten(), gy.flatten()], 1).float(), std)


def load_points_file(path: str | Path) -> torch.Tensor:
    """User points from a CSV (comma or whitespace separated, optional header) or NPY file: (m, dim)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"points file {str(p)!r} not found; give a .csv or .npy file of shape (m, dim)")
    try:
        if p.suffix.lower() == ".npy":
            arr = np.load(p, allow_pickle=False)
        elif p.suffix.lower() in (".csv", ".txt", ".tsv"):
            text = p.read_text()
            delim = "," if "," in text else None
            try:
                arr = np.loadtxt(p, delimiter=delim, ndmin=2)
            except ValueError:
                arr = np.loadtxt(p, delimiter=delim, ndmin=2, skiprows=1)
        else:
            raise DataError(f"points file {p.name!r}: unsupported extension; accepted: .csv, .txt, .tsv, .npy")
    except (ValueError, OSError) as e:
        raise DataError(f"points file {p.name!r} could not be read as numbers: {e}") from None
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[0] < 1 or not np.isfinite(arr).all():
        raise DataError(f"points file {p.name!r} must hold a finite (m, dim) array, got shape {arr.shape}")
    return torch.from_numpy(arr)


def make_distribution(name: str, path: str | None = None, noise_std: float = 0.0) -> PointDistribution:
    """The point distribution called ``name`` (see :data:`POINT_DATASETS`)."""
    if name == "ring8":
        return ring8(std=noise_std or 0.01)
    if name == "grid25":
        return grid25(std=noise_std or 0.05)
    if name == "spiral":
        return CurveDistribution("spiral", _spiral, noise_std or 0.03)
    if name == "moons":
        return CurveDistribution("moons", _moons, noise_std or 0.05)
    if name == "line":
        return CurveDistribution("line", _line, noise_std or 0.02)
    if name == "gauss1d":
        return GaussianMixture("gauss1d", torch.tensor([[2.0]]), noise_std or 0.5)
    if name == "bimodal1d":
        return GaussianMixture("bimodal1d", torch.tensor([[-2.0], [2.0]]), noise_std or 0.4)
    if name == "points":
        if not path:
            raise DataError("data 'points' needs data.path: a .csv or .npy file of shape (m, dim)")
        return GaussianMixture.from_points(load_points_file(path), noise_std or 0.05, name="points")
    raise DataError(f"unknown point dataset {name!r}; valid: {', '.join(POINT_DATASETS)}")
