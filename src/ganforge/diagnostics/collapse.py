"""Sample-based mode-collapse evidence: mode coverage, class histograms, sample diversity.

Mode collapse (Goodfellow 2016, NIPS tutorial §5.1.1) shows three ways, depending on what we know:

* known modes (Gaussian mixtures): modes captured and reverse KL from :func:`mode_coverage`
  (VEEGAN/PacGAN protocol), compared with real samples of the same size;
* a classifier (labelled data): the class histogram of the fakes vs the reals;
* otherwise, diversity: the mean pairwise distance of a fake batch relative to a real batch
  (the idea behind the birthday-paradox test of Arora & Zhang 2017 and the minibatch features of
  Salimans et al. 2016), and the near-duplicate rate among fakes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from ganforge.metrics.modes import histogram_kl_to_uniform


@dataclass
class Diversity:
    real_mpd: float  # mean pairwise L2 distance within the real batch
    fake_mpd: float  # mean pairwise L2 distance within the fake batch
    ratio: float  # fake_mpd / real_mpd: about 1 when G is as diverse as the data, 0 when constant
    real_dup_rate: float  # fraction of real samples with a near-duplicate in the real batch
    fake_dup_rate: float  # fraction of fake samples with a near-duplicate in the fake batch
    dup_radius: float  # the near-duplicate distance used for both

    def to_dict(self) -> dict:
        return asdict(self)


def _pairwise(x: torch.Tensor) -> torch.Tensor:
    x = x.detach().double().cpu().flatten(1)  # (n, D)
    return torch.cdist(x, x)  # (n, n)


def _mean_offdiag(d: torch.Tensor) -> float:
    n = d.shape[0]
    return float(d.sum() / (n * (n - 1))) if n > 1 else 0.0


def _nn_dist(d: torch.Tensor) -> torch.Tensor:
    d = d.clone()
    d.fill_diagonal_(float("inf"))
    return d.min(dim=1).values  # (n,)


def sample_diversity(real: torch.Tensor, fake: torch.Tensor, dup_scale: float = 0.1) -> Diversity:
    """Diversity of ``fake`` (n, ...) against ``real`` (m, ...) (any shape after the batch axis).

    A sample has a near-duplicate when another sample of its batch is closer than ``dup_scale``
    times the median nearest-neighbour distance of the real batch.
    """
    dr, df = _pairwise(real), _pairwise(fake)  # (m, m), (n, n)
    real_mpd, fake_mpd = _mean_offdiag(dr), _mean_offdiag(df)
    nn_real = _nn_dist(dr)
    radius = dup_scale * float(nn_real.median()) if nn_real.numel() else 0.0
    radius = max(radius, 1e-12)
    return Diversity(
        real_mpd=real_mpd,
        fake_mpd=fake_mpd,
        ratio=fake_mpd / real_mpd if real_mpd > 0 else 1.0,
        real_dup_rate=float((nn_real < radius).double().mean()),
        fake_dup_rate=float((_nn_dist(df) < radius).double().mean()),
        dup_radius=radius,
    )


@dataclass
class ClassBalance:
    histogram: list[int]  # samples per class
    covered: int  # classes with at least one sample
    kl_to_uniform: float  # KL(histogram || uniform), nats
    entropy: float  # entropy of the histogram, nats (log n_classes when uniform)

    def to_dict(self) -> dict:
        return asdict(self)


def class_balance(labels: torch.Tensor, n_classes: int) -> ClassBalance:
    """Histogram statistics of integer ``labels`` (n,) over ``n_classes`` classes."""
    hist = torch.bincount(labels.long().flatten().cpu(), minlength=n_classes)[:n_classes]  # (K,)
    kl = histogram_kl_to_uniform(hist)
    return ClassBalance(
        histogram=[int(v) for v in hist],
        covered=int((hist > 0).sum()),
        kl_to_uniform=kl,
        entropy=math.log(n_classes) - kl if hist.sum() > 0 else 0.0,
    )
