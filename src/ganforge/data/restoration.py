"""Images for restoration games: high-resolution training patches, and the fixed SR test set.

**Training data** (``data.name``, one of :data:`RESTORATION_DATASETS`): high-resolution (HR)
images cut into square patches of ``data.resolution`` pixels on a grid (non-overlapping, the
remainder of a side dropped), kept as one uint8 :class:`~ganforge.data.base.ImageDataset`. The
game makes the low-resolution inputs from them on the fly (:mod:`ganforge.data.degrade`), with
its own seeded augmentation. Sources:

* ``sr-facades``: the photos (not the label maps) of CMP Facades, 400 train / 106 test, 256x256;
* ``sr-cifar10``: CIFAR-10's 32x32 photos, centre-cropped to ``data.resolution`` when it is smaller;
* ``sr-folder``: any PNG/JPEG images in ``data.path`` (a folder, searched recursively, or an
  archive), of any sizes; images smaller than a patch are skipped.

``data.limit`` caps the number of source images, ``data.channels`` converts (0 = native).

**The fixed SR test set** (:func:`sr_test_set`). No standard SR test set (Set5, Set14, BSD100) can
be downloaded here, so ganforge builds its own from images every installation has:

* ``skimage``: the colour photographs bundled with scikit-image (``skimage.data``), in this order:
  astronaut (512x512), chelsea (451x300), coffee (600x400), rocket (640x427), hubble_deep_field
  (centre 512x512 of 1000x872), immunohistochemistry (512x512), motorcycle (the left view of
  ``stereo_motorcycle``, centre 512x500 of 741x500). Sides above 512 are centre-cropped to 512;
* ``facades``: the 106 photos of the facades test split, 256x256 (when the facades data is found).

Each HR image is mod-cropped to a multiple of the scale (:func:`ganforge.data.degrade.mod_crop`)
and its LR input made by the "bicubic" degradation. The set is the same on every machine with the
same scikit-image images and facades archive.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from ganforge.data.base import ImageDataset
from ganforge.errors import ConfigError, DataError

Tensor = torch.Tensor

RESTORATION_DATASETS = {
    "sr-facades": "the CMP Facades photos (400 train / 106 test, 256x256) cut into data.resolution-px patches",
    "sr-cifar10": "CIFAR-10 photos (50000 train / 10000 test, 32x32), centre-cropped to data.resolution px",
    "sr-folder": "your photos in data.path (folder or archive, any sizes) cut into data.resolution-px patches",
}
SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry",
                  "motorcycle")
TEST_MAX_SIDE = 512  # larger skimage photos are centre-cropped to this side (evaluation time on a CPU)


def patches(image: np.ndarray, size: int) -> np.ndarray:
    """(C, H, W) -> (k, C, size, size): the non-overlapping grid of patches, row by row, from the
    top-left corner; what does not fill a whole patch at the right and bottom is dropped."""
    c, h, w = image.shape
    rows, cols = h // size, w // size
    if rows == 0 or cols == 0:
        return np.zeros((0, c, size, size), np.uint8)
    grid = image[:, : rows * size, : cols * size].reshape(c, rows, size, cols, size)
    return np.ascontiguousarray(grid.transpose(1, 3, 0, 2, 4).reshape(rows * cols, c, size, size))


def _channels(image: np.ndarray, channels: int) -> np.ndarray:
    """(C, H, W) uint8 with C in 1, 3 -> ``channels`` (0 = as is): ITU-R 601-2 luma or repeated gray."""
    from ganforge.data.images import to_grayscale

    if channels == 1 and image.shape[0] == 3:
        return to_grayscale(image[None])[0]
    if channels == 3 and image.shape[0] == 1:
        return np.repeat(image, 3, axis=0)
    return image


def _source_images(cfg) -> tuple[list[np.ndarray], str, dict]:
    """The HR images (C, H, W) uint8 that ``cfg.name`` names, their sha256 and facts."""
    split = "test" if cfg.split == "test" else "train"
    if cfg.name == "sr-facades":
        from ganforge.data.paired import load_facades

        pairs = load_facades(split, "BtoA", 256, cfg.limit, cfg.data_dir, cfg.path)
        return list(pairs.targets.numpy()), pairs.source_hash, {"origin": "facades photos", "split": split}
    if cfg.name == "sr-cifar10":
        import dataclasses

        from ganforge.data.images import load_image_dataset

        data = load_image_dataset(dataclasses.replace(cfg, name="cifar10", resolution=0, channels=0, clusters=0))
        return list(data.images.numpy()), data.source_hash, {"origin": "cifar10", "split": split}
    if cfg.name == "sr-folder":
        if not cfg.path:
            raise ConfigError("data.name 'sr-folder' needs data.path: a folder or archive of PNG/JPEG photos")
        from pathlib import Path

        from ganforge.data import sources
        from ganforge.data.folders import read_image_folder

        root = Path(cfg.path).expanduser()
        folder = read_image_folder(root, split, cfg.limit)
        images = [np.ascontiguousarray(im.transpose(2, 0, 1)) for im in folder.images]  # (C, H, W) each
        digest = (sources.file_digests(root).sha256 if root.is_file() else
                  sources.manifest_hash([(rel, sources.file_digests(root / rel).sha256) for rel in folder.relpaths]))
        return images, digest, {"origin": str(root), "split": split}
    raise DataError(f"unknown restoration dataset {cfg.name!r}; valid: {', '.join(RESTORATION_DATASETS)}")


def load_restoration(cfg) -> ImageDataset:
    """HR training patches (N, C, R, R) uint8 of the dataset ``cfg.name`` (see the module)."""
    size = cfg.resolution
    if size < 8:
        raise ConfigError(f"data.resolution is the side of the HR training patches and must be >= 8 for "
                          f"{cfg.name!r}; got {size} (e.g. 64)")
    images, source_hash, info = _source_images(cfg)
    if cfg.name == "sr-cifar10":
        if size > 32:
            raise ConfigError(f"sr-cifar10 images are 32x32; data.resolution must be <= 32, got {size}")
        o = (32 - size) // 2
        cut = [im[None, :, o:o + size, o:o + size] for im in images]
    else:
        cut = [patches(im, size) for im in images]
    small = sum(len(c) == 0 for c in cut)
    if small:
        warnings.warn(f"{small} image(s) of {cfg.name} are smaller than a {size}x{size} patch and were skipped",
                      stacklevel=2)
    cut = [_channels(p, cfg.channels) if p.ndim == 3 else np.stack([_channels(q, cfg.channels) for q in p])
           for p in cut if len(p)]
    if not cut:
        raise DataError(f"no {size}x{size} patch fits in the images of {cfg.name}; set a smaller data.resolution")
    channel_counts = {p.shape[1] for p in cut}
    if len(channel_counts) > 1:  # grayscale and colour photos mixed: bring them all to RGB
        cut = [np.repeat(p, 3, axis=1) if p.shape[1] == 1 else p for p in cut]
    x = torch.from_numpy(np.concatenate(cut))  # (N, C, R, R) uint8
    info.update(patch=size, patches=len(x), images=len(images) - small)
    return ImageDataset(name=cfg.name, images=x, source_hash=source_hash, info=info)


# ------------------------------------------------------------------------------------ test set


@dataclass
class TestImage:
    name: str  # "skimage/astronaut", "facades/1"
    hr: Tensor  # (C, H, W) uint8, sides multiples of the scale


def _skimage_photo(name: str) -> np.ndarray:
    """One bundled scikit-image photograph as (H, W, 3) uint8."""
    import skimage.data

    if name == "motorcycle":
        return skimage.data.stereo_motorcycle()[0]
    return getattr(skimage.data, name)()


def _centre_crop(image: np.ndarray, side: int) -> np.ndarray:
    """(C, H, W) -> centre crop of at most ``side`` x ``side``."""
    _, h, w = image.shape
    th, tw = min(h, side), min(w, side)
    top, left = (h - th) // 2, (w - tw) // 2
    return image[:, top:top + th, left:left + tw]


def sr_test_set(scale: int, parts=("skimage", "facades"), data_dir=None, limit: int = 0) -> list[TestImage]:
    """The fixed SR test set (see the module): HR images mod-cropped to multiples of ``scale``.

    ``parts``: "skimage" (7 photographs, always there), "facades" (106 photos, skipped with a
    warning when the facades data is not found). ``limit`` > 0 keeps the first images of each part.
    """
    out: list[TestImage] = []
    for part in parts:
        if part == "skimage":
            names = SKIMAGE_PHOTOS[:limit] if limit else SKIMAGE_PHOTOS
            images = [(f"skimage/{n}", _centre_crop(np.ascontiguousarray(_skimage_photo(n).transpose(2, 0, 1)),
                                                    TEST_MAX_SIDE)) for n in names]
        elif part == "facades":
            from ganforge.data.paired import load_facades

            try:
                pairs = load_facades("test", "BtoA", 256, limit, data_dir)
            except DataError as e:
                warnings.warn(f"the facades part of the SR test set is left out: {e}", stacklevel=2)
                continue
            images = [(f"facades/{name.rsplit('.', 1)[0]}", im) for name, im in zip(pairs.names, pairs.targets.numpy())]
        else:
            raise ConfigError(f"unknown SR test set part {part!r}; valid: skimage, facades")
        for name, im in images:
            h, w = im.shape[1:]
            out.append(TestImage(name, torch.from_numpy(np.ascontiguousarray(im[:, : h - h % scale, : w - w % scale]))))
    return out
