"""Using a trained super-resolution model on images of any size, and on files and folders.

An :class:`Upscaler` maps images (N, C, h, w) in [-1, 1] to (N, C, s h, s w). It is fully
convolutional, so any size goes in; large images go through in overlapping tiles of ``tile`` x
``tile`` input pixels (default :data:`TILE`), blended with linear ramps by
:func:`ganforge.translate.run_tiled`, so the network's memory stays that of one batch of tiles
whatever the image size. Tiles overlap by the network's receptive field (at most half a tile), so
away from the tile borders a tiled result equals the whole-image result up to float rounding.

Before anything is decoded or written, every input's header is read (:func:`probe`): an image
whose result would exceed ``max_pixels`` (default :data:`MAX_OUTPUT_PIXELS`, about 28 bytes of
memory per output pixel) is refused with one line, so a 20000x20000 photo never reaches the
decoder; a 16-bit image is reduced to 8 bits with a warning; a palette image is expanded to RGB
(alpha dropped, with a warning when it had transparency); an image smaller than the network's
receptive field is upscaled with a warning (all its pixels see the zero padding).

    U = load_upscaler("runs/srgan-x4")
    big = upscale_image(U, Image.open("photo.png"))     # a PIL image, 4x the width and height

:func:`upscale_path` is ``ganforge upscale``: one image, a folder (searched recursively) or an
archive in; results written atomically as PNG, keeping each input's relative path and name.
"""

from __future__ import annotations

import io
import sys
import warnings
from dataclasses import dataclass

import torch
from PIL import Image
from torch import nn

from ganforge.data import folders
from ganforge.errors import ConfigError, DataError
from ganforge.translate import (
    Inputs,
    Summary,
    find_inputs,
    plan_outputs,
    run_tiled,
    save_image,
    to_model_input,
    to_pil,
)

Tensor = torch.Tensor

TILE = 128  # input pixels per tile side
BATCH = 4  # tiles per forward pass
MAX_OUTPUT_PIXELS = 64 * 2**20  # 8192 x 8192 results; --max-pixels changes it


class Upscaler(nn.Module):
    """A trained super-resolution network: ``forward(lr)`` (N, channels, h, w) -> (N, channels, s h, s w).

    ``patch``: the HR training patch side; ``receptive_field``: input pixels one output pixel sees.
    """

    def __init__(self, net: nn.Module, channels: int, scale: int, patch: int):
        super().__init__()
        self.net, self.channels, self.scale, self.patch = net, channels, scale, patch
        self.receptive_field = net.receptive_field()

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def load_upscaler(path_or_run, ema: bool = True, device: str | torch.device = "cpu") -> Upscaler:
    """The upscaler of a super-resolution run (its latest checkpoint) or checkpoint directory;
    ``ema``: G's moving average when the run kept one."""
    from ganforge.engine.generator import load_networks

    cfg, spec, nets = load_networks(path_or_run, device)
    if cfg.model.game != "super-resolution":
        raise ConfigError(f"{path_or_run} is not a super-resolution run (model.game {cfg.model.game!r}); "
                          f"`ganforge upscale` needs one trained with --preset sr-psnr-x4 or srgan-x4")
    net = nets["G_ema"] if ema and "G_ema" in nets else nets["G"]
    return Upscaler(net, spec.data_shape[0], cfg.data.scale, spec.data_shape[1])


def check_scale(upscaler: Upscaler, scale: int | None) -> None:
    """A one-line error when ``scale`` (None: the model's) is not the scale the model was trained for."""
    if scale is not None and scale != upscaler.scale:
        raise ConfigError(f"this model upscales x{upscaler.scale} only (trained with data.scale={upscaler.scale}); "
                          f"--scale {scale} is not available: resize its result, or train a model with "
                          f"--set data.scale={scale}")


# ----------------------------------------------------------------------------- tensors


@torch.no_grad()
def upscale_tensor(upscaler: Upscaler, x: Tensor, tile: int = TILE, batch: int = BATCH, on_pass=None) -> Tensor:
    """Upscale images (N, C, h, w) in [-1, 1] -> (N, C, s h, s w) in [-1, 1] on the CPU.

    Images with both sides <= ``tile`` go through whole; larger ones in overlapping tiles (see the
    module), the overlap being the receptive field (at most half a tile).
    """
    if x.ndim != 4 or x.shape[1] != upscaler.channels:
        raise DataError(f"the upscaler takes (N, {upscaler.channels}, H, W) images; got {tuple(x.shape)}")
    was = upscaler.training
    upscaler.eval()
    try:
        if max(x.shape[-2:]) <= tile:
            device = next(upscaler.parameters()).device
            return upscaler(x.float().to(device)).float().cpu().clamp_(-1.0, 1.0)
        overlap = min(tile // 2, upscaler.receptive_field)
        y = run_tiled(upscaler, x.float(), tile, upscaler.channels, upscaler.scale, batch, overlap, on_pass)
        return y.clamp_(-1.0, 1.0)
    finally:
        upscaler.train(was)


# ----------------------------------------------------------------------------- files


@dataclass
class Probe:
    """What an image file's header says, read without decoding its pixels."""

    width: int
    height: int
    mode: str  # PIL mode: "RGB", "L", "P", "I;16", ...
    transparent: bool  # a palette or mode with transparency


def probe(data: bytes) -> Probe:
    """Size and mode of PNG/JPEG ``data`` from its header alone (the pixels are not decoded, so a
    huge image costs nothing here; PIL's decompression-bomb check is the caller's to make)."""
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # the header only: ganforge's own limit (max_pixels) decides
    try:
        with Image.open(io.BytesIO(data), formats=("PNG", "JPEG")) as im:
            return Probe(im.width, im.height, im.mode, "transparency" in im.info or im.mode in ("RGBA", "LA", "PA"))
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def check_probe(p: Probe, name: str, upscaler: Upscaler, max_pixels: int) -> None:
    """Refuse (one line) a result over ``max_pixels``; warn about 16-bit, transparent or tiny inputs."""
    s = upscaler.scale
    out = p.width * s * p.height * s
    if max_pixels and out > max_pixels:
        raise DataError(f"{name}: {p.width}x{p.height} upscaled x{s} would be {p.width * s}x{p.height * s} "
                        f"({out / 1e6:.0f} M pixels), over the limit of {max_pixels / 1e6:.0f} M pixels "
                        f"(about 28 bytes of memory each); crop the image, or raise --max-pixels")
    if p.mode in ("I;16", "I;16B", "I;16L", "I"):
        warnings.warn(f"{name} is a 16-bit image; it is reduced to 8 bits (its top 8 bits) and the result is "
                      f"8-bit", stacklevel=3)
    if p.transparent:
        warnings.warn(f"{name} has transparency; the alpha channel is dropped", stacklevel=3)
    if min(p.width, p.height) < upscaler.receptive_field:
        warnings.warn(f"{name} is {p.width}x{p.height}, smaller than the model's receptive field "
                      f"({upscaler.receptive_field} px): every output pixel sees the zero padding around it, "
                      f"so expect weaker detail", stacklevel=3)


def upscale_image(upscaler: Upscaler, image, tile: int = TILE, on_pass=None) -> Image.Image:
    """Upscale one image (a PIL image or an array, see :func:`ganforge.translate.to_model_input`)
    -> a PIL image ``scale`` times its width and height, "L" or "RGB" as the model's channels."""
    x = to_model_input(image, upscaler.channels)  # (1, C, h, w)
    return to_pil(upscale_tensor(upscaler, x, tile, on_pass=on_pass)[0])


def upscale_path(upscaler: Upscaler, source, out, *, tile: int = TILE, overwrite: bool = False,
                 max_pixels: int = MAX_OUTPUT_PIXELS, progress: bool | None = None) -> Summary:
    """``ganforge upscale``: upscale INPUT (an image, a folder or an archive) into ``out``.

    Every check (inputs exist, targets free or ``overwrite``, every header within ``max_pixels``)
    happens before the first write; each result is written atomically as PNG. In a folder an image
    that cannot be read is skipped with a warning; with one image it is an error. ``progress``:
    tqdm bars over images and, for large images, over tiles (default: when stderr is a terminal).
    """
    inputs = source if isinstance(source, Inputs) else find_inputs(source)
    plan = plan_outputs(inputs, out, overwrite)
    if tile < 8:
        raise ConfigError(f"--tile must be at least 8 input pixels, got {tile}")
    probes, skipped = {}, []
    for rel in plan:
        name = str(inputs.path) if inputs.single else f"{inputs.path}/{rel}"
        try:
            probes[rel] = probe(inputs.readers[rel]())
        except (OSError, ValueError, SyntaxError) as e:
            if inputs.single:
                raise DataError(f"cannot read image {name}: {e}") from None
            warnings.warn(f"skipping unreadable image {name}: {e}", folders.UnreadableImageWarning, stacklevel=2)
            skipped.append(rel)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the size check now; warnings when each image is upscaled
            check_probe(probes[rel], name, upscaler, max_pixels)
    if progress is None:
        progress = sys.stderr.isatty()
    items = [(rel, target) for rel, target in plan.items() if rel in probes]
    bar = None
    if progress and not inputs.single:
        from tqdm import tqdm

        items = tqdm(items, desc="upscaling", unit="image")
    written = []
    for rel, target in items:
        name = str(inputs.path) if inputs.single else f"{inputs.path}/{rel}"
        check_probe(probes[rel], name, upscaler, max_pixels)
        try:
            array = folders.decode_image(inputs.readers[rel]())  # (H, W, C) uint8
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
            if inputs.single:
                raise DataError(f"cannot read image {name}: {e}") from None
            warnings.warn(f"skipping unreadable image {name}: {e}", folders.UnreadableImageWarning, stacklevel=2)
            skipped.append(rel)
            continue
        on_pass = None
        if progress and inputs.single:
            from tqdm import tqdm

            bar = tqdm(desc="upscaling", unit="tile")

            def on_pass(done, total, bar=bar):
                bar.total = total
                bar.n = done
                bar.refresh()
        try:
            result = upscale_image(upscaler, array, tile, on_pass)
        finally:
            if bar is not None:
                bar.close()
        written.append(save_image(result, target))
    return Summary(written, skipped)
