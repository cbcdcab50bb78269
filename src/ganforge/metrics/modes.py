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
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

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
        """A JSON-ready dict of every field."""
        return asdict(self)


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
    dist = torch.cdist(x, c)  # (n, K)
    nearest_dist, nearest = dist.min(dim=1)  # (n,), (n,)
    finite = torch.isfinite(nearest_dist)
    hq = finite & (nearest_dist <= threshold * std)  # (n,) bool
    hist = torch.bincount(nearest[hq], minlength=k)  # (K,)
    n = x.shape[0]
    return ModeCoverage(
        modes_captured=int((hist > 0).sum()),
        n_modes=k,
        hq_fraction=float(hq.sum()) / n if n else 0.0,
        reverse_kl=histogram_kl_to_uniform(hist),
        histogram=[int(v) for v in hist],
        n_samples=n,
        threshold=float(threshold),
    )
