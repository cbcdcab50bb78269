"""Image datasets by name: resolve the files, verify them, decode once, cache, return a tensor.

:func:`load_image_dataset` is the one entry point. For a :class:`~ganforge.config.DataConfig` it

1. finds the source files (named datasets: ``data_dir``, ``$GANFORGE_DATA``, the user cache, see
   :mod:`ganforge.data.sources`; ``folder``: ``data.path``) and checks published checksums;
2. computes ``source_hash`` (sha256 over the source files, see :func:`sources.manifest_hash`);
3. returns the decode cache's copy when it has one (:mod:`ganforge.data.cache`), otherwise
   decodes, applies ``limit``, ``channels`` and ``resolution``, and caches the result.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.config import DataConfig
from ganforge.data import cache, cifar, digits, folders, idx, sources, stacked
from ganforge.data.base import ImageDataset
from ganforge.errors import DataError, unknown_name

IMAGE_DATASETS: dict[str, str] = {
    "mnist": "MNIST handwritten digits: 28x28 grayscale, 10 classes, 60000 train / 10000 test",
    "fashion-mnist": "Fashion-MNIST clothing: 28x28 grayscale, 10 classes, 60000 train / 10000 test",
    "cifar10": "CIFAR-10 photos: 32x32 RGB, 10 classes, 50000 train / 10000 test",
    "digits": "scikit-learn's bundled 8x8 digits: grayscale, 10 classes, 1797 images, no download",
    "stacked-mnist": "three random MNIST digits as R, G, B: 28x28 RGB, 1000 modes (fixed draw, seed 0)",
    "folder": "your PNG/JPEG images: data.path is a folder or .tar/.tar.gz/.tgz/.zip; sub-folders are classes",
}

SPLITS = ("train", "test")
MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
RESAMPLE = Image.Resampling.LANCZOS
_LUMA = (299, 587, 114)  # ITU-R 601-2 weights, per mille, as PIL uses for "RGB" -> "L"


@dataclass
class _Resolved:
    """Where a dataset's bytes are and what is known about them, before decoding."""

    source_hash: str  # sha256 over the source files
    facts: dict  # format, origin, verification: merged into info, cached or not
    located: sources.Located | None = None  # for named datasets
    path: Path | None = None  # for folder and digits


@dataclass
class _Decoded:
    images: np.ndarray | list[np.ndarray]  # (N, C, H, W) uint8, or a list of (H, W, C) uint8
    labels: np.ndarray | None  # (N,) int64
    classes: list[str] | None
    info: dict = field(default_factory=dict)


def load_image_dataset(cfg: DataConfig, *, use_cache: bool = True) -> ImageDataset:
    """Load the image dataset described by ``cfg`` as an :class:`ImageDataset`.

    ``use_cache=False`` decodes from source and writes nothing to the decode cache.
    """
    _check_options(cfg)
    resolved = _resolve(cfg)
    key = cache.cache_key(cfg.name, cfg.split, cfg.resolution, cfg.channels, cfg.limit, resolved.source_hash)
    if use_cache:
        hit = cache.load(key)
        if hit is not None:
            hit.info.update(resolved.facts, decode_cache=str(cache.cache_path(key)))
            if hit.info.get("skipped"):
                warnings.warn(
                    f"{len(hit.info['skipped'])} unreadable image(s) were skipped when {cfg.name} was "
                    f"decoded (listed in info['skipped'])", folders.UnreadableImageWarning, stacklevel=2)
            return hit
    decoded = _decode(cfg, resolved)
    images, notes = prepare_images(decoded.images, cfg.resolution, cfg.channels)
    info = {"split": cfg.split, **decoded.info, **notes, **resolved.facts}
    labels = torch.from_numpy(decoded.labels.astype(np.int64)) if decoded.labels is not None else None
    dataset = ImageDataset(
        name=cfg.name, images=torch.from_numpy(images), labels=labels, classes=decoded.classes,
        source_hash=resolved.source_hash, info=info,
    )
    if use_cache:
        written = cache.save(key, dataset)
        if written is not None:
            dataset.info["decode_cache"] = str(written)
    return dataset


def _check_options(cfg: DataConfig) -> None:
    if cfg.name not in IMAGE_DATASETS:
        raise DataError(str(unknown_name("image dataset", cfg.name, IMAGE_DATASETS)))
    if cfg.split not in SPLITS:
        raise DataError(f"data.split must be one of {', '.join(SPLITS)}; got {cfg.split!r}")
    if cfg.resolution < 0:
        raise DataError(f"data.resolution must be 0 (native size) or a positive size; got {cfg.resolution}")
    if cfg.channels not in (0, 1, 3):
        raise DataError(f"data.channels must be 0 (native), 1 (grayscale) or 3 (RGB); got {cfg.channels}")
    if cfg.limit < 0:
        raise DataError(f"data.limit must be 0 (all images) or a positive count; got {cfg.limit}")


# ------------------------------------------------------------------------------------ resolving


def _resolve(cfg: DataConfig) -> _Resolved:
    """Find and verify the source files of ``cfg`` and hash them."""
    if cfg.name == "folder":
        return _resolve_folder(cfg)
    if cfg.name == "digits":
        if cfg.split != "train":
            raise DataError(f"digits has only the 'train' split (all 1797 images); got split {cfg.split!r}")
        path = digits.digits_file()
        facts = {"format": "sklearn-csv", "origin": str(path), "verified": "none (no published checksum)"}
        return _Resolved(sources.file_digests(path).sha256, facts, path=path)
    located = sources.locate(cfg.name, cfg.split, cfg.data_dir)
    checked = sources.verify_located(located)
    known = [k for k, _ in located.files]
    if all(k.md5 for k in known):
        verified = "md5+sha256" if all(k.sha256 for k in known) else "md5"
    else:
        verified = "none (no published checksum)"
    facts = {
        "format": located.layout.format, "origin": str(located.root), "found_in": located.where,
        "files": [rel for rel, _ in checked], "verified": verified,
    }
    if located.layout.lossy:
        facts["lossy"] = "JPEG copy: metrics against it are not comparable to ones on the original pixels"
    return _Resolved(sources.manifest_hash([(rel, d.sha256) for rel, d in checked]), facts, located=located)


def _resolve_folder(cfg: DataConfig) -> _Resolved:
    if not cfg.path:
        raise DataError("dataset 'folder' needs data.path: a folder of PNG/JPEG images or a "
                        f"{'/'.join(folders.ARCHIVE_SUFFIXES)} archive of them")
    path = Path(cfg.path).expanduser()
    if path.is_file() and folders.is_archive(path):
        source_hash = sources.file_digests(path).sha256
    else:
        readers = folders.scan(path)  # raises for a missing path or a non-archive file
        source_hash = sources.manifest_hash(
            [(rel, sources.file_digests(path / rel).sha256) for rel in readers]
        )
    facts = {"format": "archive" if path.is_file() else "folder", "origin": str(path),
             "verified": "none (user files)"}
    return _Resolved(source_hash, facts, path=path)


# ------------------------------------------------------------------------------------- decoding


def _decode(cfg: DataConfig, resolved: _Resolved) -> _Decoded:
    """Decode the source files into images and labels, honouring ``split`` and ``limit``."""
    limit = cfg.limit or None  # slice bound: None keeps everything
    if cfg.name == "folder":
        found = folders.read_image_folder(resolved.path, cfg.split, cfg.limit)
        return _Decoded(found.images, found.labels, found.classes, found.info)
    if cfg.name == "digits":
        images, labels = digits.read_digits(resolved.path)
        return _Decoded(images[:limit], labels[:limit], digits.DIGITS_CLASSES, {"order": "file order"})
    located = resolved.located
    if cfg.name in ("mnist", "fashion-mnist", "stacked-mnist"):
        paths = {k.path.rsplit("/", 1)[-1].split("-")[1]: p for k, p in located.files}  # images / labels
        images, labels = idx.read_idx_pair(paths["images"], paths["labels"])  # (N, 1, 28, 28), (N,)
        if cfg.name == "stacked-mnist":
            images, labels = stacked.stack_digits(images, labels, count=cfg.limit, seed=0)
            return _Decoded(images, labels, stacked.STACKED_CLASSES,
                            {"order": "random digit triples, numpy default_rng(0)"})
        classes = MNIST_CLASSES if cfg.name == "mnist" else FASHION_CLASSES
        return _Decoded(images[:limit], labels[:limit], classes, {"order": "file order"})
    fmt = located.layout.format
    if fmt == "cifar-jpeg-archive":
        found = cifar.read_jpeg_archive(located.files[0][1], cfg.split, cfg.limit)
        return _Decoded(found.images, found.labels, found.classes, found.info)
    path = located.files[0][1] if fmt.endswith("-archive") else located.files[0][1].parent
    images, labels = cifar.read_batches(fmt, path, cfg.split)
    return _Decoded(images[:limit], labels[:limit], list(cifar.CIFAR10_CLASSES), {"order": "file order"})


# ----------------------------------------------------------------------------------- transforms


def to_grayscale(x: np.ndarray) -> np.ndarray:
    """(N, 3, H, W) uint8 RGB -> (N, 1, H, W) uint8 luma with PIL's weights, rounded."""
    out = np.empty((x.shape[0], 1, *x.shape[2:]), dtype=np.uint8)
    for start in range(0, x.shape[0], 4096):  # blocks keep the uint32 temporaries small
        block = x[start:start + 4096].astype(np.uint32)  # (B, 3, H, W)
        luma = block[:, 0] * _LUMA[0] + block[:, 1] * _LUMA[1] + block[:, 2] * _LUMA[2]
        out[start:start + 4096, 0] = (luma + 500) // 1000
    return out


def crop_resize(x: np.ndarray, resolution: int) -> np.ndarray:
    """(N, C, H, W) uint8 -> (N, C, r, r): centre crop to a square, then PIL Lanczos resize."""
    n, c, h, w = x.shape
    if (h, w) == (resolution, resolution):
        return x
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    box = (left, top, left + side, top + side)
    out = np.empty((n, c, resolution, resolution), dtype=np.uint8)
    for i in range(n):
        im = Image.fromarray(x[i, 0] if c == 1 else x[i].transpose(1, 2, 0))  # (H, W) or (H, W, 3)
        # crop first: resize(box=...) would let the filter reach pixels outside the square
        r = np.asarray(im.crop(box).resize((resolution, resolution), RESAMPLE))
        out[i] = r[None] if c == 1 else r.transpose(2, 0, 1)
    return out


def _set_channels(x: np.ndarray, channels: int) -> np.ndarray:
    if x.shape[1] == channels:
        return x
    if channels == 1:
        return to_grayscale(x)
    return np.repeat(x, 3, axis=1)  # (N, 1, H, W) -> (N, 3, H, W)


def prepare_images(images: np.ndarray | list[np.ndarray], resolution: int, channels: int) -> tuple[np.ndarray, dict]:
    """Bring decoded images to one (N, C, H, W) uint8 array with the requested channels (0 =
    native) and square resolution (0 = native); returns it with notes for ``info``."""
    if isinstance(images, list):  # (H, W, C) images of possibly different sizes and channels
        native = 3 if any(im.shape[2] == 3 for im in images) else 1
        target = channels or native
        arrays = [_set_channels(im.transpose(2, 0, 1)[None], target) for im in images]  # (1, C, H, W)
        if resolution:
            arrays = [crop_resize(a, resolution) for a in arrays]
        sizes = sorted({a.shape[2:] for a in arrays})
        if len(sizes) > 1:
            raise DataError(
                f"the images have different sizes ({', '.join(f'{h}x{w}' for h, w in sizes[:4])}"
                f"{', ...' if len(sizes) > 4 else ''}); set data.resolution to resize them to one square size"
            )
        x = np.concatenate(arrays)
        native_size = None
    else:
        native, native_size = images.shape[1], list(images.shape[2:])
        target = channels or native
        x = images
        if target == 1:  # fewer pixels to resize when going to grayscale first
            x = _set_channels(x, 1)
        if resolution:
            x = crop_resize(x, resolution)
        x = _set_channels(x, target)
    needs_resize = resolution and (native_size is None or native_size != [resolution, resolution])
    notes = {
        "resize": f"centre crop to square, then PIL LANCZOS to {resolution}x{resolution}" if needs_resize else "none",
        "channels": f"{native} -> {target}" + (" (ITU-R 601-2 luma)" if (native, target) == (3, 1) else ""),
    }
    if native_size is not None:
        notes["native_size"] = native_size
    return np.ascontiguousarray(x), notes
