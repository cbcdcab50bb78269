"""Stacked MNIST: three MNIST digits as the R, G and B channels of one image, 1000 modes.

The benchmark of mode coverage used by VEEGAN, PacGAN and others: a generator that covers the
data makes all 1000 digit triples; a collapsed one makes a few. The draw is fixed by ``seed``,
and drawing the whole set first makes ``limit`` a prefix of the full dataset.
"""

from __future__ import annotations

import numpy as np

STACKED_CLASSES = [f"{i:03d}" for i in range(1000)]


def stack_digits(
    images: np.ndarray, labels: np.ndarray, count: int = 0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stack random triples of ``images`` (N, 1, H, W) into (M, 3, H, W) with labels 100*r+10*g+b.

    M = ``count`` when positive, else N (as many as the source split has).
    """
    n = len(images)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(n, 3))  # (N, 3): source image for R, G, B
    if count:
        picks = picks[:count]
    stacked = images[picks, 0]  # (M, 3, H, W)
    digits = labels[picks]  # (M, 3)
    return stacked, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
