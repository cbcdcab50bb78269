"""The IDX file format of MNIST and Fashion-MNIST, read and written with numpy.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order, big-endian. The canonical
files are gzip-compressed; both compressed and plain files are read.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from ganforge.errors import DataError
from ganforge.fileio import atomic_write_bytes

# type code -> numpy dtype (big-endian where it matters)
IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into an array in native byte order.

    A file that is not IDX, truncated, or has trailing bytes raises a DataError naming it.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror or e}") from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
            raise DataError(f"{path} is a truncated or corrupt gzip file ({e})") from None
    return parse_idx(raw, str(path))


def parse_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file; ``name`` is used in error messages."""
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in IDX_DTYPES:
        raise DataError(f"{name} is not an IDX file (magic number {raw[:4].hex() or 'missing'})")
    dtype, ndim = IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name} is truncated: its header needs {header} bytes, the file has {len(raw)}")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "corrupt (trailing bytes)"
        raise DataError(f"{name} is {what}: {len(raw)} bytes, expected {expected} for shape {shape}")
    values = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (atomically); gzip-compressed when ``path`` ends in ``.gz``."""
    array = np.asarray(array)
    code = next((c for c, dt in IDX_DTYPES.items() if dt.kind == array.dtype.kind
                 and dt.itemsize == array.dtype.itemsize), None)
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    path = Path(path)
    atomic_write_bytes(path, gzip.compress(raw, mtime=0) if path.suffix == ".gz" else raw)


def read_idx_pair(images_path: Path, labels_path: Path, n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Read an MNIST-style pair: images (N, 1, H, W) uint8 and labels (N,) int64 in [0, n_classes)."""
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DataError(f"{images_path} should hold uint8 images (N, H, W), not {images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(f"{labels_path} should hold uint8 labels (N,), not {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    if labels.size and labels.max() >= n_classes:
        raise DataError(f"{labels_path} has label {labels.max()}; expected 0..{n_classes - 1}")
    return images[:, None], labels.astype(np.int64)  # (N, 1, H, W), (N,)
