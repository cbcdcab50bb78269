"""The decode cache: each decoded image dataset stored once as a safetensors file.

``<cache root>/decoded/<name>-<split>-r<res>-c<ch>-l<limit>-<source_hash[:16]>.safetensors``
holds ``images`` (N, C, H, W) uint8, ``labels`` (N,) int64 when there are labels, and one
string metadata entry with JSON: the key fields, class names, ``info``, and CRC-32s of both
tensors. Files are written to a temporary name and renamed, so a reader never sees half a file;
a file that fails any check is reported, ignored and rebuilt. Temporary files of a process killed
mid-write (tens of MB each for MNIST) are removed the next time the cache is used.
"""

from __future__ import annotations

import json
import warnings
import zlib
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ganforge.data.base import ImageDataset
from ganforge.data.sources import cache_root
from ganforge.fileio import atomic_path, remove_stale_temps

FORMAT_VERSION = 1
_META_KEY = "ganforge.decoded"


class CacheWarning(UserWarning):
    """The decode cache could not be read or written; the data is decoded from source instead."""


def cache_dir() -> Path:
    """``<cache root>/decoded``."""
    return cache_root() / "decoded"


def cache_key(name: str, split: str, resolution: int, channels: int, limit: int, source_hash: str) -> dict:
    """The fields that must all match for a cached file to stand for a request."""
    return {
        "version": FORMAT_VERSION, "name": name, "split": split, "resolution": resolution,
        "channels": channels, "limit": limit, "source_hash": source_hash,
    }


def cache_path(key: dict) -> Path:
    """Where the dataset described by ``key`` (from :func:`cache_key`) is cached."""
    k = key
    stem = f"{k['name']}-{k['split']}-r{k['resolution']}-c{k['channels']}-l{k['limit']}-{k['source_hash'][:16]}"
    return cache_dir() / f"{stem}.safetensors"


def _crc(t: torch.Tensor) -> int:
    return zlib.crc32(t.contiguous().view(torch.uint8).numpy())


def load(key: dict) -> ImageDataset | None:
    """The cached dataset for ``key``, or None when there is none or it fails a check."""
    path = cache_path(key)
    remove_leftovers()
    if not path.exists():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = json.loads((f.metadata() or {})[_META_KEY])
            images = f.get_tensor("images")
            labels = f.get_tensor("labels") if "labels" in f.keys() else None
        problem = _problem(meta, key, images, labels)
    except (SafetensorError, OSError, KeyError, ValueError, TypeError) as e:  # JSONDecodeError is a ValueError
        problem = f"unreadable ({type(e).__name__}: {e})"
    if problem:
        warnings.warn(f"ignoring corrupt decode cache {path}: {problem}; decoding again", CacheWarning, stacklevel=3)
        return None
    return ImageDataset(
        name=key["name"], images=images, labels=labels, classes=meta["classes"],
        source_hash=key["source_hash"], info=meta["info"],
    )


def _problem(meta: dict, key: dict, images: torch.Tensor, labels: torch.Tensor | None) -> str | None:
    for field, value in key.items():
        if meta.get(field) != value:
            return f"{field} is {meta.get(field)!r}, expected {value!r}"
    if images.dtype != torch.uint8 or images.ndim != 4:
        return f"images are {images.dtype} {tuple(images.shape)}, expected uint8 (N, C, H, W)"
    if _crc(images) != meta.get("images_crc32"):
        return "images fail their CRC-32"
    if (labels is None) != (meta.get("labels_crc32") is None):
        return "labels are missing or unexpected"
    if labels is not None:
        if labels.dtype != torch.int64 or tuple(labels.shape) != (images.shape[0],):
            return f"labels are {labels.dtype} {tuple(labels.shape)}, expected int64 ({images.shape[0]},)"
        if _crc(labels) != meta.get("labels_crc32"):
            return "labels fail their CRC-32"
    return None


def save(key: dict, dataset: ImageDataset) -> Path | None:
    """Write ``dataset`` to the cache atomically; returns the path, or None when it could not be
    written (a warning says why; the caller goes on with the decoded data)."""
    path = cache_path(key)
    images = dataset.images.contiguous()
    tensors = {"images": images}
    meta = dict(key, classes=dataset.classes, info=dataset.info, images_crc32=_crc(images), labels_crc32=None)
    if dataset.labels is not None:
        tensors["labels"] = dataset.labels.contiguous()
        meta["labels_crc32"] = _crc(tensors["labels"])
    try:
        remove_leftovers()
        with atomic_path(path) as tmp:  # removes the temporary file when the write fails
            save_file(tensors, str(tmp), metadata={_META_KEY: json.dumps(meta)})
        return path
    except (OSError, SafetensorError) as e:
        # the cache only saves time: a full disk here is a warning, the data is already decoded
        warnings.warn(f"could not write decode cache {path}: {e}", CacheWarning, stacklevel=3)
        return None


def remove_leftovers() -> list[Path]:
    """Remove temporary cache files whose writer was killed (never those of a live process)."""
    # earlier versions wrote .STEM.<8 random characters>.tmp (no pid): those go by age alone
    try:
        return remove_stale_temps(cache_dir(), legacy=(".*.tmp",))
    except OSError:  # an unreadable cache folder must not stop a data load
        return []
