"""Mode coverage for mixtures with known modes (the protocol of VEEGAN and PacGAN).

Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018 (PacGAN) evaluate GANs on Gaussian mixtures
(``ring8``, ``grid25``) by drawing 2,500 samples and assigning each to its nearest mode centre.

* a sample is *high quality* when it lies within ``threshold`` (3) standard deviations of that
  centre (Euclidean distance <= threshold * std);
* *modes captured* = modes with at least one high-quality sample;
* *HQ fraction* = high-quality samples / all samples;
* *reverse KL* = KL(p_gen || uniform) over the K modes, where p_gen is the histogram of the
  high-quality samples over modes, normalised to sum to 1:

      KL = sum_k p_k log(p_k * K)        (terms with p_k = 0 contribute 0)

  It is 0 when the high-quality samples are spread evenly over all modes and log K when they all
  sit on one mode. Off-mode (low-quality) samples are left out of the histogram on purpose: they
  are already counted by the HQ fraction, and assigning them to their "nearest" mode would credit a
  generator that puts a blob in the middle of the ring with every mode. When no sample is high
  quality the histogram is empty; we then report the worst value, log K, rather than an undefined
  number.

Memory stays bounded whatever the number of modes (a ``points`` file of a million rows is a
mixture with a million modes): the nearest centre comes from chunks of the (n, K) distance matrix
when it is small, from a k-d tree (exact, O(K) memory) when it is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch
from scipy.spatial import cKDTree

from ganforge.metrics.density import MAX_PAIRS

N_SAMPLES = 2500  # the protocol's sample count


@dataclass
class ModeCoverage:
    modes_captured: int  # modes with at least one high-quality sample
    n_modes: int  # K, the number of known modes
    hq_fraction: float  # high-quality samples / all samples, in [0, 1]
    reverse_kl: float  # KL(high-quality mode histogram || uniform), nats, in [0, log K]
    histogram: list[int]  # high-quality samples per mode, length K
    n_samples: int = 0  # samples evaluated
    threshold: float = 3.0  # high quality = within threshold * std of the nearest centre

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field (flat: a copy of the histogram, no deep copy of each count)."""
        return {f.name: getattr(self, f.name) for f in fields(self)} | {"histogram": list(self.histogram)}


def histogram_kl_to_uniform(counts: torch.Tensor) -> float:
    """KL(p || uniform) in nats for a histogram of counts (K,); log K for an empty histogram."""
    counts = counts.double()
    k = counts.numel()
    total = counts.sum()
    if total <= 0:
        return math.log(k)
    p = counts / total  # (K,)
    nz = p > 0
    return float((p[nz] * torch.log(p[nz] * k)).sum().clamp_min(0.0))


def mode_coverage(
    samples: torch.Tensor, centers: torch.Tensor, std: float, threshold: float = 3.0
) -> ModeCoverage:
    """Mode coverage of ``samples`` (n, d) on a mixture with mode ``centers`` (K, d) and ``std``.

    See the module docstring for the definitions (VEEGAN/PacGAN protocol; use n = 2,500 samples).
    """
    if samples.ndim != 2 or centers.ndim != 2 or samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples (n, d) and centers (K, d) must share d; got {tuple(samples.shape)} and {tuple(centers.shape)}"
        )
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std}")
    x = samples.detach().double().cpu()  # (n, d)
    c = centers.detach().double().cpu()  # (K, d)
    k = c.shape[0]
    nearest_dist, nearest = nearest_centers(x, c)  # (n,), (n,)
    finite = torch.isfinite(nearest_dist)
    hq = finite & (nearest_dist <= threshold * std)  # (n,) bool
    hist = torch.bincount(nearest[hq], minlength=k)  # (K,)
    n = x.shape[0]
    return ModeCoverage(
        modes_captured=int((hist > 0).sum()),
        n_modes=k,
        hq_fraction=float(hq.sum()) / n if n else 0.0,
        reverse_kl=histogram_kl_to_uniform(hist),
        histogram=hist.tolist(),  # (K,) ints; tolist is fast even for a million modes
        n_samples=n,
        threshold=float(threshold),
    )


def nearest_centers(x: torch.Tensor, centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance to and index of the nearest of ``centers`` (K, d) for each row of ``x`` (n, d).

    Rows that are not finite get distance inf (and index 0). Memory is O(MAX_PAIRS + K + n): when the
    full (n, K) matrix would exceed MAX_PAIRS entries, a k-d tree over the centres (Bentley 1975)
    answers the queries exactly in O(n log K) instead of chunks of a brute-force O(n K) search.
    """
    x, c = x.double(), centers.double()
    n, k = x.shape[0], c.shape[0]
    dist = torch.full((n,), float("inf"), dtype=torch.float64)  # (n,)
    index = torch.zeros(n, dtype=torch.long)  # (n,)
    finite = torch.isfinite(x).all(dim=1)  # (n,)
    rows = finite.nonzero().flatten()  # (f,)
    if rows.numel() == 0:
        return dist, index
    if rows.numel() * k <= MAX_PAIRS:
        d_min, i_min = torch.cdist(x[rows], c).min(dim=1)  # (f, K) -> (f,), (f,)
    else:
        d_np, i_np = cKDTree(c.numpy()).query(x[rows].numpy(), k=1)
        d_min, i_min = torch.from_numpy(np.asarray(d_np, dtype=np.float64)), torch.from_numpy(np.asarray(i_np, dtype=np.int64))
    dist[rows], index[rows] = d_min, i_min
    return dist, index
