"""Using a trained inpainting model on images of any size, and on files and folders.

A mask is an image of the same width and height as its input: white (gray >= 128) marks the
pixels to fill, black the pixels to keep. Colour masks are read through their luma, palette and
16-bit PNGs are converted (16-bit: the top 8 bits), alpha is dropped. A mask of another size than
its image is refused (nothing is guessed about how it should line up), as is a mask with no white
pixel (nothing to fill).

The model was trained on R x R images (``.resolution``). As ``ganforge translate`` does
(:func:`ganforge.translate.translate_any_size`), the masked image and its mask are resized to
R x R (bicubic, antialiased), completed, and the completion resized back; any pixel the resized
mask touches counts as hole, so the hole only grows on the way down. ``tile`` completes
overlapping R x R tiles at the image's own scale instead. Then, by default, every known pixel is
pasted back from the input exactly (``paste=False`` keeps the model's resized-back output there),
so only the hole's pixels change. An RGB image given to a grayscale model is converted to gray
first (ITU-R 601-2 luma), so "exactly" means the gray values.

    P = load_inpainter("runs/inpaint-cifar10")
    out = inpaint_image(P, Image.open("photo.png"), Image.open("mask.png"))   # PIL, the photo's size

:func:`inpaint_path` is ``ganforge inpaint``: an image or a folder (or archive) in, PNG files out
with the inputs' names, every check made before the first file is written.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.data import folders
from ganforge.errors import ConfigError, DataError
from ganforge.translate import (
    Inputs,
    Summary,
    find_inputs,
    plan_outputs,
    process_images,
    seeded,
    to_model_input,
    to_pil,
    translate_any_size,
)

Tensor = torch.Tensor
MASK_THRESHOLD = 128  # gray level from which a mask pixel means "fill"


class SmallInputWarning(UserWarning):
    """An input smaller than the model's training size: it is upscaled, and the result is blurry."""


def load_inpainter(path_or_run, ema: bool = True, device="cpu"):
    """The completion network of an inpaint run (its latest checkpoint) or checkpoint directory, as
    a :class:`~ganforge.engine.generator.Translator` from (masked image + mask) to images."""
    from ganforge.engine.generator import Translator, load_networks

    cfg, spec, nets = load_networks(path_or_run, device)
    if cfg.model.game != "inpaint":
        raise ConfigError(f"{path_or_run} is not an inpainting model (model.game {cfg.model.game!r}); "
                          f"train one with model.game inpaint, e.g. --preset inpaint-cifar10")
    net = nets["G_ema"] if ema and "G_ema" in nets else nets["G"]
    c = spec.data_shape[0]
    return Translator(net, c + 1, c, spec.data_shape[1], "inpaint", "inpaint")


# ----------------------------------------------------------------------------- masks


def mask_array(image) -> np.ndarray:
    """A mask (PIL image, (H, W[, C]) array, or PNG/JPEG bytes) -> (H, W) bool, True = fill."""
    if isinstance(image, np.ndarray) and image.dtype == np.bool_:
        return image
    if isinstance(image, (bytes, bytearray)):
        image = folders.decode_image(bytes(image))  # palette -> RGB, 16-bit -> top 8 bits
    if isinstance(image, np.ndarray):
        image = np.array(image)  # a writable copy: torch will not wrap a read-only array silently
    gray = to_model_input(image, 1)[0, 0]  # (H, W) in [-1, 1]
    return (gray.add(1).mul(127.5).round() >= MASK_THRESHOLD).numpy()


def check_mask(mask: np.ndarray, size: tuple[int, int], what: str) -> None:
    """One-line errors for a mask of the wrong size (height, width) or without a hole."""
    if mask.shape != tuple(size):
        raise DataError(f"{what} is {mask.shape[1]}x{mask.shape[0]} but its image is {size[1]}x{size[0]}; "
                        f"a mask must have its image's size (it is not resized)")
    if not mask.any():
        raise DataError(f"{what} has no white pixel: nothing to fill (white, gray >= {MASK_THRESHOLD}, "
                        f"marks the hole)")


# ----------------------------------------------------------------------------- completion


@torch.no_grad()
def complete(inpainter, x: Tensor, masks: Tensor, tile: bool = False) -> Tensor:
    """Complete images (N, C, H, W) in [-1, 1] with holes ``masks`` (N, 1, H, W) bool -> the model's
    output everywhere (N, C, H, W); paste known pixels with :func:`ganforge.games.inpaint.composite`."""
    m = masks.to(x.dtype)
    return translate_any_size(inpainter, torch.cat([x * (1 - m), m], 1), tile)


def inpaint_image(inpainter, image, mask, tile: bool = False, paste: bool = True, seed: int = 0) -> Image.Image:
    """Fill the white part of ``mask`` in ``image`` (PIL images or arrays of one size) -> a PIL image
    of the image's size with the model's channels ("L" or "RGB")."""
    c = inpainter.out_channels
    x = to_model_input(np.array(image) if isinstance(image, np.ndarray) else image, c)  # (1, C, H, W) in [-1, 1]
    hole = mask_array(mask)
    check_mask(hole, tuple(x.shape[-2:]), "the mask")
    r = inpainter.resolution
    if min(x.shape[-2:]) < r:
        warnings.warn(f"the image is {x.shape[-1]}x{x.shape[-2]}, smaller than the model's {r}x{r}: "
                      f"{'tiles are mirrored out to' if tile else 'it is upscaled to'} {r}x{r}, expect a "
                      f"blurry fill", SmallInputWarning, stacklevel=2)
    masks = torch.from_numpy(hole)[None, None]  # (1, 1, H, W)
    with seeded(seed, next(inpainter.parameters()).device):
        out = complete(inpainter, x, masks, tile)  # (1, C, H, W)
    result = np.asarray(to_pil(out[0]))
    if paste:  # known pixels exactly as given (after the channel conversion), in 8 bits
        known = np.asarray(to_pil(x[0]))
        result = np.where(hole if result.ndim == 2 else hole[:, :, None], result, known)
    return Image.fromarray(result)


# ----------------------------------------------------------------------------- files


def _size(reader) -> tuple[int, int] | None:
    """(height, width) of an image file from its header, None when it cannot be read."""
    try:
        with Image.open(io.BytesIO(reader())) as im:
            return im.size[1], im.size[0]
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


def find_masks(inputs: Inputs, mask: str | Path) -> dict[str, bytes]:
    """The mask bytes of each input (relative path -> bytes), checked before anything is written.

    ``mask`` is one image (used for every input) or a folder whose files match the inputs' names
    (same relative path, any image extension: ``photos/a.jpg`` takes ``masks/a.png``).
    """
    p = Path(mask).expanduser()
    if not p.exists():
        raise DataError(f"--mask {p} does not exist; give a mask image (white = fill) or a folder of them "
                        f"named like the inputs")
    if p.is_file():
        data = p.read_bytes()
        found = {rel: data for rel in inputs.readers}
        names = {rel: p.name for rel in inputs.readers}
    else:
        readers = folders.scan(p)
        by_stem = {str(Path(rel).with_suffix("")): rel for rel in readers}
        found, names = {}, {}
        for rel in inputs.readers:
            key = str(Path(rel).with_suffix(""))
            if key not in by_stem:
                raise DataError(f"no mask for {rel} in {p}: masks are matched by name ({key}.png, .jpg, ...)")
            found[rel], names[rel] = readers[by_stem[key]](), f"{p.name}/{by_stem[key]}"
    decoded = {}
    for rel, data in found.items():
        if id(data) not in decoded:
            try:
                decoded[id(data)] = mask_array(data)
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
                raise DataError(f"cannot read mask {names[rel]}: {e}") from None
        size = _size(inputs.readers[rel])
        if size is not None:
            check_mask(decoded[id(data)], size, f"mask {names[rel]} (for {rel})")
    return found


def inpaint_path(inpainter, source, mask, out, *, tile: bool = False, paste: bool = True, overwrite: bool = False,
                 seed: int = 0, progress: bool | None = None) -> Summary:
    """``ganforge inpaint``: fill the holes of INPUT (an image, a folder or an archive) given by
    ``mask`` (one image or a folder of them) into ``out``. Everything is checked (inputs, masks,
    sizes, holes, free targets) before the first write; each file is written atomically; an
    unreadable image in a folder is skipped with a warning."""
    inputs = source if isinstance(source, Inputs) else find_inputs(source)
    plan = plan_outputs(inputs, out, overwrite)
    masks = find_masks(inputs, mask)
    return process_images(inputs, plan,
                          lambda rel, array: inpaint_image(inpainter, array, mask_array(masks[rel]), tile, paste, seed),
                          "inpainting", progress)
