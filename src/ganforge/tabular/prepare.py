"""Tables made comparable for evaluation: one spelling per value, and numeric encodings.

A real table read from CSV and a synthetic one written by another tool spell the same value in
different ways (``39`` and ``39.0``, ``True`` and ``true``, a date as text, a blank cell for a
missing value). :func:`normalise` gives both one spelling per column kind, so that the quality
scores, classifiers and distances compare values, not spellings. :func:`encode` turns rows into a
numeric matrix (continuous columns scaled, categorical ones one-hot) for the classifiers and the
distance to closest record.
"""

from __future__ import annotations

import numpy as np

from ganforge.tabular.columns import holds_text
from ganforge.tabular.quality import CONTINUOUS_KINDS

_MISSING = "\x00missing"  # the category a missing value of a categorical column becomes in encodings
_TRUE = {"true", "yes", "t", "y", "1", "1.0"}
_FALSE = {"false", "no", "f", "n", "0", "0.0"}


def normalise(frame, kinds: dict[str, str], datetime_formats: dict[str, str | None] | None = None):
    """A copy of ``frame`` with only the columns of ``kinds``, each in one spelling per kind:
    continuous/integer as float64, datetimes as pandas datetimes (text parsed with the given
    format), booleans as True/False objects, categories as text; blank text and unparseable
    values are missing (NaN)."""
    import pandas as pd

    datetime_formats = datetime_formats or {}
    out = {}
    for column, kind in kinds.items():
        s = frame[column]
        if holds_text(s):
            s = s.astype(object).map(lambda v: np.nan if isinstance(v, str) and not v.strip() else v)
        if kind in ("continuous", "integer"):
            out[column] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif kind == "datetime":
            fmt = datetime_formats.get(column)
            out[column] = pd.to_datetime(s, format=fmt, errors="coerce") if fmt else pd.to_datetime(s, errors="coerce")
        elif kind == "boolean":
            words = s.map(lambda v: v if pd.isna(v) else str(v).strip().lower())
            out[column] = words.map(lambda v: True if v in _TRUE else False if v in _FALSE else np.nan).astype(object)
        else:
            # numbers that are categories: 3 and 3.0 are one category
            out[column] = s.map(lambda v: v if pd.isna(v) else _category_text(v)).astype(object)
    return pd.DataFrame(out, index=frame.index)


def _category_text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def numeric(series) -> np.ndarray:
    """A normalised continuous column as float64 (datetimes as nanoseconds), missing as NaN."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        values = series.astype("int64").to_numpy(dtype="float64")
        values[series.isna().to_numpy()] = np.nan
        return values
    return series.to_numpy(dtype="float64", na_value=np.nan)


def categories(series) -> np.ndarray:
    """A normalised categorical column as text, missing values as one category of their own."""
    return np.array([_MISSING if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                     for v in series], dtype=object)


class Encoder:
    """Rows -> a float matrix, fitted on one table and applied to others.

    Continuous columns (``CONTINUOUS_KINDS``) are scaled with the fitted table's statistics:
    ``scale="standard"`` (mean 0, std 1; for classifiers) or ``"minmax"`` (its range to [0, 1];
    for distances); a missing value becomes the fitted mean (standard) or 0 (minmax) plus a 1 in
    a missing-indicator column, kept when the fitted table has missing values there. Categorical
    columns are one-hot over the fitted table's categories (missing is one), multiplied by
    ``onehot_weight``; an unseen category is all zeros.
    """

    def __init__(self, kinds: dict[str, str], scale: str = "standard", onehot_weight: float = 1.0,
                 dtype=np.float64):
        self.kinds = dict(kinds)
        self.scale = scale
        self.onehot_weight = onehot_weight
        self.dtype = dtype  # of the encoded matrix: float32 halves the memory of wide one-hot blocks
        self.stats: dict[str, tuple] = {}

    def fit(self, frame) -> Encoder:
        for column, kind in self.kinds.items():
            if kind in CONTINUOUS_KINDS:
                x = numeric(frame[column])
                present = x[~np.isnan(x)]
                if self.scale == "standard":
                    center = float(present.mean()) if len(present) else 0.0
                    spread = float(present.std()) if len(present) else 1.0
                else:
                    center = float(present.min()) if len(present) else 0.0
                    spread = float(present.max() - present.min()) if len(present) else 1.0
                self.stats[column] = ("num", center, spread if spread > 0 else 1.0, bool(np.isnan(x).any()))
            else:
                values = sorted(set(categories(frame[column])))
                self.stats[column] = ("cat", {v: i for i, v in enumerate(values)})
        return self

    @property
    def width(self) -> int:
        return sum((1 + s[3]) if s[0] == "num" else len(s[1]) for s in self.stats.values())

    def transform(self, frame) -> np.ndarray:
        """The encoded rows of ``frame``, shape (rows, width), of the encoder's dtype."""
        blocks = []
        for column, stat in self.stats.items():
            if stat[0] == "num":
                _, center, spread, indicator = stat
                x = numeric(frame[column])
                missing = np.isnan(x)
                # missing -> 0: the fitted mean after standard scaling, the minimum after minmax
                z = np.where(missing, 0.0, (np.nan_to_num(x) - center) / spread)
                blocks.append(z[:, None].astype(self.dtype))  # (rows, 1)
                if indicator:
                    blocks.append(missing[:, None].astype(self.dtype))
            else:
                index = stat[1]
                onehot = np.zeros((len(frame), len(index)), dtype=self.dtype)  # (rows, categories)
                codes = np.array([index.get(v, -1) for v in categories(frame[column])])
                seen = codes >= 0
                onehot[np.flatnonzero(seen), codes[seen]] = self.onehot_weight
                blocks.append(onehot)
        return np.concatenate(blocks, axis=1) if blocks else np.zeros((len(frame), 0), dtype=self.dtype)
