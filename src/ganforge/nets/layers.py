"""The few layers shared by the network families."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from ganforge.errors import ConfigError, unknown_name

ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "tanh": lambda: nn.Tanh(),
    "elu": lambda: nn.ELU(),
    "gelu": lambda: nn.GELU(),
}


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise unknown_name("activation", name, ACTIVATIONS)
    return ACTIVATIONS[name]()


def maybe_sn(layer: nn.Module, enabled: bool) -> nn.Module:
    """Wrap ``layer`` in spectral normalisation (Miyato et al. 2018) when ``enabled``."""
    return spectral_norm(layer) if enabled else layer


class Maxout(nn.Module):
    """Maxout unit (Goodfellow et al. 2013): a linear layer with ``pieces`` outputs per unit, max over them.

    PacGAN's 2D experiments use maxout discriminators (Lin et al. 2018).
    """

    def __init__(self, d_in: int, d_out: int, pieces: int, sn: bool = False):
        super().__init__()
        self.pieces = pieces
        self.linear = maybe_sn(nn.Linear(d_in, d_out * pieces), sn)

    def forward(self, x):
        h = self.linear(x)  # (B, d_out * pieces)
        return h.view(h.shape[0], -1, self.pieces).amax(dim=2)  # (B, d_out)


def pack(x: torch.Tensor, k: int) -> torch.Tensor:
    """PacGAN packing (Lin et al. 2018): join k consecutive samples into one D input along dim 1.

    (B, F) -> (B/k, k*F); (B, C, H, W) -> (B/k, k*C, H, W).
    """
    if k == 1:
        return x
    if x.shape[0] % k:
        raise ValueError(f"batch of {x.shape[0]} is not divisible by the packing degree {k}")
    return x.reshape(x.shape[0] // k, k * x.shape[1], *x.shape[2:])


class ClassBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift are looked up per class when ``n_classes`` > 0.

    Conditional batch norm (de Vries et al. 2017), as in the projection-discriminator cGAN's
    generator (Miyato & Koyama 2018): the class enters G through every normalisation layer while z
    alone feeds the first layer, so G cannot make an image from the class and ignore z. With
    ``n_classes`` 0 it is an ordinary BatchNorm2d and ``labels`` is ignored.
    """

    def __init__(self, channels: int, n_classes: int = 0):
        super().__init__()
        self.n_classes = n_classes
        self.bn = nn.BatchNorm2d(channels, affine=not n_classes)
        if n_classes:
            self.gamma = nn.Embedding(n_classes, channels)
            self.beta = nn.Embedding(n_classes, channels)
            nn.init.ones_(self.gamma.weight)
            nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.bn(x)  # (B, C, H, W)
        if not self.n_classes:
            return h
        return h * self.gamma(labels)[:, :, None, None] + self.beta(labels)[:, :, None, None]


class ProjectionHead(nn.Module):
    """Projection discriminator output (Miyato & Koyama 2018): psi(h) + <embed(y), h>."""

    def __init__(self, features: int, n_classes: int, sn: bool):
        super().__init__()
        self.embed = maybe_sn(nn.Embedding(n_classes, features), sn)

    def forward(self, h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (self.embed(labels) * h).sum(dim=1)  # (B,)


def resolution_levels(resolution: int) -> tuple[int, int]:
    """(base, levels) with base * 2**levels == resolution and levels >= 1.

    Bases 4 and 7 cover the usual sizes: 8 = 4*2, 28 = 7*4, 32 = 4*8, 64 = 4*16.
    """
    for base in (4, 7, 3, 5, 6):
        ratio, rem = divmod(resolution, base)
        if rem == 0 and ratio >= 2 and ratio & (ratio - 1) == 0:
            return base, ratio.bit_length() - 1
    raise ConfigError(
        f"convolutional nets cannot build resolution {resolution}; use base * 2^k with base in 3..7 and k >= 1 (8, 16, 28, 32, 64, ...)"
    )


NORMS = {
    "batch": "batch norm (pix2pix); avoid in a D that gets per-sample penalties",
    "instance": "instance norm without affine parameters (CycleGAN; Ulyanov et al. 2016)",
    "none": "no normalisation",
}


def norm2d(name: str, channels: int) -> nn.Module:
    """The 2D normalisation layer called ``name`` (one of :data:`NORMS`) for ``channels`` maps."""
    if name == "batch":
        return nn.BatchNorm2d(channels)
    if name == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if name == "none":
        return nn.Identity()
    raise unknown_name("normalisation", name, NORMS)


def gaussian_init_(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Initialise a conv/linear layer's weights from N(0, std^2) and its bias to 0; batch norm's
    scale from N(1, std^2) and shift to 0 (DCGAN and pix2pix: Radford et al. 2016, Isola et al.
    2017, sec. 6.2). A layer already in spectral norm gets its raw weight set; batch norm without
    its own scale (conditional batch norm) and embeddings are left as they are. Returns ``module``."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            spectral = parametrize.is_parametrized(m, "weight")
            nn.init.normal_(m.parametrizations.weight.original if spectral else m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module
