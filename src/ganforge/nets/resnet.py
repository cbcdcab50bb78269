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

from ganforge.nets.layers import ClassBatchNorm2d, ProjectionHead, maybe_sn, pack, resolution_levels


class UpBlock(nn.Module):
    """BN-ReLU-upsample-conv-BN-ReLU-conv, plus an upsampled 1x1-conv shortcut. (B, c_in, H, W) -> (B, c_out, 2H, 2W).

    The batch norms are class-conditional when ``n_classes`` > 0 (Miyato & Koyama 2018).
    """

    def __init__(self, c_in: int, c_out: int, n_classes: int = 0):
        super().__init__()
        self.bn1, self.bn2 = ClassBatchNorm2d(c_in, n_classes), ClassBatchNorm2d(c_out, n_classes)
        self.conv1, self.conv2 = nn.Conv2d(c_in, c_out, 3, 1, 1), nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x, labels=None):
        h = F.interpolate(F.relu(self.bn1(x, labels)), scale_factor=2, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), labels)))
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
    """z (B, z_dim) [and labels (B,)] -> images (B, C, R, R) in [-1, 1]; conditional batch norm for classes."""

    def __init__(self, z_dim: int, channels: int, resolution: int, width: int, n_classes: int = 0):
        super().__init__()
        self.z_dim, self.n_classes = z_dim, n_classes
        self.base, levels = resolution_levels(resolution)
        self.ch = 4 * width  # constant width through the blocks, as in SNGAN's CIFAR model
        self.linear = nn.Linear(z_dim, self.ch * self.base * self.base)
        self.blocks = nn.ModuleList(UpBlock(self.ch, self.ch, n_classes) for _ in range(levels))
        self.out_norm = ClassBatchNorm2d(self.ch, n_classes)
        self.to_image = nn.Sequential(nn.ReLU(), nn.Conv2d(self.ch, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.linear(z).view(z.shape[0], self.ch, self.base, self.base)  # (B, ch, base, base)
        for block in self.blocks:
            h = block(h, labels)  # doubles the resolution
        return self.to_image(self.out_norm(h, labels))  # (B, C, R, R)


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
