"""Using a trained translator (pix2pix, CycleGAN) on images of any size, and on files and folders.

A :class:`~ganforge.engine.generator.Translator` was trained on R x R squares (``.resolution``);
the images given to it may have any size and shape. Two ways to bridge the gap:

* **resize** (the default): the image is resized to R x R, translated, and the output resized back
  to the input's own height and width, so a 300x200 input gives a 300x200 output whose content was
  translated at the training scale (a non-square image is squeezed to the square and stretched
  back: its aspect is kept). Both resizes are bicubic with antialiasing
  (``torch.nn.functional.interpolate(mode="bicubic", antialias=True, align_corners=False)``),
  clamped to [-1, 1] since bicubic overshoots at edges.
* **tile**: the model runs at the input's own scale on overlapping R x R tiles (a quarter of a tile
  of overlap at least, the tiles spread evenly to cover the image) and the tile outputs are blended
  with linear ramps, weights falling from 1 in a tile's interior towards 0 at its edges
  ("feathering", Szeliski 2006, "Image Alignment and Stitching", sec. 6.2), so no seam shows where
  tiles meet. A side shorter than R is mirrored out to R first and cropped back afterwards (the
  overlap-tile idea of Ronneberger et al. 2015). Meant for images larger than the training size.

Channels: an RGB image given to a 1-channel model becomes grayscale with ITU-R 601-2 luma (as the
training data is converted); a grayscale image given to a 3-channel model is repeated to RGB.
Alpha is dropped, EXIF orientation applied (:func:`ganforge.data.folders.decode_image`).

pix2pix's U-Net keeps its dropout at test time (its only noise, Isola et al. 2017, sec. 2.2), so a
translation is random; each image is translated under the torch seed ``seed`` (default 0), so the
same command gives the same pictures, and an image gives the same output alone or in a folder.

    T = ganforge.engine.generator.load_translator("runs/facades")
    out = translate_image(T, Image.open("labels.png"))         # a PIL image, the input's size

:func:`translate_path` is ``ganforge translate``: one image, a folder (searched recursively) or a
.tar/.tar.gz/.tgz/.zip archive in, files out, each written atomically.
"""

from __future__ import annotations

import contextlib
import math
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ganforge.data import folders
from ganforge.data.images import to_grayscale
from ganforge.errors import ConfigError, DataError, RunDirError
from ganforge.fileio import atomic_path, disk_full_as_error

Tensor = torch.Tensor

MODES = ("resize", "tile")
TILE_OVERLAP = 0.25  # the least overlap of neighbouring tiles, as a fraction of the tile side
OUTPUT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
JPEG_QUALITY = 95
BATCH = 16  # tiles (or images) per forward pass


# ----------------------------------------------------------------------------- pixels


def to_model_input(image, channels: int) -> Tensor:
    """A PIL image or an array -> (1, channels, H, W) float in [-1, 1].

    Arrays are (H, W) or (H, W, C) with C in 1, 3 or 4 (alpha dropped): uint8 in 0..255, or float
    in [0, 1]. RGB -> 1 channel is ITU-R 601-2 luma; 1 -> 3 channels repeats the gray.
    """
    if isinstance(image, Image.Image):
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit gray: keep the top 8 bits
            array = (np.asarray(image).astype(np.int64) >> 8).clip(0, 255).astype(np.uint8)
        else:
            array = np.asarray(image.convert("L" if image.mode in ("1", "L", "LA", "F") else "RGB"))
    else:
        array = np.asarray(image)
        if array.dtype != np.uint8:
            if not np.issubdtype(array.dtype, np.floating):
                raise DataError(f"an image array must be uint8 (0..255) or float in [0, 1]; got {array.dtype}")
            array = (np.clip(array, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]  # (H, W, 1)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise DataError(f"an image is (H, W) or (H, W, C) with C = 1, 3 or 4; got shape {tuple(array.shape)}")
    x = np.ascontiguousarray(array[:, :, :3].transpose(2, 0, 1))[None]  # (1, C, H, W) uint8
    if x.shape[1] == 3 and channels == 1:
        x = to_grayscale(x)  # (1, 1, H, W)
    elif x.shape[1] == 1 and channels == 3:
        x = np.repeat(x, 3, axis=1)  # (1, 3, H, W)
    return torch.from_numpy(x).float().div_(127.5).sub_(1.0)


def to_pil(x: Tensor) -> Image.Image:
    """(C, H, W) float in [-1, 1] -> a PIL image, "L" for one channel, "RGB" for three."""
    a = x.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)  # (C, H, W)
    a = a.permute(1, 2, 0).numpy()  # (H, W, C)
    return Image.fromarray(a[:, :, 0] if a.shape[2] == 1 else a)


def _resize(x: Tensor, size: tuple[int, int]) -> Tensor:
    """(N, C, H, W) -> (N, C, *size), bicubic with antialiasing, clamped to [-1, 1]."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False).clamp_(-1.0, 1.0)


# ----------------------------------------------------------------------------- translation


def _device(translator) -> torch.device:
    p = next(translator.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _run(translator, x: Tensor, batch: int = BATCH) -> Tensor:
    """The translator on (N, C_in, R, R) in chunks, on its device -> (N, C_out, R, R) on the CPU."""
    device = _device(translator)
    return torch.cat([translator(x[i:i + batch].to(device)).float().cpu() for i in range(0, len(x), batch)])


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Offsets of tiles of side ``tile`` covering ``length`` pixels, neighbours overlapping by at
    least ``overlap``, spread evenly, the first at 0 and the last ending at ``length``."""
    if length <= tile:
        return [0]
    stride = max(1, tile - overlap)
    n = math.ceil((length - tile) / stride) + 1
    return [round(i * (length - tile) / (n - 1)) for i in range(n)]


def ramp(tile: int, overlap: int) -> Tensor:
    """(tile,) blending weights: linear from near 0 at both edges up to 1, ``overlap`` pixels long.

    Every weight is > 0, so a pixel covered by one tile alone still gets that tile's value.
    """
    if overlap < 1:
        return torch.ones(tile)
    t = torch.arange(tile, dtype=torch.float32) + 0.5  # pixel centres
    return torch.minimum(t, tile - t).div(overlap).clamp(max=1.0)  # (tile,)


def _translate_tiled(translator, x: Tensor, batch: int) -> Tensor:
    """Overlapping R x R tiles at the input's own scale, blended with linear ramps (see module)."""
    return run_tiled(translator, x, translator.resolution, translator.out_channels, 1, batch)


def run_tiled(net, x: Tensor, tile: int, out_channels: int, scale: int = 1, batch: int = BATCH,
              overlap: int | None = None, on_pass=None) -> Tensor:
    """``net`` on overlapping ``tile`` x ``tile`` tiles of ``x`` (N, C_in, H, W), its outputs
    (N, C_out, scale tile, scale tile) blended with linear ramps -> (N, C_out, scale H, scale W).

    ``scale`` > 1 is for upscalers (super-resolution), whose output tile is ``scale`` times the
    input tile. ``overlap`` (input pixels, default a quarter of a tile) is the least overlap of
    neighbouring tiles; ``on_pass(done, total)`` is called after each forward pass (progress).
    """
    n, _, h, w = x.shape
    r = tile
    pad_h, pad_w = max(0, r - h), max(0, r - w)
    if pad_h or pad_w:  # a side shorter than a tile: mirror it out (replicate when too short to mirror)
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)  # (N, C, max(h, r), max(w, r))
    hp, wp = x.shape[-2:]
    overlap = max(1, round(r * TILE_OVERLAP)) if overlap is None else overlap
    ys, xs = tile_starts(hp, r, overlap), tile_starts(wp, r, overlap)
    ro = r * scale  # output tile side
    weight = ramp(ro, overlap * scale)[:, None] * ramp(ro, overlap * scale)[None, :]  # (ro, ro)
    out = torch.zeros(n, out_channels, hp * scale, wp * scale)
    total = torch.zeros(1, 1, hp * scale, wp * scale)
    spots = [(top, left) for top in ys for left in xs]
    per_pass = max(1, batch // n)  # tile positions per forward pass: memory stays bounded on huge images
    for i in range(0, len(spots), per_pass):
        group = spots[i:i + per_pass]
        tiles = torch.stack([x[:, :, t:t + r, s:s + r] for t, s in group], 1).flatten(0, 1)  # (N * k, C_in, r, r)
        outputs = _run(net, tiles, batch).unflatten(0, (n, len(group)))  # (N, k, C_out, ro, ro)
        for k, (t, s) in enumerate(group):
            out[:, :, t * scale:t * scale + ro, s * scale:s * scale + ro] += outputs[:, k] * weight
            total[:, :, t * scale:t * scale + ro, s * scale:s * scale + ro] += weight
        if on_pass is not None:
            on_pass(min(i + per_pass, len(spots)), len(spots))
    return (out / total)[:, :, :h * scale, :w * scale]  # (N, C_out, scale h, scale w)


@torch.no_grad()
def translate_any_size(translator, x: Tensor, tile: bool = False, batch: int = BATCH) -> Tensor:
    """Translate images (N, C_in, H, W) in [-1, 1] of any size -> (N, C_out, H, W) on the CPU.

    ``tile`` False resizes to the training square and back; True translates overlapping tiles at
    the input's own scale (see the module). The translator runs in eval mode.
    """
    if x.ndim != 4 or x.shape[1] != translator.in_channels:
        raise DataError(f"the translator takes (N, {translator.in_channels}, H, W) images; got {tuple(x.shape)}")
    was = translator.training
    translator.eval()
    try:
        if tile:
            return _translate_tiled(translator, x.float(), batch)
        r = translator.resolution
        y = _run(translator, _resize(x.float(), (r, r)), batch)  # (N, C_out, r, r)
        return _resize(y, tuple(x.shape[-2:]))
    finally:
        translator.train(was)


@contextlib.contextmanager
def seeded(seed: int, device: torch.device):
    """A context in which torch's RNG (of the CPU and ``device``) starts at ``seed``, restored after."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def translate_image(translator, image, tile: bool = False, seed: int = 0) -> Image.Image:
    """Translate one image (a PIL image or an array, see :func:`to_model_input`) -> a PIL image of
    the same width and height, "L" for a 1-channel model, "RGB" for a 3-channel one.

    ``tile``: translate overlapping tiles at the image's own scale rather than resizing; ``seed``:
    torch's seed for the translation (pix2pix's test-time dropout), the caller's RNG left as it was.
    """
    x = to_model_input(image, translator.in_channels)  # (1, C_in, H, W)
    with seeded(seed, _device(translator)):
        y = translate_any_size(translator, x, tile)  # (1, C_out, H, W)
    return to_pil(y[0])


# ----------------------------------------------------------------------------- files


@dataclass
class Inputs:
    """What INPUT holds: one image, or the images of a folder or archive."""

    path: Path
    single: bool  # one image file (OUTPUT is a file), else a folder or archive (OUTPUT is a folder)
    readers: dict = field(default_factory=dict)  # relative path -> reader of its bytes


def find_inputs(path: str | Path) -> Inputs:
    """The images of INPUT: an image file, a folder (recursive) or an archive; one-line errors."""
    p = Path(path).expanduser()
    accepted = (f"accepted: a {'/'.join(folders.IMAGE_EXTENSIONS)} image, a folder of them, or a "
                f"{'/'.join(folders.ARCHIVE_SUFFIXES)} archive")
    if not p.exists():
        raise DataError(f"input {p} does not exist; {accepted}")
    if p.is_dir() or (p.is_file() and folders.is_archive(p)):
        readers = folders.scan(p)
        if not readers:
            raise DataError(f"no images in {p}; {accepted}")
        return Inputs(p, False, readers)
    if not p.name.lower().endswith(folders.IMAGE_EXTENSIONS):
        raise DataError(f"input {p} is not an image file nor a folder or archive; {accepted}")
    return Inputs(p, True, {p.name: p.read_bytes})


def output_format(path: Path) -> str:
    """The PIL format a result file's extension names (PNG or JPEG), or a one-line error."""
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(f"--out {path.name!r}: unsupported image format; accepted extensions: "
                          f"{', '.join(OUTPUT_FORMATS)}")
    return fmt


def plan_outputs(inputs: Inputs, out: str | Path, overwrite: bool = False) -> dict[str, Path]:
    """Where each input's result goes: relative path -> output file. Checks everything first, so
    that a refused command writes nothing.

    One image: ``out`` is the file (an existing folder receives ``<stem>.png``). A folder or
    archive: ``out`` is a folder and each result keeps its relative path, with a .png extension.
    Existing targets need ``overwrite``.
    """
    out = Path(out).expanduser()
    if inputs.single:
        (rel,) = inputs.readers
        target = out / (Path(rel).stem + ".png") if out.is_dir() else out
        output_format(target)
        plan = {rel: target}
    else:
        if out.exists() and not out.is_dir():
            raise RunDirError(f"--out {out} is a file, but INPUT {inputs.path} holds several images; "
                              f"give a folder (new or existing) for the results")
        plan, seen = {}, {}
        for rel in inputs.readers:
            target = out / Path(rel).with_suffix(".png")
            if target in seen:
                raise DataError(f"{rel} and {seen[target]} would both be written to {target}; rename one of them")
            seen[target] = rel
            plan[rel] = target
    existing = [t for t in plan.values() if t.exists()]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise RunDirError(f"{existing[0]} already exists{more}; use --overwrite to replace it")
    for t in existing:
        if t.is_dir():
            raise RunDirError(f"{t} is a folder; cannot write an image there")
    return plan


def save_image(image: Image.Image, path: Path) -> Path:
    """Write ``image`` atomically in the format ``path``'s extension names."""
    fmt = output_format(path)
    options = {"quality": JPEG_QUALITY} if fmt == "JPEG" else {}
    with disk_full_as_error(f"the image {path.name}", path.parent), atomic_path(path) as tmp:
        image.save(tmp, format=fmt, **options)
    return path


@dataclass
class Summary:
    written: list[Path]
    skipped: list[str]  # inputs that could not be decoded

    def announce(self, done: str, inputs: Inputs, source, out) -> None:
        """Print "``done`` N image(s) into WHERE" (WHERE: the one result file, or the output folder);
        then, when some inputs could not be read, raise a one-line DataError naming the first."""
        where = self.written[0] if inputs.single else out
        print(f"{done.format(n=len(self.written))} into {where}")
        if self.skipped:
            raise DataError(f"{len(self.skipped)} image(s) of {source} could not be read and were skipped "
                            f"(first: {self.skipped[0]}); the others were written")


def translate_path(translator, source: str | Path | Inputs, out: str | Path, *, tile: bool = False,
                   overwrite: bool = False, seed: int = 0, progress: bool | None = None) -> Summary:
    """``ganforge translate``: translate INPUT (an image, a folder or an archive) into ``out``.

    Every check (inputs exist, targets free or ``overwrite``) happens before the first write; each
    result is written atomically. In a folder, an image that cannot be decoded is skipped with a
    warning and the others are still translated; with one image, it is an error. ``progress``: a
    tqdm bar over the images (default: only when stderr is a terminal, and never for one image).
    """
    inputs = source if isinstance(source, Inputs) else find_inputs(source)
    plan = plan_outputs(inputs, out, overwrite)
    return process_images(inputs, plan, lambda rel, array: translate_image(translator, array, tile, seed),
                          "translating", progress)


def process_images(inputs: Inputs, plan: dict[str, Path], make, desc: str, progress: bool | None = None) -> Summary:
    """Decode each input image, turn it into its result with ``make(rel, array)`` (array: (H, W, C)
    uint8; returns a PIL image) and write that atomically to its planned target. In a folder, an
    image that cannot be decoded is skipped with a warning and the others still go; with one
    image, it is an error. ``progress``: a tqdm bar named ``desc`` over the images (default: only
    when stderr is a terminal, and never for one image)."""
    items = list(plan.items())
    if progress is None:
        progress = sys.stderr.isatty()
    if progress and not inputs.single:
        from tqdm import tqdm

        items = tqdm(items, desc=desc, unit="image")
    written, skipped = [], []
    for rel, target in items:
        try:
            array = folders.decode_image(inputs.readers[rel]())  # (H, W, C) uint8
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            if inputs.single:
                raise DataError(f"cannot read image {inputs.path}: {e}") from None
            warnings.warn(f"skipping unreadable image {inputs.path}/{rel}: {e}", folders.UnreadableImageWarning,
                          stacklevel=3)
            skipped.append(rel)
            continue
        written.append(save_image(make(rel, array), target))
    return Summary(written, skipped)
