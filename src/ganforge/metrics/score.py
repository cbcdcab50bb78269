"""Classifier score for labelled data: what a pretrained classifier says about generated samples.

Reports the class histogram of the generated samples, its entropy (log K when every class is
equally frequent; low when G favours a few classes, the marginal term of the Inception Score of
Salimans et al. 2016) and the fraction of confident predictions (max softmax >= threshold; low
when samples look like no class in particular, the conditional term of the same score).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from ganforge.metrics.modes import histogram_kl_to_uniform


@dataclass
class ClassifierScore:
    histogram: list[int]  # generated samples per predicted class
    entropy: float  # entropy of the predicted-class histogram, nats (max log K)
    max_entropy: float  # log K
    kl_to_uniform: float  # log K - entropy
    confident_fraction: float  # fraction of samples with max probability >= threshold
    mean_max_prob: float  # mean of the max softmax probability
    threshold: float
    n_samples: int

    def to_dict(self) -> dict:
        return asdict(self)


def classifier_score(probs: torch.Tensor, threshold: float = 0.9) -> ClassifierScore:
    """Score of class probabilities ``probs`` (N, K) predicted for N generated samples."""
    if probs.ndim != 2:
        raise ValueError(f"probs must be (N, K); got {tuple(probs.shape)}")
    n, k = probs.shape
    top, label = probs.max(dim=1)  # (N,), (N,)
    hist = torch.bincount(label.cpu(), minlength=k)  # (K,)
    kl = histogram_kl_to_uniform(hist)
    return ClassifierScore(
        histogram=[int(v) for v in hist],
        entropy=math.log(k) - kl,
        max_entropy=math.log(k),
        kl_to_uniform=kl,
        confident_fraction=float((top >= threshold).double().mean()),
        mean_max_prob=float(top.double().mean()),
        threshold=threshold,
        n_samples=n,
    )
