"""Reading a user's CSV safely: any size, any encoding, one line when it cannot be read.

The file is streamed in chunks of text, so a CSV of 10^7 rows never sits in memory whole: when it
has more than ``max_rows`` rows, a uniform random sample of ``max_rows`` rows is kept (each row
gets a seeded random key and the ``max_rows`` smallest keys survive, chunk by chunk), with a
warning. Bytes that are not UTF-8 are read as Latin-1 with a warning naming the first bad byte.
``?`` cells count as missing, as in the UCI datasets, beside pandas' usual missing markers.
After reading, a column whose every present value is a number becomes numeric (int64 when whole
and complete, else float64); anything else stays text, and kind inference decides the rest.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ganforge.errors import DataError

MAX_ROWS = 1_000_000  # default: larger tables are fitted on a random sample of this many rows
_CHUNK = 100_000


def read_csv(path: str | Path, max_rows: int = MAX_ROWS, seed: int = 0, encoding: str | None = None) -> pd.DataFrame:
    """The table in ``path`` (at most ``max_rows`` rows, sampled uniformly when it has more)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no CSV file at {path}")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty: a CSV needs a header line and at least one row")
    if encoding is None:
        encoding = "utf-8-sig"
        bad = _first_non_utf8(path)
        if bad is not None:
            warnings.warn(f"{path} is not UTF-8 (byte 0x{bad[1]:02x} at offset {bad[0]}); read as Latin-1 "
                          f"(--encoding chooses another)", stacklevel=2)
            encoding = "latin-1"
    rng = np.random.default_rng(seed)
    kept, keys, total = None, None, 0
    try:
        reader = pd.read_csv(path, dtype=str, encoding=encoding, skipinitialspace=True, na_values=["?"],
                             chunksize=_CHUNK)
        for chunk in reader:
            total += len(chunk)
            k = rng.random(len(chunk))
            if kept is None:
                kept, keys = chunk, k
            else:
                kept, keys = pd.concat([kept, chunk]), np.concatenate([keys, k])
            if len(kept) > max_rows:
                best = np.argpartition(keys, max_rows)[:max_rows]
                best.sort()  # keep the file's order among the sampled rows
                kept, keys = kept.iloc[best], keys[best]
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} holds no CSV header (it is blank)") from None
    except pd.errors.ParserError as e:
        raise DataError(f"{path} is not a well-formed CSV: {' '.join(str(e).split())}") from None
    except (UnicodeDecodeError, LookupError) as e:
        raise DataError(f"{path} cannot be read as {encoding}: {e}") from None
    if kept is None or len(kept) == 0:  # a header and no row
        n_columns = len(kept.columns) if kept is not None else len(pd.read_csv(path, nrows=0, encoding=encoding).columns)
        raise DataError(f"{path} has a header ({n_columns} columns) but no rows")
    if total > max_rows:
        warnings.warn(f"{path} has {total} rows; fitting on a uniform random sample of {max_rows} "
                      f"(--max-rows sets how many)", stacklevel=2)
    kept = kept.reset_index(drop=True)
    return pd.DataFrame({name: _as_numbers(kept[name]) for name in kept.columns})


def _first_non_utf8(path: Path, block: int = 1 << 20) -> tuple[int, int] | None:
    """(offset, byte) of the first byte that breaks UTF-8, or None; reads the file in blocks."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as f:
        while True:
            data = f.read(block)
            try:
                decoder.decode(data, final=not data)
            except UnicodeDecodeError as e:
                return offset + e.start, data[e.start] if e.start < len(data) else 0
            if not data:
                return None
            offset += len(data)


def _as_numbers(s: pd.Series) -> pd.Series:
    """``s`` as numbers when every present value is one, else unchanged text."""
    present = s.notna()
    if not present.any():
        return s
    x = pd.to_numeric(s, errors="coerce")
    if x[present].isna().any():
        return s
    if present.all() and np.all(np.isfinite(x)) and np.all(x == np.round(x)) and np.abs(x).max() < 2**63:
        return x.astype(np.int64)
    return x.astype(np.float64)
