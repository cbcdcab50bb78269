"""Multi-layer perceptron G and D for 1D, 2D and N-D point data."""

from __future__ import annotations

import torch
from torch import nn

from ganforge.nets.layers import Maxout, ProjectionHead, activation, maybe_sn, pack


class MLPGenerator(nn.Module):
    """z (B, z_dim) [+ class embedding] -> x (B, out_dim) through ``depth`` hidden layers."""

    def __init__(self, z_dim: int, out_dim: int, width: int, depth: int, act: str, n_classes: int = 0):
        super().__init__()
        self.z_dim, self.n_classes = z_dim, n_classes
        self.embed = nn.Embedding(n_classes, z_dim) if n_classes else None
        layers, d = [], z_dim * (2 if n_classes else 1)
        for _ in range(depth):
            layers += [nn.Linear(d, width), activation(act)]
            d = width
        layers.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)  # (B, 2 * z_dim)
        return self.net(z)


class MLPDiscriminator(nn.Module):
    """x (B, in_dim) -> logits (B / pack,). Optional maxout units, spectral norm, projection head."""

    def __init__(self, in_dim: int, width: int, depth: int, act: str, maxout: int = 0,
                 sn: bool = False, pack_k: int = 1, n_classes: int = 0):
        super().__init__()
        self.pack_k = pack_k
        layers, d = [], in_dim * pack_k
        for _ in range(depth):
            if maxout > 1:
                layers.append(Maxout(d, width, maxout, sn))
            else:
                layers += [maybe_sn(nn.Linear(d, width), sn), activation(act)]
            d = width
        self.body = nn.Sequential(*layers)
        self.out = maybe_sn(nn.Linear(d, 1), sn)
        self.project = ProjectionHead(d, n_classes, sn) if n_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(pack(x, self.pack_k))  # (B / pack, width)
        logits = self.out(h).squeeze(1)  # (B / pack,)
        if self.project is not None:
            logits = logits + self.project(h, labels)
        return logits
