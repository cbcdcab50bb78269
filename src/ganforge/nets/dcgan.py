"""DCGAN G and D (Radford et al. 2016) for square images; resolution and channels are parameters.

A resolution R is built as base * 2^levels (see :func:`~ganforge.nets.layers.resolution_levels`).
G starts from a base x base map and doubles it ``levels`` times with
transposed convolutions; D halves it back with strided convolutions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nets.layers import ClassBatchNorm2d, ProjectionHead, maybe_sn, pack, resolution_levels


class DCGANGenerator(nn.Module):
    """z (B, z_dim) [and labels (B,)] -> images (B, C, R, R) in [-1, 1].

    A conditional G (``n_classes`` > 0) takes the class through conditional batch norm.
    """

    def __init__(self, z_dim: int, channels: int, resolution: int, width: int, n_classes: int = 0):
        super().__init__()
        self.z_dim, self.n_classes = z_dim, n_classes
        self.base, levels = resolution_levels(resolution)
        self.widths = [width * 2 ** (levels - i) for i in range(levels + 1)]  # coarse -> fine
        self.project = nn.Linear(z_dim, self.widths[0] * self.base * self.base, bias=False)
        self.norms = nn.ModuleList(ClassBatchNorm2d(w, n_classes) for w in self.widths)
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False) for c_in, c_out in zip(self.widths[:-1], self.widths[1:])
        )
        self.to_image = nn.Sequential(nn.Conv2d(self.widths[-1], channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.project(z).view(z.shape[0], self.widths[0], self.base, self.base)  # (B, w0, base, base)
        h = F.relu(self.norms[0](h, labels))
        for up, norm in zip(self.ups, self.norms[1:]):
            h = F.relu(norm(up(h), labels))  # doubles the resolution
        return self.to_image(h)  # (B, C, R, R)


class DCGANDiscriminator(nn.Module):
    """images (B, C, R, R) -> logits (B / pack,).

    No batch norm by default: per-sample gradient penalties (WGAN-GP, R1) are wrong under it
    (Gulrajani et al. 2017, sec. 4), and spectral norm makes it unnecessary. ``norm="batch"`` puts
    batch norm after every strided convolution but the first, as DCGAN's D (Radford et al. 2016):
    its output for one image then depends on the rest of the batch.
    """

    def __init__(self, channels: int, resolution: int, width: int, sn: bool = False,
                 pack_k: int = 1, n_classes: int = 0, n_outputs: int = 1, norm: str = "none"):
        super().__init__()
        self.pack_k, self.n_outputs = pack_k, n_outputs  # n_outputs > 1: K class logits (semi-supervised D)
        base, levels = resolution_levels(resolution)
        widths = [width * 2**i for i in range(levels)]  # fine -> coarse
        layers, c = [], channels * pack_k
        for i, w in enumerate(widths):
            bn = norm == "batch" and i > 0  # no bias before batch norm: its shift replaces it
            layers += [maybe_sn(nn.Conv2d(c, w, 4, 2, 1, bias=not bn), sn)] + ([nn.BatchNorm2d(w)] if bn else [])
            layers.append(nn.LeakyReLU(0.2))
            c = w
        self.body = nn.Sequential(*layers)
        self.out = maybe_sn(nn.Linear(c * base * base, n_outputs), sn)
        self.project = ProjectionHead(c, n_classes, sn) if n_classes else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer, flattened (B / pack, c * base * base): what feature matching matches."""
        return self.body(pack(x, self.pack_k)).flatten(1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(pack(x, self.pack_k))  # (B / pack, c, base, base)
        logits = self.out(h.flatten(1))  # (B / pack, n_outputs)
        if self.n_outputs == 1:
            logits = logits.squeeze(1)  # (B / pack,)
        if self.project is not None:
            logits = logits + self.project(h.sum(dim=(2, 3)), labels)
        return logits
