"""DCGAN G and D (Radford et al. 2016) for square images; resolution and channels are parameters.

A resolution R is built as base * 2^levels (see :func:`~ganforge.nets.layers.resolution_levels`).
G starts from a base x base map and doubles it ``levels`` times with
transposed convolutions; D halves it back with strided convolutions.
"""

from __future__ import annotations

import torch
from torch import nn

from ganforge.nets.layers import ProjectionHead, maybe_sn, pack, resolution_levels


class DCGANGenerator(nn.Module):
    """z (B, z_dim) [+ class embedding] -> images (B, C, R, R) in [-1, 1]."""

    def __init__(self, z_dim: int, channels: int, resolution: int, width: int, n_classes: int = 0):
        super().__init__()
        self.z_dim, self.n_classes = z_dim, n_classes
        self.base, levels = resolution_levels(resolution)
        widths = [width * 2 ** (levels - i) for i in range(levels + 1)]  # coarse -> fine
        self.embed = nn.Embedding(n_classes, z_dim) if n_classes else None
        d_in = z_dim * (2 if n_classes else 1)
        self.project = nn.Sequential(
            nn.Linear(d_in, widths[0] * self.base * self.base, bias=False),
            nn.Unflatten(1, (widths[0], self.base, self.base)),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        )
        ups = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            ups += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
        self.upsample = nn.Sequential(*ups)
        self.to_image = nn.Sequential(nn.Conv2d(widths[-1], channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)  # (B, 2 * z_dim)
        h = self.project(z)  # (B, widths[0], base, base)
        return self.to_image(self.upsample(h))  # (B, C, R, R)


class DCGANDiscriminator(nn.Module):
    """images (B, C, R, R) -> logits (B / pack,).

    No batch norm: per-sample gradient penalties (WGAN-GP, R1) are wrong under it
    (Gulrajani et al. 2017, sec. 4), and spectral norm makes it unnecessary.
    """

    def __init__(self, channels: int, resolution: int, width: int, sn: bool = False,
                 pack_k: int = 1, n_classes: int = 0):
        super().__init__()
        self.pack_k = pack_k
        base, levels = resolution_levels(resolution)
        widths = [width * 2**i for i in range(levels)]  # fine -> coarse
        layers, c = [], channels * pack_k
        for w in widths:
            layers += [maybe_sn(nn.Conv2d(c, w, 4, 2, 1), sn), nn.LeakyReLU(0.2)]
            c = w
        self.body = nn.Sequential(*layers)
        self.out = maybe_sn(nn.Linear(c * base * base, 1), sn)
        self.project = ProjectionHead(c, n_classes, sn) if n_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(pack(x, self.pack_k))  # (B / pack, c, base, base)
        logits = self.out(h.flatten(1)).squeeze(1)  # (B / pack,)
        if self.project is not None:
            logits = logits + self.project(h.sum(dim=(2, 3)), labels)
        return logits
