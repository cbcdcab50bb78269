"""A table ready for the tabular game: its encoded rows, category codes and conditional layout."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch

from ganforge.tabular.transform import Span, TableTransformer


@dataclass
class TableData:
    """What the engine trains on for ``model.game tabular`` (built by :func:`encode_table`)."""

    name: str
    transformer: TableTransformer
    rows: torch.Tensor  # (n, dim) float32 encoded rows
    codes: torch.Tensor  # (n, n_discrete) int64 category of each discrete column

    def __len__(self) -> int:
        return self.rows.shape[0]

    def batch(self, index: torch.Tensor) -> tuple[torch.Tensor, None]:
        """Encoded rows at ``index`` (the engine's generic stream; the game samples by condition)."""
        return self.rows[index], None

    @property
    def cond_counts(self) -> list[list[int]]:
        """Rows per category of each discrete column, in the conditional vector's order."""
        return conditional_counts(self.transformer)

    @property
    def cond_spans(self) -> list[Span]:
        """The encoded spans of the discrete columns, one per block of the conditional vector."""
        return conditional_spans(self.transformer)

    @property
    def cond(self):
        from ganforge.tabular.sampler import CondVector

        return CondVector(self.cond_counts)


def conditional_counts(t: TableTransformer) -> list[list[int]]:
    return [list(c.counts) for c in t.codecs if c.discrete]


def conditional_spans(t: TableTransformer) -> list[Span]:
    return [spans[0] for c, spans in zip(t.codecs, t.column_spans) if c.discrete]


def encode_table(df: pd.DataFrame, transformer: TableTransformer, name: str = "table") -> TableData:
    """Encode every row of ``df`` with ``transformer`` (modes drawn with its seed)."""
    rows = torch.from_numpy(transformer.transform(df))
    codes = torch.from_numpy(transformer.discrete_codes(df))
    return TableData(name, transformer, rows, codes)
