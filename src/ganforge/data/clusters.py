"""Pseudo-labels from k-means clusters of the pixels, for self-conditioned training without labels.

A class-conditional GAN trained on cluster indices instead of class labels gets much of what real
labels give a cGAN while using none: G's conditional batch norm and the projection D specialise
per cluster, so G no longer has to carve every kind of image out of one connected latent space
(Sage et al. 2018, "Logo synthesis and manipulation with clustered generative adversarial
networks"; Liu et al. 2020, "Diverse image generation via self-conditioned GANs", who cluster D's
features; here the pixels, which is enough for digit-like data). The trainer draws each cluster
with its frequency in the data, so sampling without a class still generates the whole dataset.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ganforge.data.base import ImageDataset
from ganforge.errors import ConfigError


def cluster_labels(images: torch.Tensor, k: int, seed: int = 0) -> torch.Tensor:
    """k-means cluster index (N,) int64 of each image of ``images`` (N, C, H, W) uint8.

    Pixels are scaled to [0, 1] and flattened; mini-batch k-means (Sculley 2010) with a fixed seed,
    so the same images always get the same labels (a resumed run sees the clusters it started with).
    """
    from sklearn.cluster import MiniBatchKMeans

    n = images.shape[0]
    if not 2 <= k <= n:
        raise ConfigError(f"data.clusters must be between 2 and the number of images ({n}), got {k}")
    x = images.reshape(n, -1).numpy().astype(np.float32) / 255.0  # (N, C*H*W)
    km = MiniBatchKMeans(n_clusters=k, random_state=seed, batch_size=4096, n_init=3)
    return torch.as_tensor(km.fit_predict(x), dtype=torch.int64)


def with_cluster_labels(dataset: ImageDataset, k: int, seed: int = 0) -> ImageDataset:
    """``dataset`` with its labels replaced by ``k`` k-means clusters of its pixels (classes
    ``cluster0`` .. ``cluster{k-1}``); the images are shared, not copied."""
    labels = cluster_labels(dataset.images, k, seed)
    info = {**dataset.info, "labels": f"k-means clusters of the pixels (k={k}, seed {seed})"}
    return dataclasses.replace(dataset, labels=labels, classes=[f"cluster{i}" for i in range(k)], info=info)
