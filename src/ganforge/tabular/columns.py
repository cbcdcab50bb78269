"""What each column of a table is: its kind, its missing rate, and how to write it back.

:func:`infer_metadata` looks at a pandas DataFrame and decides, per column, one of five kinds:

* ``continuous``: real numbers (mode-specific normalisation in the transformer);
* ``integer``: whole numbers, generated like continuous ones and rounded;
* ``categorical``: a finite set of values (strings, or numbers the user declares categorical);
* ``boolean``: true/false (pandas bool, or the words true/false);
* ``datetime``: points in time (pandas datetimes, or strings that all parse as dates).

Columns that cannot be learned are dropped with a reason: a column with no value at all, and a
text column with more than ``max_categories`` distinct values or one distinct value per row (an
identifier, such as a name or a record number: a GAN can only copy or invent those). The result
is a :class:`Metadata`, written as JSON in the run directory and accepted from the user
(:func:`load_metadata`) to override what was inferred.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ganforge.errors import ConfigError, DataError

KINDS = ("continuous", "integer", "categorical", "boolean", "datetime")
MAX_CATEGORIES = 1000  # more distinct text values than this: an identifier, dropped
FORMAT = "ganforge-table-metadata/1"
_TRUE = {"true", "yes", "t", "y"}
_FALSE = {"false", "no", "f", "n"}


@dataclass
class ColumnMeta:
    """One column: its name, kind, share of missing values and the pandas dtype it came as."""

    name: str
    kind: str  # one of KINDS
    missing_rate: float = 0.0  # share of rows where the value is missing (NaN, None, NaT, empty)
    dtype: str = ""  # the input's pandas dtype, restored on the synthetic rows ("" = the kind's default)
    datetime_format: str | None = None  # datetimes that came as text: strftime format to write them back

    def to_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "missing_rate": self.missing_rate, "dtype": self.dtype,
                "datetime_format": self.datetime_format}


@dataclass
class Metadata:
    """Every kept column in order, the dropped ones with their reason, and the optional target."""

    columns: list[ColumnMeta]
    dropped: dict[str, str] = field(default_factory=dict)  # column name -> why it was dropped
    target: str | None = None  # the column a downstream model predicts (kept, and kept discrete)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnMeta:
        """The column called ``name`` (a ConfigError listing the kept columns otherwise)."""
        for c in self.columns:
            if c.name == name:
                return c
        why = f" (dropped: {self.dropped[name]})" if name in self.dropped else ""
        raise ConfigError(f"no column {name!r} in this table{why}; columns: {', '.join(self.names)}")

    def kinds(self) -> dict[str, str]:
        """Column name -> kind, for every kept column."""
        return {c.name: c.kind for c in self.columns}

    def to_dict(self) -> dict:
        return {"format": FORMAT, "columns": [c.to_dict() for c in self.columns], "dropped": dict(self.dropped),
                "target": self.target}

    def to_json(self, path: str | Path | None = None) -> str:
        """The metadata as JSON text; also written atomically to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=2) + "\n"
        if path is not None:
            from ganforge.fileio import atomic_write_text

            atomic_write_text(path, text)
        return text

    @classmethod
    def from_json(cls, source: str | Path | dict) -> Metadata:
        """Metadata from a JSON file path or an already parsed dict, every field checked."""
        if isinstance(source, dict):
            return _parse(source, "metadata")
        return load_metadata(source)

    def describe(self) -> str:
        """What was inferred, one line per column, as ``tabular fit`` prints it."""
        lines = []
        for c in self.columns:
            missing = f", {c.missing_rate:.1%} missing" if c.missing_rate > 0 else ""
            target = "  (target)" if c.name == self.target else ""
            lines.append(f"  {c.name}: {c.kind}{missing}{target}")
        for name, why in self.dropped.items():
            lines.append(f"  {name}: dropped ({why})")
        return "\n".join(lines)


def load_metadata(path: str | Path) -> Metadata:
    """A user's metadata JSON, checked: a one-line ConfigError names the first thing wrong.

    Accepted: ``{"columns": [{"name": ..., "kind": ...}, ...]}`` with optional ``missing_rate``,
    ``dtype``, ``datetime_format`` per column and optional ``dropped`` and ``target``; or the
    shorter ``{"columns": {"name": "kind", ...}}``.
    """
    path = Path(path)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"metadata file {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"metadata file {path} is not valid JSON ({e})") from None
    return _parse(d, f"metadata file {path}")


def _parse(d, where: str) -> Metadata:
    if not isinstance(d, dict) or "columns" not in d:
        raise ConfigError(f"{where} must be a JSON object with a 'columns' list")
    cols = d["columns"]
    if isinstance(cols, dict):  # the short form {"name": "kind"}
        cols = [{"name": k, "kind": v} for k, v in cols.items()]
    if not isinstance(cols, list) or not cols:
        raise ConfigError(f"{where}: 'columns' must be a non-empty list of {{name, kind}} objects")
    out, seen = [], set()
    for i, c in enumerate(cols):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c["name"]:
            raise ConfigError(f"{where}: column {i} needs a 'name' (text)")
        name, kind = c["name"], c.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{where}: column {name!r} has kind {kind!r}; accepted kinds: {', '.join(KINDS)}")
        if name in seen:
            raise ConfigError(f"{where}: column {name!r} is listed twice")
        seen.add(name)
        rate = c.get("missing_rate", 0.0)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (0 <= rate <= 1):
            raise ConfigError(f"{where}: column {name!r} missing_rate must be a number in [0, 1], got {rate!r}")
        dtype, fmt = c.get("dtype", ""), c.get("datetime_format")
        if not isinstance(dtype, str) or (fmt is not None and not isinstance(fmt, str)):
            raise ConfigError(f"{where}: column {name!r} dtype and datetime_format must be text")
        out.append(ColumnMeta(name, kind, float(rate), dtype, fmt))
    dropped = d.get("dropped") or {}
    target = d.get("target")
    if not isinstance(dropped, dict) or not all(isinstance(v, str) for v in dropped.values()):
        raise ConfigError(f"{where}: 'dropped' must map column names to reasons")
    if target is not None and target not in seen:
        raise ConfigError(f"{where}: target {target!r} is not one of its columns")
    return Metadata(out, dict(dropped), target)


def infer_metadata(df: pd.DataFrame, target: str | None = None, max_categories: int = MAX_CATEGORIES,
                   warn: bool = True) -> Metadata:
    """Each column's kind and missing rate (see the module docstring for the rules).

    ``target`` names the column a downstream model predicts: it must exist, and it is never
    dropped as an identifier. Columns that mix numbers and text are treated as categorical with a
    warning (``warn``). Raises DataError for a table without rows or without a learnable column.
    """
    if df.shape[1] == 0:
        raise DataError("the table has no columns")
    if len(df) == 0:
        raise DataError(f"the table has a header ({df.shape[1]} columns) but no rows")
    if target is not None and target not in df.columns:
        raise ConfigError(f"--target {target!r} names no column; columns: {', '.join(map(str, df.columns))}")
    columns, dropped = [], {}
    for name in df.columns:
        s = df[name]
        if not isinstance(name, str):
            raise DataError(f"column names must be text; got {name!r} (read the table with a header row)")
        missing = _missing_mask(s)
        rate = float(missing.mean())
        if rate == 1.0:
            dropped[name] = "every value is missing"
            continue
        kind, fmt, note = _infer_kind(s[~missing])
        if note and warn:
            warnings.warn(f"column {name!r} {note}; treated as categorical", stacklevel=2)
        if kind == "categorical" and name != target:
            n_unique = s[~missing].astype(str).nunique()
            if n_unique > max_categories:
                dropped[name] = (f"an identifier: {n_unique} distinct values, more than {max_categories}; "
                                 f"declare it in a metadata file to keep it")
                continue
            if n_unique == int((~missing).sum()) and n_unique >= 50:
                dropped[name] = f"an identifier: every one of its {n_unique} values is distinct"
                continue
        if name == target and kind in ("continuous", "integer", "datetime") and s.nunique() <= 32:
            kind = "categorical"  # a classification target: its classes, not a smoothed number
        columns.append(ColumnMeta(name, kind, rate, str(s.dtype), fmt))
    if not columns:
        raise DataError("no column can be learned: " + "; ".join(f"{k}: {v}" for k, v in dropped.items()))
    return Metadata(columns, dropped, target)


def holds_text(s: pd.Series) -> bool:
    """Whether ``s`` can hold text cells: object columns, and pandas' string dtype (the default for
    text from pandas 3 on, where a column of strings is no longer ``object``)."""
    return s.dtype == object or isinstance(s.dtype, pd.StringDtype)


def _missing_mask(s: pd.Series) -> np.ndarray:
    """True where a value is missing: NaN, None, NaT, or empty/blank text."""
    missing = s.isna().to_numpy()
    if holds_text(s):
        blank = s.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
        missing = missing | blank
    return missing


def _infer_kind(s: pd.Series) -> tuple[str, str | None, str]:
    """(kind, datetime format or None, a warning or "") of the non-missing values ``s``."""
    if pd.api.types.is_bool_dtype(s):
        return "boolean", None, ""
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime", None, ""
    if pd.api.types.is_numeric_dtype(s):
        return _numeric_kind(s.to_numpy(dtype=np.float64)), None, ""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return "categorical", None, ""
    values = s.astype(str).str.strip()
    low = set(values.str.lower().unique())
    if low <= (_TRUE | _FALSE) and low & _TRUE and low & _FALSE:
        return "boolean", None, ""
    numbers = pd.to_numeric(values, errors="coerce")
    n_num = int(numbers.notna().sum())
    if n_num == len(values):
        return _numeric_kind(numbers.to_numpy(dtype=np.float64)), None, ""
    fmt = _datetime_format(values)
    if fmt is not None:
        return "datetime", fmt, ""
    if n_num > 0 and n_num >= 0.05 * len(values):
        return "categorical", None, f"mixes numbers ({n_num} values) and text ({len(values) - n_num} values)"
    return "categorical", None, ""


def _numeric_kind(x: np.ndarray) -> str:
    finite = x[np.isfinite(x)]
    if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max() < 2**53:
        return "integer"
    return "continuous"


_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y",
                 "%Y-%m-%d %H:%M", "%d.%m.%Y")


def _datetime_format(values: pd.Series) -> str | None:
    """The strftime format every one of ``values`` follows (tried on a sample first), or None."""
    probe = values.iloc[: 200]
    for fmt in _DATE_FORMATS:
        if (pd.to_datetime(probe, format=fmt, errors="coerce").notna().all()
                and pd.to_datetime(values, format=fmt, errors="coerce").notna().all()):
            return fmt
    return None
