"""The conditional vector and training-by-sampling (CTGAN, Xu et al. 2019, section 4.3).

The conditional vector c concatenates one one-hot block per discrete column; a draw sets exactly
one category of one column. In training the column is uniform and its category is drawn with
probability proportional to log(1 + frequency), so rare categories are asked for far more often
than they occur; the real batch D sees beside c then holds rows that have the asked category
(training-by-sampling). At generation time categories are drawn with their true frequency.

Everything is vectorised on the training device: a category is drawn by inverting its column's
cumulative distribution (one comparison against a uniform number per row, no per-row
multinomial), and the rows of each category are one sorted index array with offsets, so a batch
of real rows is three tensor lookups.
"""

from __future__ import annotations

import torch


class CondVector:
    """Draws conditional vectors for discrete columns with ``counts[j][k]`` rows of category k."""

    def __init__(self, counts: list[list[int]], device: torch.device | str = "cpu"):
        self.sizes = [len(c) for c in counts]
        self.n_columns = len(counts)
        self.dim = sum(self.sizes)  # width of c
        widest = max(self.sizes, default=0)
        freq = torch.zeros(self.n_columns, widest, dtype=torch.float64)  # (n_columns, widest), zero-padded
        for j, c in enumerate(counts):
            freq[j, : len(c)] = torch.tensor(c, dtype=torch.float64)
        self.log_probs = _normalise(torch.log1p(freq) * (freq > 0)).to(device)  # training-by-sampling
        self.probs = _normalise(freq).to(device)  # the data's own frequencies
        # cumulative distributions (n_columns, widest); the padding repeats the last value (~1)
        self._log_cdf, self._cdf = self.log_probs.cumsum(1), self.probs.cumsum(1)
        self._last = torch.tensor(self.sizes, dtype=torch.int64).to(device) - 1  # (n_columns,) last category
        self.offsets = torch.tensor([0] + self.sizes[:-1], dtype=torch.int64).cumsum(0).to(device)  # (n_columns,)
        self.device = torch.device(device)

    def draw(self, n: int, generator: torch.Generator, log_frequency: bool = True):
        """(c (n, dim), column (n,), category (n,)); None for a table without discrete columns."""
        if self.n_columns == 0:
            return None
        col = torch.randint(self.n_columns, (n,), generator=generator, device=generator.device).to(self.device)
        u = torch.rand(n, 1, generator=generator, device=generator.device, dtype=torch.float64).to(self.device)
        cdf = (self._log_cdf if log_frequency else self._cdf)[col]  # (n, widest)
        # inverse-CDF draw: the category is the number of cumulative probabilities below u; a
        # zero-probability category shares its predecessor's value and is never picked
        cat = torch.minimum((cdf < u).sum(1), self._last[col])  # (n,)
        return self.one_hot(col, cat), col, cat

    def one_hot(self, col: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        """c (n, dim) with category ``cat`` of column ``col`` set, per row."""
        c = torch.zeros(len(col), self.dim, device=self.device)
        c[torch.arange(len(col), device=self.device), self.offsets[col] + cat] = 1.0
        return c

    def fixed(self, n: int, column: int, category: int) -> torch.Tensor:
        """c (n, dim) asking for one category of one column in every row."""
        col = torch.full((n,), column, dtype=torch.int64, device=self.device)
        return self.one_hot(col, torch.full_like(col, category))


class RowIndex:
    """The training rows of each category of each discrete column, for training-by-sampling."""

    def __init__(self, codes: torch.Tensor, sizes: list[int]):
        # codes: (n_rows, n_columns) int64 category of every row in every discrete column
        n = codes.shape[0]
        device = codes.device
        offsets = torch.tensor([0] + sizes[:-1], dtype=torch.int64, device=device).cumsum(0)  # (m,)
        global_cat = (codes + offsets).T.reshape(-1)  # (m * n,): column-major, so column j's rows are a block
        order = torch.argsort(global_cat, stable=True)
        self.rows = order % n  # (m * n,) row numbers grouped by global category
        counts = torch.bincount(global_cat, minlength=sum(sizes))  # (n_categories,)
        self.start = counts.cumsum(0) - counts  # (n_categories,) where each category's rows begin
        self.count = counts
        self.offsets = offsets

    def draw(self, col: torch.Tensor, cat: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One random training row (index) having category ``cat`` of column ``col``, per entry."""
        g = self.offsets[col] + cat  # (n,) global category
        u = torch.rand(len(col), generator=generator, device=generator.device, dtype=torch.float64).to(col.device)
        pick = (u * self.count[g]).long().clamp_max(self.count[g] - 1)
        return self.rows[self.start[g] + pick]


def _normalise(w: torch.Tensor) -> torch.Tensor:
    return w / w.sum(1, keepdim=True).clamp_min(1e-12)
