"""SRResNet: the super-resolution generator of SRGAN (Ledig et al. 2017), in EDSR's lighter form.

    LR (B, C, h, w) -> head conv -> n residual blocks -> conv, + head (long skip)
                    -> log2(scale) x [conv to 4x channels, pixel shuffle x2, PReLU] -> conv -> (B, C, s h, s w)
                    + bicubic(LR) (global residual)

* **Residual blocks** without batch norm: conv-PReLU-conv, the block's output scaled by
  ``res_scale`` before it is added back (EDSR, Lim et al. 2017, sec. 3.1: batch norm removed, which
  improves PSNR and lets a network trained on small patches run on whole images unchanged; ESRGAN
  keeps BN out for the same reason, Wang et al. 2018, sec. 3.1).
* **Sub-pixel upsampling** (Shi et al. 2016, "Real-Time Single Image and Video Super-Resolution
  Using an Efficient Sub-Pixel Convolutional Neural Network"): a convolution at the low
  resolution makes r^2 channels per output channel and ``PixelShuffle(r)`` rearranges them into an
  r-times larger image, (B, 4C, h, w) -> (B, C, 2h, 2w) for r = 2; x4 is two such stages.
* **Global residual**: the network predicts the difference to the bicubic upscaling of its input
  (VDSR, Kim et al. 2016), so an untrained G already gives bicubic quality and training spends its
  capacity on the missing detail.

Every layer is a 3x3 convolution (EDSR), so the network is translation-equivariant: away from the
image border, each output pixel depends only on the input pixels in its :meth:`receptive_field`,
which is what lets ``ganforge upscale`` process large images in overlapping tiles.

``self.config`` holds the constructor arguments, the network's whole description.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError

SCALES = (2, 4, 8)  # powers of two: one x2 sub-pixel stage each
DEFAULT_BLOCKS = 16  # SRGAN's B = 16 residual blocks


class ResidualBlock(nn.Module):
    """x + res_scale * conv(PReLU(conv(x))), no normalisation (EDSR)."""

    def __init__(self, channels: int, res_scale: float = 1.0):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1), nn.PReLU(channels),
                                  nn.Conv2d(channels, channels, 3, 1, 1))
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.body(x)  # (B, C, h, w)


class SubPixelUpsample(nn.Sequential):
    """(B, C, h, w) -> (B, C, 2h, 2w): conv to 4C channels, then PixelShuffle(2) (Shi et al. 2016).

    The convolution is initialised "ICNR" (Aitken et al. 2017): the four sub-pixel kernels of each
    output channel start equal, so the untrained layer is a nearest-neighbour upsampling of a
    convolution and shows no checkerboard.
    """

    def __init__(self, channels: int):
        conv = nn.Conv2d(channels, 4 * channels, 3, 1, 1)
        with torch.no_grad():  # ICNR: PixelShuffle takes output channel c from conv channels 4c..4c+3
            kernel = torch.empty(channels, channels, 3, 3)
            nn.init.kaiming_uniform_(kernel, a=math.sqrt(5))
            conv.weight.copy_(kernel.repeat_interleave(4, dim=0))  # (4C, C, 3, 3)
            conv.bias.copy_(conv.bias.view(channels, 4)[:, :1].expand(channels, 4).reshape(-1))
        super().__init__(conv, nn.PixelShuffle(2), nn.PReLU(channels))


def check_scale(scale: int) -> int:
    """``scale`` when it is one the network supports, else a one-line ConfigError."""
    if scale not in SCALES:
        raise ConfigError(f"super-resolution scale must be one of {', '.join(map(str, SCALES))}, got {scale}")
    return scale


class SRResNet(nn.Module):
    """Low-resolution images (B, channels, h, w) in [-1, 1] -> (B, channels, scale h, scale w).

    Args:
        channels: image channels (3 RGB, 1 grayscale).
        scale: upscaling factor, 2, 4 or 8.
        width: feature channels (64 in SRGAN and EDSR-baseline).
        blocks: residual blocks (16 in SRGAN and EDSR-baseline).
        res_scale: residual scaling inside the blocks (EDSR uses 0.1 for its wide model; 1 here).
        bicubic_skip: add the bicubic upscaling of the input to the output (global residual, VDSR).
    """

    def __init__(self, channels: int = 3, scale: int = 4, width: int = 64, blocks: int = DEFAULT_BLOCKS,
                 res_scale: float = 1.0, bicubic_skip: bool = True):
        super().__init__()
        check_scale(scale)
        if channels < 1 or width < 1 or blocks < 0:
            raise ConfigError(f"SRResNet needs channels >= 1, width >= 1 and blocks >= 0; got {channels}, "
                              f"{width}, {blocks}")
        self.config = {"channels": channels, "scale": scale, "width": width, "blocks": blocks,
                       "res_scale": res_scale, "bicubic_skip": bicubic_skip}
        self.channels, self.scale, self.blocks, self.bicubic_skip = channels, scale, blocks, bicubic_skip
        self.head = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1), nn.PReLU(width))
        self.body = nn.Sequential(*[ResidualBlock(width, res_scale) for _ in range(blocks)],
                                  nn.Conv2d(width, width, 3, 1, 1))
        self.upsample = nn.Sequential(*[SubPixelUpsample(width) for _ in range(int(math.log2(scale)))])
        self.tail = nn.Conv2d(width, channels, 3, 1, 1)
        if bicubic_skip:  # start as plain bicubic: the residual branch's last layer outputs zeros
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    def receptive_field(self) -> int:
        """Side, in input pixels, of the window one output pixel depends on (rounded up).

        Each 3x3 convolution at the input's resolution widens the window by 2 pixels, one at
        2x by 1, one at 4x by 1/2, ...; the bicubic skip reads 4 input pixels.
        """
        stages = int(math.log2(self.scale))
        low = 2 + 4 * self.blocks + 2  # head, the blocks' two convolutions each, the body's last conv
        up = sum(2 / 2**k for k in range(stages))  # each stage's convolution, at 2^k times the input
        tail = 2 / self.scale
        return max(4 if self.bicubic_skip else 1, math.ceil(1 + low + up + tail))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)  # (B, W, h, w)
        h = h + self.body(h)  # long skip over the residual blocks (SRGAN fig. 4)
        out = self.tail(self.upsample(h))  # (B, C, s h, s w)
        if self.bicubic_skip:
            out = out + F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return out
