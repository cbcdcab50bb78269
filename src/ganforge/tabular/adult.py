"""UCI Adult (census income), the standard benchmark table of tabular GANs (CTGAN/TVAE, SDGym).

The canonical files are ``adult/adult.data`` (32,561 training rows) and ``adult/adult.test``
(16,281 test rows), looked up like every named dataset (``--data-dir``, ``$GANFORGE_DATA``, the
user cache) and downloaded with ``ganforge data fetch adult``. Both are comma-and-space separated
without a header; ``?`` marks a missing value; the test file starts with a ``|1x3 Cross
validator`` line and writes its labels with a trailing full stop (``<=50K.``), which is dropped
here so both splits share one label set.
"""

from __future__ import annotations

import io
from pathlib import Path

from ganforge.data import sources
from ganforge.errors import DataError

# The column names of adult.names, in file order; "income" is the label.
ADULT_COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
)
ADULT_CONTINUOUS = ("age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week")
ADULT_TARGET = "income"
ADULT_ROWS = {"train": 32561, "test": 16281}


def adult_path(split: str = "train", data_dir=None) -> Path:
    """The file holding ``split`` ("train": adult.data, "test": adult.test), looked up as every
    named dataset is; a missing file is one DataError line saying how to fetch it."""
    if split not in ADULT_ROWS:
        raise DataError(f"unknown Adult split {split!r}; valid splits: train, test")
    located = sources.locate("adult", split, data_dir)
    return located.files[0][1]


def load_adult(split: str = "train", data_dir=None):
    """UCI Adult's ``split`` ("train" or "test") as a pandas DataFrame.

    Columns are :data:`ADULT_COLUMNS`: the six continuous ones as int64, the others as strings
    (object dtype) with surrounding spaces stripped and ``?`` read as missing (NaN); ``income`` is
    ``"<=50K"`` or ``">50K"`` in both splits.
    """
    import pandas as pd

    path = adult_path(split, data_dir)
    try:
        text = path.read_text(encoding="ascii")
    except (UnicodeDecodeError, OSError) as e:
        raise DataError(f"{path} is not the UCI Adult file ({e}); delete it and run `ganforge data fetch adult`") from None
    if text.startswith("|"):  # adult.test: "|1x3 Cross validator"
        text = text.split("\n", 1)[1] if "\n" in text else ""
    try:
        frame = pd.read_csv(
            io.StringIO(text), header=None, names=list(ADULT_COLUMNS), skipinitialspace=True,
            na_values=["?"], keep_default_na=False, skip_blank_lines=True,
            dtype={c: "int64" for c in ADULT_CONTINUOUS},
        )
    except (ValueError, pd.errors.ParserError) as e:
        raise DataError(f"{path} is not the UCI Adult file ({' '.join(str(e).split())}); "
                        f"run `ganforge data verify adult`") from None
    for column in frame.columns.difference(ADULT_CONTINUOUS):
        frame[column] = frame[column].str.strip()
    frame[ADULT_TARGET] = frame[ADULT_TARGET].str.rstrip(".")
    labels = set(frame[ADULT_TARGET].dropna().unique())
    if labels - {"<=50K", ">50K"}:
        raise DataError(f"{path} is not the UCI Adult file: income labels {sorted(labels)}, "
                        f"expected <=50K and >50K; run `ganforge data verify adult`")
    return frame
