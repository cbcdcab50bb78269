"""CIFAR-10 in its three accepted forms.

* binary version (``cifar-10-binary.tar.gz`` or ``cifar-10-batches-bin/``): records of one label
  byte then 3072 pixel bytes (1024 R, 1024 G, 1024 B, row-major 32x32), 10000 per batch file;
* python version (``cifar-10-python.tar.gz`` or ``cifar-10-batches-py/``): pickled dicts, read
  only through :func:`restricted_loads`, which rebuilds numpy arrays and refuses every other
  global, so a crafted file cannot run code;
* JPEG archive (``cifar10-jpeg.tar.gz``, ``train/<class>/NNNN.jpg``): decoded by
  :mod:`ganforge.data.folders`; lossy, for development only.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ganforge.data import folders
from ganforge.errors import DataError

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
_PIXELS = 3 * 32 * 32
_RECORD = 1 + _PIXELS
_PER_BATCH = 10000


def batch_names(split: str, suffix: str) -> list[str]:
    """File names of the batches making up ``split`` (``suffix`` is ".bin" or "")."""
    if split == "train":
        return [f"data_batch_{i}{suffix}" for i in range(1, 6)]
    return [f"test_batch{suffix}"]


def parse_binary_batch(raw: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One binary batch: images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    if len(raw) == 0 or len(raw) % _RECORD:
        raise DataError(f"{name} is truncated or corrupt: {len(raw)} bytes is not a whole number of "
                        f"{_RECORD}-byte CIFAR-10 records")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _RECORD)  # (N, 1 + 3072)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DataError(f"{name} has label {labels.max()}; CIFAR-10 labels are 0..9")
    images = records[:, 1:].reshape(-1, 3, 32, 32).copy()  # channel planes are already C, H, W
    return images, labels


# --------------------------------------------------------------------------- restricted pickles


def _numpy_reconstruct():
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


# The only globals a pickled numpy array needs (pickles written by numpy 1.x name the module
# numpy.core.multiarray, numpy 2.x numpy._core.multiarray).
_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")}
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
}


class _Refused(pickle.UnpicklingError):
    """The pickle asks for something outside the allowed globals, or for an impossible array."""


def _array_bytes(shape, dtype, budget: int) -> int:
    """Bytes of an array of ``shape`` and ``dtype``, refused before anything is allocated when
    the pickle could not hold that much data (it is ``budget`` bytes long) or holds objects."""
    try:
        dtype = np.dtype(dtype)
        dims = [int(d) for d in (shape if isinstance(shape, (tuple, list)) else (shape,))]
    except (TypeError, ValueError) as e:
        raise _Refused(f"it declares an array with shape {shape!r} and dtype {dtype!r} ({e})") from None
    if dtype.hasobject:  # object arrays hold arbitrary Python objects; numpy can crash on bad ones
        raise _Refused("it declares an array of Python objects")
    if any(d < 0 for d in dims):
        raise _Refused(f"it declares an array of negative shape {tuple(dims)}")
    n = dtype.itemsize
    for d in dims:  # Python ints: no overflow on a lying shape
        n *= d
    if n > budget:
        raise _Refused(f"it declares an array of {n} bytes, more than the whole file holds ({budget} bytes)")
    return n


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Rebuilds numpy arrays and plain containers only. Every array's declared size is checked
    against the pickle's own length before numpy allocates it: the pixels of an array are stored
    in the pickle, so a larger array can only be a forged file (a 48-byte file could otherwise
    ask for gigabytes)."""

    def __init__(self, file, budget: int, **kwargs):
        super().__init__(file, **kwargs)

        class Checked(np.ndarray):  # the array being unpickled, until its state is checked
            def __setstate__(self, state):
                if not isinstance(state, tuple) or len(state) not in (4, 5):
                    raise _Refused("it has an array state numpy does not write")
                shape, dtype, _, raw = state[-4:]
                if not isinstance(dtype, np.dtype):
                    raise _Refused(f"it has an array whose dtype is a {type(dtype).__name__}")
                n = _array_bytes(shape, dtype, budget)
                if not isinstance(raw, (bytes, bytearray, str)) or len(raw) != n:
                    raise _Refused("it has an array whose data does not match its shape")
                super().__setstate__(state)

        def reconstruct(subtype, shape, dtype):
            if subtype is not np.ndarray:
                raise _Refused(f"it rebuilds a {getattr(subtype, '__name__', subtype)!r}, not a numpy array")
            _array_bytes(shape, dtype, budget)
            return _numpy_reconstruct()(Checked, shape, dtype)

        self._reconstruct = reconstruct

    def find_class(self, module, name):
        if (module, name) in _RECONSTRUCT:
            return self._reconstruct
        if (module, name) not in _ALLOWED_GLOBALS:
            raise _Refused(f"it references {module}.{name}, which is not a numpy array global")
        return _ALLOWED_GLOBALS[(module, name)]()

    def persistent_load(self, pid):
        raise _Refused("it uses persistent ids")


def _plain(obj):
    """``obj`` with every checked array turned back into a plain ndarray (containers walked)."""
    if isinstance(obj, np.ndarray):
        return np.asarray(obj)  # a view as the base class, no copy
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_plain(v) for v in obj)
    return obj


def restricted_loads(raw: bytes, name: str = "pickle"):
    """Unpickle ``raw`` allowing nothing but plain containers and numpy arrays.

    Anything else (``os.system``, ``builtins.eval``, any class, object arrays, arrays larger than
    ``raw`` itself) raises a DataError naming ``name``. ``encoding="latin1"`` reads the Python 2
    pickles of the canonical CIFAR-10 files.
    """
    try:
        return _plain(_ArrayOnlyUnpickler(io.BytesIO(raw), len(raw), encoding="latin1").load())
    except _Refused as e:
        raise DataError(f"refusing to load {name}: {e}") from None
    except Exception as e:  # a damaged pickle can fail in many ways; all mean the same here
        raise DataError(f"{name} is truncated or corrupt ({type(e).__name__}: {e})") from None


def parse_python_batch(raw: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One python-version batch: images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    batch = restricted_loads(raw, name)
    if not isinstance(batch, dict):
        raise DataError(f"{name} is not a CIFAR-10 batch (a {type(batch).__name__}, not a dict)")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _PIXELS:
        raise DataError(f"{name} is not a CIFAR-10 batch: 'data' should be a uint8 array (N, {_PIXELS})")
    labels = np.asarray(labels if labels is not None else [], dtype=np.int64)
    if labels.shape != (data.shape[0],) or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise DataError(f"{name} is not a CIFAR-10 batch: 'labels' should be {data.shape[0]} ints in 0..9")
    return data.reshape(-1, 3, 32, 32).copy(), labels


# ----------------------------------------------------------------------------------- readers


def _members(archive: Path, wanted: list[str]) -> dict[str, bytes]:
    """Bytes of the archive members whose base names are in ``wanted``, in one pass."""
    out = {}
    try:
        with tarfile.open(archive, mode="r:*") as tf:
            for member in tf:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in wanted:
                    out[base] = tf.extractfile(member).read()
    except (tarfile.TarError, zlib.error, EOFError, OSError) as e:
        raise DataError(f"cannot read archive {archive}: {e}") from None
    missing = [w for w in wanted if w not in out]
    if missing:
        raise DataError(f"{archive} lacks {', '.join(missing)}; is it the CIFAR-10 archive it is named after?")
    return out


def read_batches(fmt: str, path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64 of ``split`` from a binary or python
    version, given as archive (``fmt`` ending in "-archive") or extracted folder."""
    binary = fmt.startswith("cifar-binary")
    names = batch_names(split, ".bin" if binary else "")
    parse = parse_binary_batch if binary else parse_python_batch
    if fmt.endswith("-archive"):
        contents = _members(path, names)
        parts = [parse(contents[n], f"{path}:{n}") for n in names]
    else:
        parts = [parse((path / n).read_bytes(), str(path / n)) for n in names]
    images = np.concatenate([p[0] for p in parts])  # (N, 3, 32, 32)
    labels = np.concatenate([p[1] for p in parts])  # (N,)
    return images, labels


def read_jpeg_archive(path: Path, split: str, limit: int = 0) -> folders.FolderImages:
    """The JPEG copy: ``<split>/<class>/NNNN.jpg``, class names checked against CIFAR-10's."""
    found = folders.read_image_folder(path, split, limit)
    if not found.info.get("split_folders") or found.classes is None:
        raise DataError(f"{path} does not have the train/<class>/ and test/<class>/ layout of CIFAR-10")
    unknown = sorted(set(found.classes) - set(CIFAR10_CLASSES))
    if unknown:
        raise DataError(
            f"{path} has class folders {unknown} that are not CIFAR-10 classes ({', '.join(CIFAR10_CLASSES)})"
        )
    # Folder classes are the sorted names present; map them onto the canonical indices.
    to_canonical = np.array([CIFAR10_CLASSES.index(c) for c in found.classes], dtype=np.int64)
    found.labels = to_canonical[found.labels]
    found.classes = list(CIFAR10_CLASSES)
    return found
