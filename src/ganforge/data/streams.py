"""Resumable streams of real batches.

A stream's whole position is in ``state_dict()``, so a resumed run sees exactly the batches the
uninterrupted run would have seen. The engine picks one per run
(:func:`ganforge.engine.batches.make_stream`); games that need a second stream (the labelled
examples of semi-supervised learning) make their own.
"""

from __future__ import annotations

import torch

from ganforge.data.base import ImageDataset
from ganforge.data.mixtures import PointDistribution


class PointStream:
    """Fresh samples from a point distribution on every call, from a dedicated generator."""

    def __init__(self, dist: PointDistribution, seed: int):
        self.dist = dist
        self.generator = torch.Generator().manual_seed(seed)

    def next(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``n`` fresh points (n, dim) and their cluster labels (n,) when self-conditioned, else None."""
        return self.dist.sample_with_labels(n, self.generator)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])


class EpochStream:
    """Shuffled passes over a finite dataset; each epoch's order comes from (seed, epoch) alone."""

    def __init__(self, data: ImageDataset, seed: int):
        self.data, self.seed = data, seed
        self.epoch, self.position = 0, 0
        self._order = self._permutation(0)

    def _permutation(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) % 2**63)  # any 64-bit train.seed
        return torch.randperm(len(self.data), generator=g)

    def next(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next ``n`` examples; a batch that crosses an epoch end continues into the next epoch."""
        parts = []
        while n > 0:
            if self.position >= len(self._order):
                self.epoch, self.position = self.epoch + 1, 0
                self._order = self._permutation(self.epoch)
            take = self._order[self.position : self.position + n]
            parts.append(take)
            self.position += len(take)
            n -= len(take)
        return self.data.batch(torch.cat(parts))

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._order = self._permutation(self.epoch)
