"""Privacy: does the synthetic table copy, or sit too close to, rows of the training table?

Two figures, the usual ones for synthetic tables (e.g. Zhao et al. 2021, CTAB-GAN, "distance to
closest record"; SDMetrics' DCR metrics):

* **Distance to closest record (DCR)**: for each synthetic row, the Euclidean distance to the
  nearest training row; the same for real hold-out rows, which the model never saw. Real hold-out
  rows are as close to the training rows as fresh draws from the same population are, so
  synthetic rows markedly closer than them (a median DCR ratio synthetic/hold-out well below 1)
  point at memorised rows.
* **Exact copies**: the share of synthetic rows equal, in every evaluated column, to some training
  row; beside it the same share for the hold-out rows (tables such as Adult hold duplicate people,
  so it is not 0 for real data either).

The encoding for distances (:class:`~ganforge.tabular.prepare.Encoder` with ``scale="minmax"``):
each continuous column scaled by the training rows' range to [0, 1] (a missing value at 0 plus a
missing indicator); each categorical column one-hot times 1/sqrt(2), so two different categories
are at distance exactly 1, as far apart as a column's minimum and maximum.
"""

from __future__ import annotations

import math

import numpy as np

from ganforge.tabular.prepare import Encoder, categories, numeric
from ganforge.tabular.quality import CONTINUOUS_KINDS

_CHUNK = 256  # query rows per distance block: a (256, training rows) matrix at a time


def closest_distances(queries: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """For each row of ``queries`` (q, d) the Euclidean distance to its nearest row of
    ``reference`` (r, d); shape (q,)."""
    ref_sq = np.einsum("ij,ij->i", reference, reference)  # (r,)
    out = np.empty(len(queries))
    for start in range(0, len(queries), _CHUNK):
        block = queries[start:start + _CHUNK]  # (c, d)
        # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b finds the nearest row fast; its rounding error would
        # hide exact copies, so the distance to that row is then computed directly
        sq = np.einsum("ij,ij->i", block, block)[:, None] + ref_sq[None, :] - 2.0 * block @ reference.T  # (c, r)
        nearest = reference[sq.argmin(axis=1)]  # (c, d)
        out[start:start + _CHUNK] = np.sqrt(((block - nearest) ** 2).sum(axis=1))
    return out


def _row_hashes(frame, kinds: dict[str, str]) -> np.ndarray:
    """One 64-bit hash per row of a normalised frame, equal for rows equal in every column."""
    import pandas as pd

    columns = {}
    for column, kind in kinds.items():
        if kind in CONTINUOUS_KINDS:
            columns[column] = numeric(frame[column])  # NaN hashes equal to NaN
        else:
            columns[column] = categories(frame[column])
    return pd.util.hash_pandas_object(pd.DataFrame(columns), index=False).to_numpy()


def exact_copy_share(train, rows, kinds: dict[str, str]) -> float:
    """Share of ``rows`` equal in every column of ``kinds`` to some row of ``train``."""
    if len(rows) == 0:
        return math.nan
    return float(np.isin(_row_hashes(rows, kinds), _row_hashes(train, kinds)).mean())


def _sample(frame, n: int, rng: np.random.Generator):
    if n <= 0 or len(frame) <= n:
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), n, replace=False))]


def _summary(d: np.ndarray) -> dict:
    if len(d) == 0:
        return {"median": math.nan, "p5": math.nan, "mean": math.nan, "zero_share": math.nan}
    return {"median": float(np.median(d)), "p5": float(np.percentile(d, 5)), "mean": float(d.mean()),
            "zero_share": float(np.mean(d == 0))}


MAX_REFERENCE_ROWS = 50_000  # training rows DCRs are measured against (Adult's 32,561 all count)


def privacy(train, synth, kinds: dict[str, str], holdout=None, max_rows: int = 5000, seed: int = 0,
            keep_distances: bool = False, max_reference_rows: int = MAX_REFERENCE_ROWS) -> dict:
    """DCR and exact copies of ``synth`` against ``train``, beside those of ``holdout`` when given
    (all normalised frames, see :func:`ganforge.tabular.prepare.normalise`).

    DCRs are computed for at most ``max_rows`` synthetic and hold-out rows (drawn with ``seed``;
    0: all) against at most ``max_reference_rows`` training rows (a uniform sample of a larger
    table, which can only lengthen distances, and lengthens synthetic and hold-out ones alike, so
    their ratio stays comparable; 0: all); exact copies are counted over all rows. Returns
    ``{"encoding", "synthetic": {"median", "p5", "mean", "zero_share"}, "holdout": {...} or None,
    "median_ratio", "exact_copies", "exact_copies_holdout", "rows"}`` (``median_ratio`` =
    synthetic median DCR / hold-out median DCR), plus the sampled distances under
    ``"distances"`` when ``keep_distances``.
    """
    rng = np.random.default_rng(seed)
    encoder = Encoder(kinds, scale="minmax", onehot_weight=1.0 / math.sqrt(2.0), dtype=np.float32).fit(train)
    reference_rows = _sample(train, max_reference_rows, rng)
    reference = encoder.transform(reference_rows)  # (n_reference, d)
    synth_rows = _sample(synth, max_rows, rng)
    d_synth = closest_distances(encoder.transform(synth_rows), reference)
    out = {"encoding": "continuous: min-max by the training range; categorical: one-hot / sqrt(2); Euclidean",
           "synthetic": _summary(d_synth), "holdout": None, "median_ratio": math.nan,
           "exact_copies": exact_copy_share(train, synth, kinds), "exact_copies_holdout": None,
           "rows": {"synthetic": len(synth_rows), "holdout": 0, "train": len(reference_rows)}}
    distances = {"synthetic": d_synth}
    if holdout is not None and len(holdout):
        holdout_rows = _sample(holdout, max_rows, rng)
        d_holdout = closest_distances(encoder.transform(holdout_rows), reference)
        distances["holdout"] = d_holdout
        out["holdout"] = _summary(d_holdout)
        out["rows"]["holdout"] = len(holdout_rows)
        out["exact_copies_holdout"] = exact_copy_share(train, holdout, kinds)
        h = out["holdout"]["median"]
        out["median_ratio"] = out["synthetic"]["median"] / h if h > 0 else math.nan
    if keep_distances:
        out["distances"] = distances
    return out
