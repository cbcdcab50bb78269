"""Training on little data: a fixed, seeded, class-stratified fraction of an image dataset.

``data.fraction`` = f keeps round(f * N) of the N images (at least one). With labels, every class
keeps its share: class k with n_k images keeps f * N * n_k / N of them, rounded so that the counts
add up to round(f * N) (largest remainders, ties to the lower class index). The images of each class
are drawn by a generator seeded with ``data.fraction_seed`` alone, so the subset is the same in
every run with that seed (and in a resumed run, whose configuration holds it), whatever
``train.seed`` is: several training seeds then see the same images, as in data-efficiency studies
(Zhao et al. 2020 train on fixed 10% and 20% subsets of CIFAR-10).
"""

from __future__ import annotations

import torch

from ganforge.data.base import ImageDataset
from ganforge.errors import ConfigError


def stratified_counts(class_sizes: torch.Tensor, total: int) -> torch.Tensor:
    """How many of each class (K,) to keep so that they sum to ``total``, proportional to
    ``class_sizes`` (K,) (largest-remainder rounding; never more than a class has)."""
    n = int(class_sizes.sum())
    exact = class_sizes.double() * total / n  # (K,) ideal shares
    counts = exact.floor().long()
    short = total - int(counts.sum())
    if short > 0:
        remainder = exact - counts.double()
        # stable sort: equal remainders go to the lower class index first
        order = torch.sort(-remainder, stable=True).indices
        counts[order[:short]] += 1
    return torch.minimum(counts, class_sizes)


def choose_fraction(labels: torch.Tensor | None, n: int, fraction: float, seed: int) -> torch.Tensor:
    """Sorted indices of the kept images: round(fraction * n) (at least 1) of ``n``, stratified by
    ``labels`` (N,) when given, each class's images drawn with a generator seeded by ``seed``."""
    if not 0 < fraction <= 1:
        raise ConfigError(f"data.fraction must be in (0, 1], got {fraction}")
    total = max(1, round(fraction * n))
    g = torch.Generator().manual_seed(seed)
    if labels is None:
        return torch.randperm(n, generator=g)[:total].sort().values
    classes, sizes = torch.unique(labels, return_counts=True)  # (K,), (K,)
    counts = stratified_counts(sizes, total)
    picks = []
    for k, count in zip(classes.tolist(), counts.tolist()):
        members = (labels == k).nonzero().flatten()  # (n_k,) in dataset order
        picks.append(members[torch.randperm(len(members), generator=g)[:count]])
    return torch.cat(picks).sort().values


def fraction_subset(data: ImageDataset, fraction: float, seed: int) -> ImageDataset:
    """``data`` reduced to a seeded, class-stratified ``fraction`` of its images (see the module
    docstring); itself when ``fraction`` is 1."""
    if fraction >= 1:
        return data
    index = choose_fraction(data.labels, len(data), fraction, seed)
    info = {**data.info, "fraction": fraction, "fraction_seed": seed, "fraction_of": len(data)}
    return ImageDataset(name=data.name, images=data.images[index],
                        labels=data.labels[index] if data.labels is not None else None,
                        classes=data.classes, source_hash=data.source_hash, info=info)
