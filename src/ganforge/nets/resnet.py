"""SNGAN-style residual G and D (Miyato et al. 2018, appendix B; Gulrajani et al. 2017, appendix F).

G: z -> linear -> (ch, base, base) -> ``levels`` up-sampling residual blocks -> BN, ReLU, 3x3 conv,
tanh. D: an optimised first block, down-sampling residual blocks to the base size, one more block
without down-sampling, ReLU, global sum pooling, linear (plus a projection head when conditional).
``resolution`` is base * 2^levels as for DCGAN (28 = 7*4, 32 = 4*8).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.nets.layers import ProjectionHead, maybe_sn, pack, resolution_levels


class UpBlock(nn.Module):
    """BN-ReLU-upsample-conv-BN-ReLU-conv, plus an upsampled 1x1-conv shortcut. (B, c_in, H, W) -> (B, c_out, 2H, 2W)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(c_in), nn.BatchNorm2d(c_out)
        self.conv1, self.conv2 = nn.Conv2d(c_in, c_out, 3, 1, 1), nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x):
        h = F.interpolate(F.relu(self.bn1(x)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return h + self.shortcut(F.interpolate(x, scale_factor=2, mode="nearest"))


class DownBlock(nn.Module):
    """ReLU-conv-ReLU-conv(-avgpool), plus a 1x1-conv(-avgpool) shortcut; ``first`` skips the leading ReLU."""

    def __init__(self, c_in: int, c_out: int, sn: bool, down: bool = True, first: bool = False):
        super().__init__()
        self.down, self.first = down, first
        self.conv1 = maybe_sn(nn.Conv2d(c_in, c_out, 3, 1, 1), sn)
        self.conv2 = maybe_sn(nn.Conv2d(c_out, c_out, 3, 1, 1), sn)
        self.shortcut = maybe_sn(nn.Conv2d(c_in, c_out, 1), sn) if (c_in != c_out or down) else nn.Identity()

    def forward(self, x):
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        s = x
        if self.first:  # the optimised block pools before its shortcut conv (Miyato et al. 2018)
            s = self.shortcut(F.avg_pool2d(s, 2))
        else:
            s = self.shortcut(s)
            s = F.avg_pool2d(s, 2) if self.down else s
        return (F.avg_pool2d(h, 2) if self.down else h) + s


class ResNetGenerator(nn.Module):
    """z (B, z_dim) [+ class embedding] -> images (B, C, R, R) in [-1, 1]."""

    def __init__(self, z_dim: int, channels: int, resolution: int, width: int, n_classes: int = 0):
        super().__init__()
        self.z_dim, self.n_classes = z_dim, n_classes
        self.base, levels = resolution_levels(resolution)
        ch = 4 * width  # constant width through the blocks, as in SNGAN's CIFAR model
        self.embed = nn.Embedding(n_classes, z_dim) if n_classes else None
        self.linear = nn.Linear(z_dim * (2 if n_classes else 1), ch * self.base * self.base)
        self.blocks = nn.Sequential(*[UpBlock(ch, ch) for _ in range(levels)])
        self.to_image = nn.Sequential(nn.BatchNorm2d(ch), nn.ReLU(), nn.Conv2d(ch, channels, 3, 1, 1), nn.Tanh())
        self.ch = ch

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)  # (B, 2 * z_dim)
        h = self.linear(z).view(z.shape[0], self.ch, self.base, self.base)  # (B, ch, base, base)
        return self.to_image(self.blocks(h))  # (B, C, R, R)


class ResNetDiscriminator(nn.Module):
    """images (B, C, R, R) -> logits (B / pack,)."""

    def __init__(self, channels: int, resolution: int, width: int, sn: bool = False, pack_k: int = 1,
                 n_classes: int = 0):
        super().__init__()
        self.pack_k = pack_k
        _, levels = resolution_levels(resolution)
        ch = 2 * width
        blocks = [DownBlock(channels * pack_k, ch, sn, first=True)]
        blocks += [DownBlock(ch, ch, sn) for _ in range(levels - 1)]
        blocks += [DownBlock(ch, ch, sn, down=False)]
        self.blocks = nn.Sequential(*blocks)
        self.out = maybe_sn(nn.Linear(ch, 1), sn)
        self.project = ProjectionHead(ch, n_classes, sn) if n_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = F.relu(self.blocks(pack(x, self.pack_k))).sum(dim=(2, 3))  # (B / pack, ch): global sum pooling
        logits = self.out(h).squeeze(1)
        if self.project is not None:
            logits = logits + self.project(h, labels)
        return logits
