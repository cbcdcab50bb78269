"""Restoration scores with the conventions of the super-resolution literature.

**PSNR and SSIM on Y, border cropped.** SR papers (SRCNN, SRGAN, EDSR, ESRGAN) score the luma
channel only: Y of ITU-R BT.601 as MATLAB's ``rgb2ycbcr`` computes it for images in [0, 1],

    Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255,  in [16/255, 235/255],

and they drop ``border`` pixels on every side first, ``border`` = the scale, because the border
pixels of an upscaled image depend on how the network pads. Then, per image, with data range 1:

* PSNR = 10 log10(1 / MSE(Y_sr, Y_hr)) dB; identical images give +inf (JSON: null);
* SSIM as :func:`ganforge.metrics.image_quality.ssim` (Wang et al. 2004, 11x11 Gaussian window of
  sigma 1.5, K1 0.01, K2 0.03), on the Y channel.

Scores come per image (B,); a set's figure is the mean over its images (as the papers report).
Grayscale images (one channel) are their own Y. Images are (B, C, H, W): float in [-1, 1] or uint8.

The tests check both against scikit-image (``rgb2ycbcr``, ``peak_signal_noise_ratio``,
``structural_similarity``). Published numbers used MATLAB's bicubic for the LR inputs, so they
differ from these by a few tenths of a dB even for the same network.

**Patch FID/KID.** A few test images hold too few samples for FID, so :func:`image_patches` cuts
HR-sized images into a fixed, seeded set of patches and FID/KID compare the patches of G's outputs
with those of the HR images (the "patch FID" of, e.g., Chan et al. 2022's SR evaluations).
"""

from __future__ import annotations

import torch

from ganforge.errors import DataError
from ganforge.metrics.image_quality import ssim, to_unit

Tensor = torch.Tensor

BT601 = (65.481, 128.553, 24.966)  # MATLAB rgb2ycbcr's Y row for RGB in [0, 1], output in [0, 255]


def rgb_to_y(images: Tensor) -> Tensor:
    """(B, 3 or 1, H, W) float in [-1, 1] or uint8 -> Y (B, 1, H, W) float64 in [0, 1] (BT.601, the
    module's formula; a 1-channel image is returned as is)."""
    x = to_unit(images)  # float64 in [0, 1]
    if x.shape[1] == 1:
        return x
    if x.shape[1] != 3:
        raise DataError(f"Y needs RGB (3 channels) or grayscale (1) images; got {x.shape[1]} channels")
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return (16.0 + BT601[0] * r + BT601[1] * g + BT601[2] * b) / 255.0


def _y_pair(sr: Tensor, hr: Tensor, border: int) -> tuple[Tensor, Tensor]:
    if sr.shape != hr.shape or sr.ndim != 4:
        raise DataError(f"restoration scores compare two (B, C, H, W) batches of one shape; got "
                        f"{tuple(sr.shape)} and {tuple(hr.shape)}")
    h, w = sr.shape[-2:]
    if border < 0 or 2 * border >= min(h, w):
        raise DataError(f"a border crop of {border} px leaves nothing of {w}x{h} images")
    y_sr, y_hr = rgb_to_y(sr), rgb_to_y(hr)
    if border:
        y_sr, y_hr = y_sr[..., border:-border, border:-border], y_hr[..., border:-border, border:-border]
    return y_sr, y_hr


def psnr_y(sr: Tensor, hr: Tensor, border: int = 0) -> Tensor:
    """PSNR on Y in dB per image (B,), ``border`` pixels dropped on each side; +inf where equal."""
    y_sr, y_hr = _y_pair(sr, hr, border)
    mse = (y_sr - y_hr).square().flatten(1).mean(1)  # (B,)
    return 10.0 * torch.log10(1.0 / mse)  # 1 / 0 = inf -> +inf dB


def ssim_y(sr: Tensor, hr: Tensor, border: int = 0) -> Tensor:
    """SSIM on Y per image (B,), ``border`` pixels dropped on each side; 1 where equal."""
    y_sr, y_hr = _y_pair(sr, hr, border)
    return ssim(y_sr * 2.0 - 1.0, y_hr * 2.0 - 1.0)  # ssim takes [-1, 1] and maps back to [0, 1] exactly


def image_patches(images: list[Tensor], size: int, n: int, seed: int = 0) -> Tensor:
    """``n`` patches (n, C, size, size) drawn from the non-overlapping grids of ``images`` (each
    (C, H, W)): every grid position of every image, then a seeded choice of ``n`` of them (all
    when there are fewer). The same call on images of the same sizes picks the same positions, so
    patches of G's outputs and of the HR images correspond."""
    spots = [(i, top, left) for i, im in enumerate(images)
             for top in range(0, im.shape[-2] - size + 1, size) for left in range(0, im.shape[-1] - size + 1, size)]
    if not spots:
        raise DataError(f"no {size}x{size} patch fits in these images")
    g = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(len(spots), generator=g)[:n].sort().values if n < len(spots) else range(len(spots))
    return torch.stack([images[i][:, t:t + size, s:s + size] for i, t, s in (spots[int(k)] for k in chosen)])
