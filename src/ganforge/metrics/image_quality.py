"""Paired image quality: L1, PSNR and SSIM between translated images and their targets.

For a paired task (pix2pix) the output can be compared pixel by pixel with the ground truth. The
inputs are image batches (B, C, H, W): float tensors in the generators' scale [-1, 1] (mapped to
[0, 1] by (x + 1) / 2 and clamped there), or uint8 tensors (divided by 255). Every score is
computed per image on the [0, 1] scale, with data range 1, in float64, and returned per image
(B,); :func:`image_quality` averages them over the batch.

* L1: mean absolute error over channels and pixels.
* PSNR = 10 log10(1 / MSE) in dB, the MSE over channels and pixels of one image; identical images
  give +inf (written as null in JSON files). Averaging per-image PSNRs is not the PSNR of the
  pooled MSE; this module always reports the former.
* SSIM (Wang et al. 2004): local means, variances and covariance under an 11x11 Gaussian window of
  sigma 1.5 (population statistics), K1 = 0.01, K2 = 0.03, the SSIM map over the positions where
  the window fits inside the image, averaged, per channel, then over channels. These are the
  settings of the paper and of scikit-image's ``structural_similarity(gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False, data_range=1)``, which the tests check against.
"""

from __future__ import annotations

import torch

from ganforge.errors import DataError

Tensor = torch.Tensor

SSIM_WINDOW = 11  # Gaussian window side (Wang et al. 2004, sec. III-C)
SSIM_SIGMA = 1.5
SSIM_K1, SSIM_K2 = 0.01, 0.03
DATA_RANGE = 1.0  # images are compared on the [0, 1] scale


def to_unit(images: Tensor) -> Tensor:
    """(B, C, H, W) uint8, or float in [-1, 1] -> float64 in [0, 1]."""
    if images.dtype == torch.uint8:
        return images.to(torch.float64) / 255.0
    return ((images.to(torch.float64) + 1.0) / 2.0).clamp_(0.0, 1.0)


def _pair(fake: Tensor, real: Tensor) -> tuple[Tensor, Tensor]:
    if fake.shape != real.shape or fake.ndim != 4:
        raise DataError(f"image quality compares two (B, C, H, W) batches of one shape; got "
                        f"{tuple(fake.shape)} and {tuple(real.shape)}")
    return to_unit(fake), to_unit(real)


def l1_error(fake: Tensor, real: Tensor) -> Tensor:
    """Mean absolute error per image on the [0, 1] scale: (B,)."""
    x, y = _pair(fake, real)
    return (x - y).abs().flatten(1).mean(1)


def psnr(fake: Tensor, real: Tensor) -> Tensor:
    """Peak signal-to-noise ratio per image in dB, data range 1: (B,); +inf where the images match."""
    x, y = _pair(fake, real)
    mse = (x - y).square().flatten(1).mean(1)  # (B,)
    return 10.0 * torch.log10(DATA_RANGE**2 / mse)  # 1 / 0 = inf -> inf dB


def _gaussian_window(device) -> Tensor:
    """The normalised 1D Gaussian of :data:`SSIM_WINDOW` taps and sigma :data:`SSIM_SIGMA`."""
    r = SSIM_WINDOW // 2
    t = torch.arange(-r, r + 1, dtype=torch.float64, device=device)
    w = torch.exp(-0.5 * (t / SSIM_SIGMA) ** 2)
    return w / w.sum()  # (11,)


def _band(n: int, w: Tensor) -> Tensor:
    """(n, n - 10) matrix whose column j holds the window at rows j..j+10: 'valid' filtering as a
    matrix product, which runs on the fast float64 matmul path (float64 convolutions do not)."""
    m = n - w.numel() + 1
    k = torch.zeros(n, m, dtype=w.dtype, device=w.device)
    cols = torch.arange(m, device=w.device)
    for tap in range(w.numel()):
        k[cols + tap, cols] = w[tap]
    return k


def _blur(x: Tensor, w: Tensor) -> Tensor:
    """Separable 'valid' Gaussian filtering of each map: (..., H, W) -> (..., H - 10, W - 10)."""
    h, width = x.shape[-2:]
    return _band(h, w).T @ (x @ _band(width, w))  # along W, then along H


def ssim(fake: Tensor, real: Tensor) -> Tensor:
    """Structural similarity per image (Wang et al. 2004), averaged over channels: (B,)."""
    x, y = _pair(fake, real)
    h, width = x.shape[-2:]
    if min(h, width) < SSIM_WINDOW:
        raise DataError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels (its Gaussian "
                        f"window); got {h}x{width}")
    w = _gaussian_window(x.device)
    # a few images at a time: the five float64 maps per channel of a large batch would not fit
    return torch.cat([_ssim(x[i:i + _SSIM_CHUNK], y[i:i + _SSIM_CHUNK], w) for i in range(0, len(x), _SSIM_CHUNK)])


_SSIM_CHUNK = 8


def _ssim(x: Tensor, y: Tensor, w: Tensor) -> Tensor:
    """SSIM of (b, C, H, W) float64 images in [0, 1]: (b,)."""
    c1, c2 = (SSIM_K1 * DATA_RANGE) ** 2, (SSIM_K2 * DATA_RANGE) ** 2
    # one filtering pass over the five maps of every channel: x, y, x^2, y^2, xy
    maps = torch.stack([x, y, x * x, y * y, x * y], dim=2)  # (b, C, 5, H, W)
    mu_x, mu_y, e_xx, e_yy, e_xy = _blur(maps, w).unbind(2)  # each (b, C, H - 10, W - 10)
    var_x = e_xx - mu_x * mu_x  # population (1/N) statistics under the window
    var_y = e_yy - mu_y * mu_y
    cov = e_xy - mu_x * mu_y
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2))
    return s.flatten(2).mean(2).mean(1)  # (b, C, h', w') -> per channel -> per image


def image_quality(fake: Tensor, real: Tensor) -> dict[str, float]:
    """Batch means of the per-image scores: {"l1", "psnr", "ssim"} (PSNR inf when any pair matches)."""
    scores = {"l1": l1_error(fake, real), "psnr": psnr(fake, real), "ssim": ssim(fake, real)}
    return {k: float(v.mean()) for k, v in scores.items()}
