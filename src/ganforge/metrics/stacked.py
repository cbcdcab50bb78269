"""Stacked MNIST: 1000 modes from three MNIST digits stacked as the R, G and B channels.

Introduced by Metz et al. 2017 (Unrolled GANs) and used by VEEGAN and PacGAN (Lin et al. 2018):
each channel of a generated image is classified by a pretrained MNIST classifier, the three digits
give the mode label 100 R + 10 G + B, and we report the modes captured (of 1000) and
KL(generated label histogram || uniform over the 1000 modes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ganforge.metrics.modes import histogram_kl_to_uniform


def stacked_labels(probs: torch.Tensor) -> torch.Tensor:
    """Mode labels (N,) from per-channel class probabilities (N, C, 10): sum_c digit_c * 10^(C-1-c).

    For C = 3 that is 100 R + 10 G + B; for C = 1 it is the digit.
    """
    digits = probs.argmax(-1)  # (N, C)
    c = digits.shape[1]
    weights = 10 ** torch.arange(c - 1, -1, -1, device=digits.device)  # (C,) e.g. [100, 10, 1]
    return (digits * weights).sum(1)


@dataclass
class StackedCoverage:
    modes_captured: int  # distinct labels among the generated samples
    n_modes: int  # 1000
    reverse_kl: float  # KL(generated label histogram || uniform), nats, in [0, log 1000]
    n_samples: int

    def to_dict(self) -> dict:
        return asdict(self)


def stacked_mnist_coverage(images: torch.Tensor, net=None) -> StackedCoverage:
    """Modes captured and reverse KL of generated Stacked MNIST ``images`` (N, 3, 28, 28) in [-1, 1].

    The protocol draws 26,000 samples (Metz et al. 2017; Lin et al. 2018).
    """
    from ganforge.metrics.classifier import classify

    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"Stacked MNIST images are (N, 3, H, W); got {tuple(images.shape)}")
    labels = stacked_labels(classify(images, net))  # (N,)
    return stacked_coverage_from_labels(labels, 1000)


def stacked_coverage_from_labels(labels: torch.Tensor, n_modes: int = 1000) -> StackedCoverage:
    """Coverage numbers from mode labels (N,) in [0, n_modes)."""
    hist = torch.bincount(labels.long().cpu(), minlength=n_modes)  # (n_modes,)
    return StackedCoverage(
        modes_captured=int((hist > 0).sum()),
        n_modes=n_modes,
        reverse_kl=histogram_kl_to_uniform(hist),
        n_samples=int(labels.numel()),
    )
