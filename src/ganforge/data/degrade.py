"""How low-resolution images are made from high-resolution ones, for super-resolution.

* **"bicubic"**, the standard protocol of SR benchmarks (SRCNN, SRGAN, EDSR): the high-resolution
  image, its sides cropped to a multiple of the scale ("mod crop"), is downscaled by the scale with
  bicubic interpolation with antialiasing (Keys' cubic, a = -0.5, widened by the scale as MATLAB's
  ``imresize`` does; here ``torch.nn.functional.interpolate(mode="bicubic", antialias=True)``), and
  rounded to 8-bit levels, as a low-resolution image saved to a file would be.
* **"blur-noise"**, a first-order version of Real-ESRGAN's degradations (Wang et al. 2021, sec.
  3.1): an isotropic Gaussian blur of standard deviation drawn uniformly in [0.2, ``blur_max``]
  (in high-resolution pixels) before the bicubic downscaling, then additive Gaussian noise of
  standard deviation drawn uniformly in [1, ``noise_max``] 8-bit levels, then 8-bit rounding. Each
  image draws its own blur and noise.

Randomness comes only from the ``torch.Generator`` given, so a degradation is a deterministic
function of the images and the generator's state (a seed).

Images are float tensors (N, C, H, W) in [-1, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError

Tensor = torch.Tensor

DEGRADATIONS = {
    "bicubic": "bicubic downscaling with antialiasing, rounded to 8 bits (the standard SR protocol)",
    "blur-noise": "Gaussian blur, bicubic downscaling, Gaussian noise, 8 bits (Real-ESRGAN's first order)",
}
BLUR_MIN = 0.2  # the smallest blur sigma drawn, HR pixels (Real-ESRGAN's range starts here)
NOISE_MIN = 1.0  # the smallest noise std drawn, 8-bit levels (Real-ESRGAN: [1, 30])


def mod_crop(x: Tensor, scale: int) -> Tensor:
    """(N, C, H, W) -> (N, C, H - H % scale, W - W % scale), keeping the top-left corner (the
    field's convention, so that an image and its downscaling line up exactly)."""
    h, w = x.shape[-2:]
    return x[..., : h - h % scale, : w - w % scale]


def quantize(x: Tensor) -> Tensor:
    """Round images in [-1, 1] to the 256 levels of an 8-bit file (values clamped to [-1, 1])."""
    return x.clamp(-1.0, 1.0).add(1.0).mul(127.5).round().div(127.5).sub(1.0)


def bicubic_down(x: Tensor, scale: int) -> Tensor:
    """(N, C, H, W) -> (N, C, H / scale, W / scale): bicubic with antialiasing; sides must divide."""
    h, w = x.shape[-2:]
    if h % scale or w % scale:
        raise ConfigError(f"a {w}x{h} image cannot be downscaled by {scale} exactly; mod_crop it first")
    return F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)


def bicubic_up(x: Tensor, scale: int) -> Tensor:
    """(N, C, h, w) -> (N, C, scale h, scale w): the bicubic baseline every SR model is compared with,
    clamped to [-1, 1] (bicubic overshoots at edges)."""
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False).clamp(-1.0, 1.0)


def gaussian_blur(x: Tensor, sigma: Tensor) -> Tensor:
    """Blur each image (N, C, H, W) with its own isotropic Gaussian of std ``sigma`` (N,) pixels.

    One kernel size for the batch, 2 ceil(3 max sigma) + 1; borders reflected.
    """
    n, c, h, w = x.shape
    radius = max(1, math.ceil(3.0 * float(sigma.max())))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)  # (k,)
    k1 = torch.exp(-0.5 * (t[None, :] / sigma.to(x)[:, None]) ** 2)  # (N, k)
    k1 = k1 / k1.sum(1, keepdim=True)
    kernels = (k1[:, :, None] * k1[:, None, :]).repeat_interleave(c, 0)[:, None]  # (N C, 1, k, k)
    padded = F.pad(x.reshape(1, n * c, h, w), (radius,) * 4, mode="reflect" if min(h, w) > radius else "replicate")
    return F.conv2d(padded, kernels, groups=n * c).reshape(n, c, h, w)


@dataclass
class Degradation:
    """HR -> LR as ``kind`` says (see the module); ``blur_max`` in HR pixels, ``noise_max`` in
    8-bit levels (used by "blur-noise" only)."""

    scale: int = 4
    kind: str = "bicubic"
    blur_max: float = 2.0
    noise_max: float = 10.0

    def __post_init__(self):
        if self.kind not in DEGRADATIONS:
            raise ConfigError(f"unknown degradation {self.kind!r}; valid: {', '.join(DEGRADATIONS)}")
        if self.kind == "blur-noise" and (self.blur_max < BLUR_MIN or self.noise_max < NOISE_MIN):
            raise ConfigError(f"data.blur_max must be >= {BLUR_MIN} and data.noise_max >= {NOISE_MIN} for "
                              f"the blur-noise degradation; got {self.blur_max} and {self.noise_max}")

    def __call__(self, hr: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """(N, C, H, W) in [-1, 1], sides multiples of the scale -> (N, C, H / s, W / s) on 8-bit levels."""
        x = hr.float()
        if self.kind == "blur-noise":
            g = generator if generator is not None else torch.Generator().manual_seed(0)
            n = x.shape[0]
            # draws on the CPU generator, in a fixed order, so the result depends on its state alone
            sigma = BLUR_MIN + (self.blur_max - BLUR_MIN) * torch.rand(n, generator=g, dtype=torch.float64)
            noise_std = NOISE_MIN + (self.noise_max - NOISE_MIN) * torch.rand(n, generator=g, dtype=torch.float64)
            x = gaussian_blur(x, sigma.float())
            lr = bicubic_down(x, self.scale)  # (N, C, h, w)
            noise = torch.randn(lr.shape, generator=g, dtype=torch.float32).to(lr.device)
            lr = lr + noise * (noise_std.float() * 2.0 / 255.0).view(-1, 1, 1, 1).to(lr.device)  # levels -> [-1, 1]
            return quantize(lr)
        return quantize(bicubic_down(x, self.scale))
