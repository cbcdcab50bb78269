"""When labels are scarce: a fixed, seeded, balanced labelled subset of a training split.

Semi-supervised learning (Salimans et al. 2016) and augmentation studies (Ravuri and Vinyals 2019)
pretend that only ``per_class`` examples of each class carry a label. :func:`choose_labelled`
picks them: the same ``per_class`` from every class, drawn by a generator seeded with ``seed``
alone, so that two runs (and a resumed run) see the same labelled set. The labelled examples come
from the training split only; :func:`check_disjoint` verifies that none of them appears among the
test images an accuracy is measured on, so the labels cannot leak into the evaluation.

:class:`LabelledStream` (the engine's :class:`~ganforge.data.streams.EpochStream`) gives shuffled
passes over the labelled subset; the unlabelled stream is the engine's usual pass over the whole
split.
"""

from __future__ import annotations

import hashlib

import torch

from ganforge.data.base import ImageDataset
from ganforge.data.streams import EpochStream
from ganforge.errors import DataError


def _require_labels(data, what: str) -> None:
    if getattr(data, "labels", None) is None or not getattr(data, "n_classes", 0):
        raise DataError(f"{what} needs a labelled dataset; {getattr(data, 'name', 'this data')!r} has no labels "
                        f"(use mnist, fashion-mnist, cifar10, digits or a folder with one sub-folder per class)")


def choose_labelled(labels: torch.Tensor, per_class: int, n_classes: int, seed: int) -> torch.Tensor:
    """Indices (n_classes * per_class,) of a balanced, seeded choice: ``per_class`` of each class.

    labels: (N,) int64 class of every training example. The choice depends on ``labels`` and
    ``seed`` alone; indices come back sorted by class, then by draw.
    """
    if per_class < 1:
        raise DataError(f"labels per class must be >= 1, got {per_class}")
    counts = torch.bincount(labels, minlength=n_classes)  # (n_classes,)
    empty = (counts == 0).nonzero().flatten().tolist()
    if empty:
        raise DataError(f"class(es) {', '.join(map(str, empty))} have no labelled example; every one of the "
                        f"{n_classes} classes needs at least {per_class}")
    if per_class > int(counts.min()):
        short = int(counts.argmin())
        raise DataError(f"{per_class} labels per class asked, but class {short} has only {int(counts[short])} "
                        f"examples; accepted: 1..{int(counts.min())}")
    g = torch.Generator().manual_seed(seed)
    picks = []
    for k in range(n_classes):
        members = (labels == k).nonzero().flatten()  # (count_k,) in dataset order
        picks.append(members[torch.randperm(len(members), generator=g)[:per_class]])
    return torch.cat(picks)


def labelled_subset(data: ImageDataset, per_class: int, seed: int) -> ImageDataset:
    """The balanced labelled subset of ``data`` (see :func:`choose_labelled`) as its own dataset."""
    _require_labels(data, "a labelled subset")
    index = choose_labelled(data.labels, per_class, data.n_classes, seed)
    info = {**data.info, "labels_per_class": per_class, "label_seed": seed, "labelled_of": len(data)}
    return ImageDataset(name=data.name, images=data.images[index], labels=data.labels[index],
                        classes=data.classes, source_hash=data.source_hash, info=info)


def image_hashes(images: torch.Tensor) -> set[str]:
    """sha256 of each image's bytes (N, ...) uint8: equal images, equal hashes."""
    flat = images.reshape(images.shape[0], -1).contiguous().numpy()
    return {hashlib.sha256(row.tobytes()).hexdigest() for row in flat}


def check_disjoint(labelled: ImageDataset, test: ImageDataset) -> None:
    """Raise DataError when any labelled image also appears in the test set (a leak)."""
    shared = image_hashes(labelled.images) & image_hashes(test.images)
    if shared:
        raise DataError(f"{len(shared)} labelled image(s) also appear in the test set: the labelled subset must "
                        f"come from the training split only")


# shuffled passes over the labelled subset, resumable like the engine's own stream of real batches
LabelledStream = EpochStream
