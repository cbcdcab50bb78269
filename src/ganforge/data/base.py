"""The two kinds of data ganforge trains on.

* :class:`ImageDataset`: a finite set of images decoded once into a uint8 tensor, with optional
  labels. Batches are converted to float in [-1, 1] on the fly.
* :class:`PointDistribution` (in :mod:`ganforge.data.mixtures`): a 2D/N-D distribution that can be
  sampled without end, with known mode centres where it has them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class ImageDataset:
    name: str  # dataset name, e.g. "mnist" or "folder"
    images: torch.Tensor  # (N, C, H, W) uint8, the whole dataset decoded once
    labels: torch.Tensor | None = None  # (N,) int64 class indices, or None when unlabelled
    classes: list[str] | None = None  # class names, index -> name
    source_hash: str = ""  # sha256 over the source files (provenance for metrics)
    info: dict = field(default_factory=dict)  # free-form facts: split, resize method, origin

    @property
    def n_classes(self) -> int:
        return len(self.classes) if self.classes else 0

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])

    def __len__(self) -> int:
        return self.images.shape[0]

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Images at ``index`` as float in [-1, 1] (B, C, H, W), and their labels (B,) or None."""
        x = self.images[index].float().div_(127.5).sub_(1.0)
        y = self.labels[index] if self.labels is not None else None
        return x, y


def is_point_data(data) -> bool:
    """True for point distributions (sampled without end, with a ``dim``), False for image datasets.

    The one test of "is this point data?" that the engine, metrics, diagnostics and commands share.
    """
    return not isinstance(data, ImageDataset) and hasattr(data, "sample") and hasattr(data, "dim")
