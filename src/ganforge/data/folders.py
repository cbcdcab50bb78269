"""Images from a folder or an archive (.tar, .tar.gz, .tgz, .zip).

Rules, in the order they apply:

* Files ending in one of :data:`IMAGE_EXTENSIONS` (any case) are images, at any depth; hidden
  files and folders (``.x``, macOS ``__MACOSX``) are ignored. Archives are read in memory, never
  extracted to disk.
* Wrapper folders are peeled off: while every image sits under one and the same top folder, that
  folder becomes the root (``photos.zip`` holding ``photos/...`` is the same as ``photos/``).
* Split folders: when the root has both ``train/`` and ``test/`` sub-folders holding images, the
  requested split picks one of them. Without them only the "train" split exists (everything).
* Classes: when no image lies directly in the (split) root, the names of the first-level
  sub-folders are the classes, sorted; otherwise the images are unlabelled.
* Order: sorted by path; with classes, interleaved class by class (the first image of each class,
  then the second of each, ...) so that a ``limit`` keeps the classes balanced.
* Unreadable or corrupt images are skipped with an :class:`UnreadableImageWarning` naming each.
"""

from __future__ import annotations

import io
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ganforge.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")
SPLIT_FOLDERS = ("train", "test")
_PIL_FORMATS = ("PNG", "JPEG")  # only these decoders ever see a file's bytes


class UnreadableImageWarning(UserWarning):
    """An image file that could not be decoded and was skipped."""


@dataclass
class FolderImages:
    images: list[np.ndarray]  # each (H, W, C) uint8 with C = 1 or 3; sizes may differ
    labels: np.ndarray | None  # (N,) int64, or None when unlabelled
    classes: list[str] | None  # class names, index -> name
    relpaths: list[str]  # path of each image relative to the scanned root
    info: dict = field(default_factory=dict)  # split folders, order, skipped files


def is_archive(path: Path) -> bool:
    """True when ``path`` has one of the accepted archive suffixes."""
    return Path(path).name.lower().endswith(ARCHIVE_SUFFIXES)


def _is_image_name(relpath: str) -> bool:
    parts = relpath.split("/")
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return False
    return parts[-1].lower().endswith(IMAGE_EXTENSIONS)


def scan(path: Path) -> dict[str, Callable[[], bytes]]:
    """Every image file under ``path`` (folder or archive): relative path -> reader of its bytes."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"data.path {path} does not exist")
    if path.is_dir():
        return {
            p.relative_to(path).as_posix(): p.read_bytes
            for p in sorted(path.rglob("*"))
            if p.is_file() and _is_image_name(p.relative_to(path).as_posix())
        }
    if not is_archive(path):
        raise DataError(
            f"data.path {path} is neither a folder nor an archive; accepted: a folder of "
            f"{'/'.join(IMAGE_EXTENSIONS)} images or a {'/'.join(ARCHIVE_SUFFIXES)} archive of them"
        )
    contents = _read_archive(path)
    return {name: (lambda data=data: data) for name, data in sorted(contents.items())}


def _read_archive(path: Path) -> dict[str, bytes]:
    """Bytes of every image member of a tar/zip archive, read in one sequential pass."""
    out = {}
    try:
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    if not info.is_dir() and _is_image_name(info.filename):
                        out[info.filename.lstrip("/")] = zf.read(info)
        else:
            with tarfile.open(path, mode="r:*") as tf:
                for member in tf:  # streaming: a .tar.gz cannot be read out of order cheaply
                    name = member.name.removeprefix("./").lstrip("/")
                    if member.isfile() and _is_image_name(name):
                        out[name] = tf.extractfile(member).read()
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as e:
        raise DataError(f"cannot read archive {path}: {e}") from None
    return out


def _peel_wrappers(relpaths: list[str]) -> str:
    """The longest folder prefix (``a/b/``) that every path lies under, or ''."""
    prefix = ""
    while True:
        rest = [p[len(prefix):] for p in relpaths]
        heads = {r.split("/", 1)[0] for r in rest}
        if len(heads) != 1 or any("/" not in r for r in rest):
            return prefix
        prefix += heads.pop() + "/"


def select(relpaths: list[str], split: str, origin: str) -> tuple[list[str], list[int] | None, list[str] | None, dict]:
    """Apply the split, class and order rules to image paths.

    Returns the ordered paths, their class indices (or None), the class names (or None) and facts
    for ``info``.
    """
    if not relpaths:
        raise DataError(
            f"no images in {origin}; accepted extensions: {', '.join(IMAGE_EXTENSIONS)} "
            f"(in a folder, searched recursively, or a {'/'.join(ARCHIVE_SUFFIXES)} archive)"
        )
    prefix = _peel_wrappers(relpaths)
    tops = {p[len(prefix):].split("/", 1)[0] for p in relpaths if "/" in p[len(prefix):]}
    info: dict = {"root": prefix.rstrip("/") or "."}
    if all(s in tops for s in SPLIT_FOLDERS):
        prefix += split + "/"
        relpaths = [p for p in relpaths if p.startswith(prefix)]
        info["split_folders"] = True
    elif split != "train":
        raise DataError(
            f"{origin} has no train/ and test/ sub-folders, so it has only the 'train' split; "
            f"got split {split!r}"
        )
    rest = [p[len(prefix):] for p in relpaths]
    if all("/" in r for r in rest):
        by_class: dict[str, list[str]] = {}
        for full, r in sorted(zip(relpaths, rest)):
            by_class.setdefault(r.split("/", 1)[0], []).append(full)
        classes = sorted(by_class)
        ordered, labels = [], []
        for i in range(max(len(v) for v in by_class.values())):  # interleave class by class
            for c, name in enumerate(classes):
                if i < len(by_class[name]):
                    ordered.append(by_class[name][i])
                    labels.append(c)
        info["order"] = "sorted by path, interleaved class by class"
        return ordered, labels, classes, info
    info["order"] = "sorted by path"
    return sorted(relpaths), None, None, info


def decode_image(data: bytes) -> np.ndarray:
    """Decode PNG/JPEG bytes to (H, W, C) uint8: C = 1 for grayscale, 3 for everything else.

    EXIF orientation is applied; alpha is dropped; 16-bit grayscale keeps its top 8 bits.
    """
    with Image.open(io.BytesIO(data), formats=_PIL_FORMATS) as im:
        im.load()
        ImageOps.exif_transpose(im, in_place=True)
        if im.mode in ("I;16", "I;16B", "I;16L", "I"):
            gray = (np.asarray(im).astype(np.int64) >> 8).clip(0, 255).astype(np.uint8)
            return gray[:, :, None]
        if im.mode in ("1", "L", "LA", "F"):
            return np.asarray(im.convert("L"))[:, :, None]
        return np.asarray(im.convert("RGB"))


def read_image_folder(path: Path, split: str = "train", limit: int = 0) -> FolderImages:
    """Decode the images of a folder or archive following the module's rules.

    ``limit`` > 0 stops after that many readable images in the deterministic order.
    """
    path = Path(path)
    readers = scan(path)
    ordered, labels, classes, info = select(list(readers), split, str(path))
    images, kept, kept_labels, skipped = [], [], [], []
    for i, rel in enumerate(ordered):
        if limit and len(images) >= limit:
            break
        try:
            images.append(decode_image(readers[rel]()))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            # PIL reports unknown formats and truncated data as OSError, bad headers as SyntaxError
            warnings.warn(f"skipping unreadable image {path}/{rel}: {e}", UnreadableImageWarning, stacklevel=2)
            skipped.append(rel)
            continue
        kept.append(rel)
        if labels is not None:
            kept_labels.append(labels[i])
    if not images:
        raise DataError(f"none of the {len(ordered)} image files in {path} could be decoded")
    info["skipped"] = skipped
    label_array = np.asarray(kept_labels, dtype=np.int64) if labels is not None else None
    return FolderImages(images, label_array, classes, kept, info)
