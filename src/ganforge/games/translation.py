"""What pix2pix and CycleGAN share: building translators and PatchGAN critics from the settings,
the networks' description, and pix2pix's random jitter as a seeded, resumable batch transform."""

from __future__ import annotations

import math

import torch
from torch import nn

from ganforge.data.paired import random_jitter
from ganforge.errors import ConfigError
from ganforge.nets.patchgan import PatchGANDiscriminator, output_size
from ganforge.nets.spec import NetworkSpec
from ganforge.nets.translator_resnet import ResNetTranslator, default_blocks
from ganforge.nets.unet import UNetGenerator

TRANSLATOR_ARCHS = ("unet", "resnet")


def translator(m, in_channels: int, out_channels: int, resolution: int) -> nn.Module:
    """The generator ``model.arch`` names: "unet" (pix2pix) or "resnet" (CycleGAN's ResNet)."""
    if m.arch == "unet":
        depth = int(math.log2(resolution)) if resolution > 0 else 0
        if resolution < 2 or 2**depth != resolution:
            raise ConfigError(f"model.arch 'unet' needs a power-of-two image size (it halves down to 1x1); "
                              f"got {resolution} (set data.resolution, e.g. 128 or 256)")
        return UNetGenerator(in_channels, out_channels, resolution, m.g_channels, depth, m.norm,
                             dropout=0.5 if m.dropout else 0.0)
    if m.arch == "resnet":
        return ResNetTranslator(in_channels, out_channels, m.g_channels, m.g_blocks or default_blocks(resolution),
                                m.norm)
    raise ConfigError(f"model.arch {m.arch!r} is not a translator; valid for translation games: "
                      f"{', '.join(TRANSLATOR_ARCHS)}")


def patch_critic(m, in_channels: int, resolution: int) -> nn.Module:
    """A PatchGAN D (70x70 with 3 layers) with instance norm: D judges each sample on its own."""
    if output_size(resolution, m.d_layers) < 1:
        smallest = next(s for s in range(1, 4096) if output_size(s, m.d_layers) >= 1)
        raise ConfigError(f"model.d_layers {m.d_layers} makes a PatchGAN that needs images of at least "
                          f"{smallest} px; these are {resolution} px (set fewer d_layers or a larger data.resolution)")
    return PatchGANDiscriminator(in_channels, m.d_channels, m.d_layers, "none" if m.norm == "none" else "instance",
                                 m.spectral_norm)


def translation_spec(inputs: torch.Tensor, outputs: torch.Tensor) -> NetworkSpec:
    """The description of a translator from (N, C_in, H, W) inputs to (N, C_out, H, W) outputs."""
    if inputs.shape[2] != inputs.shape[3]:
        raise ConfigError(f"translation games need square images; these are {inputs.shape[3]}x{inputs.shape[2]} "
                          f"(set data.resolution)")
    return NetworkSpec(tuple(outputs.shape[1:]), input_shape=tuple(inputs.shape[1:]))


class Jitter:
    """pix2pix's augmentation on training batches (resize up by 286/256, random crop, mirror), the
    same crop and flip for both images of a pair; its own seeded RNG, saved with the game."""

    def __init__(self, enabled: bool, seed: int):
        self.enabled = enabled
        self.rng = torch.Generator().manual_seed(seed)

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.enabled:
            return a, b
        return random_jitter(a, b, self.rng)

    def single(self, x: torch.Tensor) -> torch.Tensor:
        """The same augmentation on a batch of unpaired images (each its own crop and flip)."""
        return self(x, x[:, :0])[0]

    def state_dict(self) -> dict:
        return {"rng": self.rng.get_state()}

    def load_state_dict(self, state: dict) -> None:
        if "rng" in state:
            self.rng.set_state(state["rng"])


def as_rgb(x: torch.Tensor) -> torch.Tensor:
    """(N, 1 or 3, H, W) -> (N, 3, H, W), so grayscale and colour images tile in one grid."""
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


@torch.no_grad()
def translate_batch(net: nn.Module, x: torch.Tensor, batch: int = 16) -> torch.Tensor:
    """``net`` applied to images (N, C, H, W) in [-1, 1], in eval mode, on the CPU."""
    was = net.training
    net.eval()
    device = next(net.parameters()).device
    try:
        return torch.cat([net(x[i:i + batch].to(device)).float().cpu() for i in range(0, len(x), batch)])
    finally:
        net.train(was)


def save_triplets(path, rows: list[tuple[torch.Tensor, ...]]):
    """One row per example: input | output | target (or any images of one size), as a PNG grid."""
    from ganforge.viz import save_image_grid

    width = len(rows[0])
    images = torch.stack([as_rgb(img[None])[0] for row in rows for img in row])  # (rows * width, 3, H, W)
    return save_image_grid(images, path, nrow=width)
