"""The PatchGAN discriminator of pix2pix and CycleGAN (Isola et al. 2017, sec. 2.2.2 and 6.1.2).

Instead of one real/fake score per image, D outputs a map of logits, one per overlapping patch:
it only judges local texture and high-frequency structure, which the L1 or cycle term leaves
blurry, while the reconstruction term takes care of low frequencies. The losses average over the
map (every objective in :mod:`ganforge.objectives.losses` takes the mean over all elements).

Layers, with ``ndf`` 64 and ``n_layers`` 3 (the "70x70 PatchGAN"): C64-C128-C256 with 4x4 stride-2
convolutions, C512 with a 4x4 stride-1 convolution, then a 4x4 stride-1 convolution to one channel;
norm on every layer but the first, LeakyReLU 0.2. Each output logit sees a 70x70 window of the
input (:func:`receptive_field`); on a 256x256 input the map is 30x30 (:func:`output_size`).

For pix2pix, D is conditional: it judges the pair (input, output) concatenated along the channels,
so ``in_channels`` is the sum of both images' channels. CycleGAN's D judges one image.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.nets.layers import NORMS, gaussian_init_, maybe_sn, norm2d

MAX_WIDTH_FACTOR = 8  # widths ndf, 2 ndf, 4 ndf, 8 ndf, then stay at 8 ndf


def _kernels(n_layers: int) -> list[tuple[int, int]]:
    """(kernel, stride) of each convolution, input to output."""
    return [(4, 2)] * n_layers + [(4, 1), (4, 1)]


def receptive_field(n_layers: int) -> int:
    """Side of the input window one output logit depends on: 70 for ``n_layers`` = 3.

    Walking back from one output pixel, a layer of kernel k and stride s grows the window from r to
    (r - 1) s + k: 1 -> 4 -> 7 -> 16 -> 34 -> 70 for three stride-2 layers.
    """
    r = 1
    for k, s in reversed(_kernels(n_layers)):
        r = (r - 1) * s + k
    return r


def output_size(size: int, n_layers: int) -> int:
    """Side of the logit map for an input side of ``size`` (padding 1 everywhere)."""
    for k, s in _kernels(n_layers):
        size = (size + 2 - k) // s + 1
    return size


class PatchGANDiscriminator(nn.Module):
    """images (B, in_channels, H, W) -> logits (B, 1, H', W'), one per patch.

    Args:
        in_channels: channels D sees (pix2pix: input + output channels, e.g. 3 + 3 = 6).
        ndf: width of the first layer (64 in the papers).
        n_layers: stride-2 layers; 3 gives the 70x70 PatchGAN, 1 a 16x16 one, 5 a 286x286 one.
        norm: "instance" (default), "batch" (pix2pix's choice) or "none". Instance norm is the
            default because batch norm couples the samples of a batch, which per-sample gradient
            penalties and a D judging real and fake in one pass both rule out (see DESIGN.md).
        spectral_norm: wrap every convolution in spectral normalisation (Miyato et al. 2018).

    ``self.config`` holds the constructor arguments (the network's whole description).
    """

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int = 3, norm: str = "instance",
                 spectral_norm: bool = False):
        super().__init__()
        self.config = {"in_channels": in_channels, "ndf": ndf, "n_layers": n_layers, "norm": norm,
                       "spectral_norm": spectral_norm}
        for name, value in (("in_channels", in_channels), ("ndf", ndf), ("n_layers", n_layers)):
            if value < 1:
                raise ConfigError(f"PatchGAN {name} must be >= 1, got {value}")
        if norm not in NORMS:
            raise ConfigError(f"unknown PatchGAN norm {norm!r}; valid: {', '.join(NORMS)}")
        self.n_layers = n_layers
        bias = norm != "batch"  # batch norm's shift makes a conv bias redundant
        layers: list[nn.Module] = []
        c_in = in_channels
        for i, (k, s) in enumerate(_kernels(n_layers)[:-1]):
            c_out = ndf * min(2**i, MAX_WIDTH_FACTOR)
            first = i == 0
            conv = gaussian_init_(nn.Conv2d(c_in, c_out, k, s, 1, bias=bias or first))
            layers += [maybe_sn(conv, spectral_norm)]
            layers += [nn.Identity() if first else norm2d(norm, c_out), nn.LeakyReLU(0.2)]
            c_in = c_out
        out = gaussian_init_(nn.Conv2d(c_in, 1, 4, 1, 1))  # one logit per patch, no activation
        layers.append(maybe_sn(out, spectral_norm))
        self.body = nn.Sequential(*layers)

    @property
    def receptive_field(self) -> int:
        """Side of the input window each logit sees (see :func:`receptive_field`)."""
        return receptive_field(self.n_layers)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every hidden layer's activation (after its LeakyReLU), then the logits: what feature
        matching compares (Wang et al. 2018, pix2pixHD sec. 3.2)."""
        out = []
        for layer in self.body:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                out.append(x)
        return out + [x]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if output_size(min(x.shape[-2:]), self.n_layers) < 1:
            smallest = 3 * 2**self.n_layers  # the smallest side whose logit map is not empty
            raise ValueError(f"PatchGAN with n_layers {self.n_layers} needs images of at least "
                             f"{smallest}x{smallest}; got {x.shape[-2]}x{x.shape[-1]}")
        return self.body(x)  # (B, 1, H / 2^n_layers - 2, W / 2^n_layers - 2)
