"""A table ready for the tabular game: its encoded rows, category codes and output layout.

The rows are already encoded (:func:`ganforge.tabular.transform.encode_table` builds a
:class:`TableData` from a DataFrame); this module only holds them, so the game reads tables the
way it reads any other data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class TableData:
    """What the engine trains on for ``model.game tabular``.

    ``spans`` describe the encoded vector: objects with ``start``, ``size`` and ``activation``
    ("tanh" for one scalar, "softmax" for a one-hot block), in order; ``cond_spans`` are the spans
    of the discrete columns, one per block of the conditional vector, and ``cond_counts`` their
    rows per category. ``transformer`` (anything with ``inverse(rows) -> DataFrame``) turns
    encoded rows back into a table for the training pictures.
    """

    name: str
    rows: torch.Tensor  # (n, dim) float32 encoded rows
    codes: torch.Tensor  # (n, n_discrete) int64 category of each discrete column
    spans: list = field(default_factory=list)
    cond_spans: list = field(default_factory=list)
    cond_counts: list[list[int]] = field(default_factory=list)
    transformer: object = None

    def __len__(self) -> int:
        return self.rows.shape[0]

    @property
    def dim(self) -> int:
        """Width of one encoded row."""
        return self.rows.shape[1]

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Encoded rows at ``index`` (the engine's generic stream; the game samples by condition)."""
        return self.rows[index], None

    @property
    def cond(self):
        """The conditional vector of this table's discrete columns (on the CPU)."""
        from ganforge.data.table_sampler import CondVector

        return CondVector(self.cond_counts)
