"""scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes): no download needed.

The file ships inside scikit-learn (``sklearn/datasets/data/digits.csv.gz``: 64 pixel values in
0..16 then the label, one image per line). It is read directly, without importing scikit-learn.
"""

from __future__ import annotations

import gzip
import importlib.util
import zlib
from pathlib import Path

import numpy as np

from ganforge.errors import DataError

DIGITS_CLASSES = [str(d) for d in range(10)]


def digits_file() -> Path:
    """Path of scikit-learn's ``digits.csv.gz``; a DataError when scikit-learn is missing."""
    spec = importlib.util.find_spec("sklearn")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for base in locations:
        path = Path(base) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    raise DataError("dataset 'digits' needs scikit-learn, which bundles it: pip install scikit-learn")


def read_digits(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images (1797, 1, 8, 8) uint8 with 0..16 scaled to 0..255, and labels (1797,) int64."""
    path = path or digits_file()
    try:
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.float64)  # (N, 65)
    except (OSError, EOFError, zlib.error, ValueError) as e:
        raise DataError(f"{path} is truncated or corrupt ({e})") from None
    if table.ndim != 2 or table.shape[1] != 65:
        raise DataError(f"{path} should have 65 columns (64 pixels and a label), not shape {table.shape}")
    pixels, labels = table[:, :64], table[:, 64].astype(np.int64)
    images = np.rint(pixels * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
    return images.reshape(-1, 1, 8, 8), labels  # (N, 1, 8, 8), (N,)
