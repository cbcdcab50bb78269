"""CTGAN's networks for table rows (Xu et al. 2019, section 4.4 and the reference code).

G maps noise z and the conditional vector c to one row's raw outputs (logits of every one-hot
span, pre-tanh values of every scalar); the tabular game applies the activations. Its hidden
layers are residual: each block's output, Linear -> BatchNorm -> ReLU, is concatenated to its
input, so the last layer sees every earlier representation. D judges ``pack`` rows at once
(PacGAN, Lin et al. 2018): the rows of a pack, each with its conditional vector, are
concatenated into one input; two LeakyReLU(0.2) layers with dropout 0.5 give one score per pack.
"""

from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    """x -> [ReLU(BN(Linear(x))), x]: ``width`` new features beside the input's."""

    def __init__(self, in_dim: int, width: int):
        super().__init__()
        self.fc = nn.Linear(in_dim, width)
        self.bn = nn.BatchNorm1d(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(self.bn(self.fc(x))), x], 1)  # (B, width + in_dim)


class TabularGenerator(nn.Module):
    """G(z, c) -> (B, data_dim) raw outputs; ``depth`` residual blocks of ``width`` (CTGAN: 2 x 256)."""

    def __init__(self, z_dim: int, cond_dim: int, data_dim: int, width: int = 256, depth: int = 2):
        super().__init__()
        self.z_dim, self.cond_dim, self.data_dim = z_dim, cond_dim, data_dim
        blocks, dim = [], z_dim + cond_dim
        for _ in range(depth):
            blocks.append(Residual(dim, width))
            dim += width
        self.blocks = nn.Sequential(*blocks)
        self.out = nn.Linear(dim, data_dim)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = torch.cat([z, c], 1) if c is not None and c.shape[1] else z  # (B, z_dim + cond_dim)
        return self.out(self.blocks(h))  # (B, data_dim)


class TabularDiscriminator(nn.Module):
    """D(x) for rows ``x`` (B, in_dim) already joined with their conditional vectors -> (B / pack,)."""

    def __init__(self, in_dim: int, width: int = 256, depth: int = 2, pack: int = 10, dropout: float = 0.5):
        super().__init__()
        self.in_dim, self.pack = in_dim, pack
        layers, dim = [], in_dim * pack
        for _ in range(depth):
            layers += [nn.Linear(dim, width), nn.LeakyReLU(0.2)] + ([nn.Dropout(dropout)] if dropout > 0 else [])
            dim = width
        layers.append(nn.Linear(dim, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        if B % self.pack:
            raise ValueError(f"D packs {self.pack} rows at a time; got a batch of {B}")
        return self.net(x.reshape(B // self.pack, self.pack * self.in_dim)).squeeze(1)  # (B / pack,)
