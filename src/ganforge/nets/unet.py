"""The U-Net generator of pix2pix (Isola et al. 2017, sec. 3.2.1 and appendix 6.1.1).

An encoder halves the image ``depth`` times with 4x4 stride-2 convolutions (norm, LeakyReLU 0.2);
a decoder doubles it back with 4x4 stride-2 transposed convolutions (norm, ReLU) and, at every
level, concatenates the encoder's features of the same size (the skip connections of Ronneberger
et al. 2015), so low-level structure such as edges passes straight from input to output. The last
layer maps to ``out_channels`` with tanh, images in [-1, 1].

pix2pix's G takes no z: its only noise is dropout 0.5 on the innermost decoder layers, applied at
training *and* at test time (sec. 2.2), so by default it stays active in ``eval()`` too; pass
``dropout_in_eval=False`` for a deterministic G in eval mode. The paper also normalises with the
test batch's own statistics at test time; with batch norm that means running G in train mode (a
choice of the game), while instance norm behaves the same in both modes.

With the defaults (256 px, depth 8, ngf 64) this is the paper's network:
encoder C64-C128-C256-C512-C512-C512-C512-C512 (no norm on the first, nor on the innermost,
1x1 layer), decoder CD512-CD1024-CD1024-C1024-C1024-C512-C256-C128 (input channels, skip
included). 128 px uses depth 7. Any resolution divisible by ``2**depth`` works, and the network is
fully convolutional, so any input whose sides are divisible by ``2**depth`` does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.layers import NORMS, gaussian_init_, norm2d

MAX_WIDTH_FACTOR = 8  # widths grow ngf, 2 ngf, 4 ngf, 8 ngf and stay at 8 ngf (512 for ngf 64)


class UNetGenerator(nn.Module):
    """images (B, in_channels, R, R) -> images (B, out_channels, R, R) in [-1, 1].

    Args:
        in_channels: channels of the input image (3 for a photo, 1 for a grayscale map).
        out_channels: channels of the output image.
        resolution: the side the network is built for; must be a multiple of ``2**depth``.
        ngf: width of the first encoder layer (64 in the paper).
        depth: number of stride-2 downsamplings (8 for 256 px as in the paper, 7 for 128 px).
        norm: "batch" (the paper), "instance" or "none" (see :data:`~ganforge.nets.layers.NORMS`).
        dropout: dropout probability on the innermost decoder layers (0.5 in the paper; 0 = none).
        n_dropout: how many of the innermost decoder layers get dropout (3 in the paper; at most
            ``depth - 1`` are used, the outermost layer never has it).
        dropout_in_eval: keep dropout active in ``eval()`` mode, as the paper does at test time.

    The constructor arguments are the network's whole description; they are kept in
    ``self.config`` so that ``UNetGenerator(**config)`` rebuilds it from a checkpoint.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 3, resolution: int = 256, ngf: int = 64,
                 depth: int = 8, norm: str = "batch", dropout: float = 0.5, n_dropout: int = 3,
                 dropout_in_eval: bool = True):
        super().__init__()
        self.config = {
            "in_channels": in_channels, "out_channels": out_channels, "resolution": resolution, "ngf": ngf,
            "depth": depth, "norm": norm, "dropout": dropout, "n_dropout": n_dropout,
            "dropout_in_eval": dropout_in_eval,
        }
        _check_args(in_channels, out_channels, resolution, ngf, depth, norm, dropout, n_dropout)
        self.depth, self.dropout, self.dropout_in_eval = depth, dropout, dropout_in_eval
        self.n_dropout = min(n_dropout, depth - 1) if dropout > 0 else 0
        widths = [ngf * min(2**i, MAX_WIDTH_FACTOR) for i in range(depth)]  # encoder, fine -> coarse
        bias = norm != "batch"  # batch norm's shift makes a conv bias redundant

        # Encoder: level i halves the size and has widths[i] channels. The first layer has no norm
        # (the paper's exception); the innermost has none either: at full depth it is 1x1, where
        # instance norm would output zeros and batch norm would depend on the batch size alone.
        self.down = nn.ModuleList()
        self.down_norms = nn.ModuleList()
        c_in = in_channels
        for i, w in enumerate(widths):
            plain = i in (0, depth - 1)
            self.down.append(nn.Conv2d(c_in, w, 4, 2, 1, bias=bias or plain))
            self.down_norms.append(nn.Identity() if plain else norm2d(norm, w))
            c_in = w

        # Decoder: step j (0 = innermost) doubles the size; its output has the width of the
        # encoder level it is concatenated with, so its input is twice that after the first step.
        self.up = nn.ModuleList()
        self.up_norms = nn.ModuleList()
        for j in range(depth):
            last = j == depth - 1
            c_in = widths[-1] if j == 0 else 2 * widths[depth - 1 - j]
            c_out = out_channels if last else widths[depth - 2 - j]
            self.up.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias or last))
            self.up_norms.append(nn.Identity() if last else norm2d(norm, c_out))
        gaussian_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        side = 2**self.depth
        if x.shape[-1] % side or x.shape[-2] % side:
            raise ValueError(f"U-Net of depth {self.depth} needs image sides divisible by {side}; "
                             f"got {x.shape[-2]}x{x.shape[-1]}")
        skips = []
        h = x  # (B, in_channels, H, W)
        for i, (conv, norm) in enumerate(zip(self.down, self.down_norms)):
            if i > 0:
                h = F.leaky_relu(h, 0.2)
            h = norm(conv(h))  # (B, widths[i], H / 2^(i+1), W / 2^(i+1))
            skips.append(h)
        drop = self.training or self.dropout_in_eval
        for j, (conv, norm) in enumerate(zip(self.up, self.up_norms)):
            h = norm(conv(F.relu(h)))  # (B, c_out, 2 h, 2 w)
            if j < self.n_dropout:
                h = F.dropout(h, self.dropout, training=drop)  # G's only noise source (sec. 2.2)
            if j < self.depth - 1:
                h = torch.cat([skips[self.depth - 2 - j], h], dim=1)  # skip of the same size
        return torch.tanh(h)  # (B, out_channels, H, W)


def _check_args(in_channels, out_channels, resolution, ngf, depth, norm, dropout, n_dropout) -> None:
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("ngf", ngf),
                        ("depth", depth)):
        if value < 1:
            raise ConfigError(f"U-Net {name} must be >= 1, got {value}")
    if norm not in NORMS:
        raise ConfigError(f"unknown U-Net norm {norm!r}; valid: {', '.join(NORMS)}")
    if resolution < 2**depth or resolution % 2**depth:
        raise ConfigError(
            f"U-Net of depth {depth} needs a resolution that is a multiple of 2^{depth} = {2**depth}; "
            f"got {resolution} (use depth 8 for 256, 7 for 128, 6 for 64)")
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"U-Net dropout must be in [0, 1), got {dropout}")
    if n_dropout < 0:
        raise ConfigError(f"U-Net n_dropout must be >= 0, got {n_dropout}")
