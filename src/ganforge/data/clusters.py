"""Pseudo-labels from k-means clusters, for self-conditioned training without labels.

A class-conditional GAN trained on cluster indices instead of class labels gets much of what real
labels give a cGAN while using none: G's conditional batch norm and the projection D specialise
per cluster, so G no longer has to carve every kind of image out of one connected latent space
(Sage et al. 2018, "Logo synthesis and manipulation with clustered generative adversarial
networks"; Liu et al. 2020, "Diverse image generation via self-conditioned GANs", who cluster D's
features; here the pixels, which is enough for digit-like data). The trainer draws each cluster
with its frequency in the data, so sampling without a class still generates the whole dataset.

Point distributions (:class:`ClusteredPoints`) are clustered the same way: k-means on a fixed,
seeded sample of the distribution, then every point the data stream yields is labelled by its
nearest centroid. Liu et al. 2020 evaluated self-conditioned GANs on these very mixtures (the 2D
ring and grid of Gaussians). Only samples are used, never the mixture's true centres.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from ganforge.data.base import ImageDataset
from ganforge.data.mixtures import PointDistribution
from ganforge.errors import ConfigError

POINT_FIT_SAMPLE = 10_000  # points drawn (seeded) from a distribution to fit its k-means clusters


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


def fit_point_clusters(points: torch.Tensor, k: int, seed: int = 0) -> torch.Tensor:
    """k-means centroids (k, dim) float32 of ``points`` (n, dim).

    Lloyd's algorithm with k-means++ initialisation (Arthur & Vassilvitskii 2007), the best of 10
    seeded starts, in float64: the same points and seed always give the same centroids.
    """
    from sklearn.cluster import KMeans

    n = points.shape[0]
    if not 2 <= k <= n:
        raise ConfigError(f"data.clusters must be between 2 and the number of points sampled to fit the "
                          f"clusters ({n}), got {k}")
    x = points.detach().to(torch.float64).cpu().numpy()  # (n, dim)
    km = KMeans(n_clusters=k, random_state=seed, n_init=10).fit(x)
    return torch.as_tensor(km.cluster_centers_, dtype=torch.float32)  # (k, dim)


def nearest_centroid(x: torch.Tensor, centroids: torch.Tensor) -> torch.Tensor:
    """Index (n,) int64 of the centroid of ``centroids`` (k, dim) nearest to each of ``x`` (n, dim)."""
    return torch.cdist(x.float(), centroids.to(x.device)).argmin(dim=1)  # (n, k) distances -> (n,)


class ClusteredPoints(PointDistribution):
    """``dist`` with a pseudo-label on every sample: the nearest of ``k`` k-means centroids fitted on
    ``n_fit`` points drawn from ``dist`` with a generator seeded by ``seed``.

    Sampling is ``dist``'s own (the same draws from the same generator), so a clustered run sees
    the points an unclustered one would. ``labels`` are the fitting sample's clusters: their
    frequencies are the classes' prior when a conditional G samples without a class. The true mode
    centres and std (``centers``, ``std``) stay for the metrics only; the clusters never see them.
    """

    def __init__(self, dist: PointDistribution, k: int, seed: int = 0, n_fit: int = POINT_FIT_SAMPLE):
        self.dist, self.k, self.seed = dist, int(k), int(seed)
        self.name, self.dim, self.centers, self.std = dist.name, dist.dim, dist.centers, dist.std
        fit = dist.sample(n_fit, torch.Generator().manual_seed(seed))  # (n_fit, dim)
        self.centroids = fit_point_clusters(fit, self.k, seed)  # (k, dim)
        self.labels = nearest_centroid(fit, self.centroids)  # (n_fit,)
        self.classes = [f"cluster{i}" for i in range(self.k)]

    @property
    def n_classes(self) -> int:
        return self.k

    def sample(self, n, generator=None):
        return self.dist.sample(n, generator)

    def sample_with_labels(self, n, generator=None):
        x = self.dist.sample(n, generator)  # (n, dim)
        return x, nearest_centroid(x, self.centroids)

    def log_prob(self, x):
        return self.dist.log_prob(x)

    def __repr__(self) -> str:
        return f"ClusteredPoints({self.dist!r}, k={self.k}, seed={self.seed})"


class CentroidLabelledD(nn.Module):
    """A conditional D on self-conditioned points that labels an unlabelled input by its nearest
    centroid: ``forward(x)`` is ``net(x, nearest_centroid(x))``, the question D is asked about x by
    the data stream (is x real, as a sample of the cluster it falls in?). The decision surface of
    the lab, the report and the D* comparison are drawn this way; training always passes labels.

    The centroids (k, dim) are a buffer, saved with D's weights, so a run's D labels points the
    same way when it is loaded without its data.
    """

    def __init__(self, net: nn.Module, centroids: torch.Tensor):
        super().__init__()
        self.net = net
        self.register_buffer("centroids", centroids.detach().clone().float())  # (k, dim)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None:
            labels = nearest_centroid(x, self.centroids)  # (B,) the cluster of each point
        return self.net(x, labels)
