"""The ResNet image-to-image generator of CycleGAN (Zhu et al. 2017, appendix 7.2), after Johnson
et al. 2016's style-transfer network.

    c7s1-ngf, d(2 ngf), d(4 ngf), n x R(4 ngf), u(2 ngf), u(ngf), c7s1-out, tanh

c7s1-k: reflection padding 3, 7x7 convolution with k filters, norm, ReLU. d-k: 3x3 stride-2
convolution, norm, ReLU. R-k: residual block of two reflection-padded 3x3 convolutions (norm after
each, ReLU between) added to its input (He et al. 2016). u-k: 3x3 stride-2 transposed convolution,
norm, ReLU. Instance norm throughout (Ulyanov et al. 2016). The paper uses 6 blocks for 128x128
images and 9 for 256x256 and larger (:func:`default_blocks`).

The upsamplings are given the size of the matching downsampling's input, so any image of at least
5x5 pixels comes out at its own size (the reflection padding of the blocks needs 2 pixels at the
quarter-resolution bottleneck), not only sides divisible by 4.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.layers import NORMS, gaussian_init_, norm2d

N_DOWN = 2  # stride-2 downsamplings (and upsamplings): the bottleneck is at a quarter of the size


def default_blocks(resolution: int) -> int:
    """Residual blocks the paper uses at ``resolution``: 6 up to 128 px, 9 above."""
    return 6 if resolution <= 128 else 9


class ResidualBlock(nn.Module):
    """x + [pad, conv3, norm, ReLU, (dropout), pad, conv3, norm](x); (B, C, H, W) -> (B, C, H, W)."""

    def __init__(self, channels: int, norm: str, dropout: float, bias: bool):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm2d(norm, channels), nn.ReLU(True),
            nn.Dropout(dropout) if dropout > 0 else nn.Identity(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm2d(norm, channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResNetTranslator(nn.Module):
    """images (B, in_channels, H, W) -> images (B, out_channels, H, W) in [-1, 1].

    Args:
        in_channels, out_channels: channels of the input and output images.
        ngf: width of the first layer (64 in the paper); the blocks have 4 ngf channels.
        n_blocks: residual blocks at the bottleneck (6 for 128 px, 9 for 256 px).
        norm: "instance" (the paper), "batch" or "none".
        dropout: dropout inside each residual block (0 in CycleGAN).

    ``self.config`` holds the constructor arguments (the network's whole description).
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64, n_blocks: int = 9,
                 norm: str = "instance", dropout: float = 0.0):
        super().__init__()
        self.config = {"in_channels": in_channels, "out_channels": out_channels, "ngf": ngf,
                       "n_blocks": n_blocks, "norm": norm, "dropout": dropout}
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("ngf", ngf)):
            if value < 1:
                raise ConfigError(f"ResNet translator {name} must be >= 1, got {value}")
        if n_blocks < 0:
            raise ConfigError(f"ResNet translator n_blocks must be >= 0, got {n_blocks}")
        if norm not in NORMS:
            raise ConfigError(f"unknown ResNet translator norm {norm!r}; valid: {', '.join(NORMS)}")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"ResNet translator dropout must be in [0, 1), got {dropout}")
        bias = norm != "batch"  # batch norm's shift makes a conv bias redundant
        self.stem = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias), norm2d(norm, ngf), nn.ReLU(True))
        widths = [ngf * 2**i for i in range(N_DOWN + 1)]  # ngf, 2 ngf, 4 ngf
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c_in, c_out, 3, 2, 1, bias=bias), norm2d(norm, c_out), nn.ReLU(True))
            for c_in, c_out in itertools.pairwise(widths)
        )
        self.blocks = nn.Sequential(*(ResidualBlock(widths[-1], norm, dropout, bias) for _ in range(n_blocks)))
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(c_in, c_out, 3, 2, 1, output_padding=1, bias=bias)
            for c_in, c_out in zip(widths[:0:-1], widths[-2::-1])
        )
        self.up_norms = nn.ModuleList(norm2d(norm, c) for c in widths[-2::-1])
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7))
        gaussian_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if min(x.shape[-2:]) < 5:
            raise ValueError(f"the ResNet translator needs images of at least 5x5; got {x.shape[-2]}x{x.shape[-1]}")
        h = self.stem(x)  # (B, ngf, H, W)
        sizes = []
        for down in self.down:
            sizes.append(h.shape[-2:])
            h = down(h)  # halves the size (rounding up): (B, 2 ngf, H/2, W/2), then (B, 4 ngf, H/4, W/4)
        h = self.blocks(h)  # (B, 4 ngf, H/4, W/4)
        for up, norm, size in zip(self.up, self.up_norms, reversed(sizes)):
            # output_size picks the output padding that restores the size before the matching down
            h = F.relu(norm(up(h, output_size=list(size))))  # (B, 2 ngf, H/2, W/2), then (B, ngf, H, W)
        return torch.tanh(self.head(h))  # (B, out_channels, H, W)
