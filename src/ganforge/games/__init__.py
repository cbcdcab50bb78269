"""Games: what is trained, one file per application.

A game names its networks (G and D for an unconditional or class-conditional GAN; two generators
and two discriminators for CycleGAN), says what one batch of real data is (images; (input,
target) pairs for pix2pix; two independently shuffled image sets for CycleGAN), and gives its
D-side and G-side loss terms, each named and weighted so that the engine can report it. Games use
data, nets and objectives; the engine owns everything else (optimizers, schedules, EMA,
precision, regularisers, stats, checkpoints and resume, the run directory), so a new application
is a new game file plus its network families and data kind, never a second training loop. Helpers
that belong to one kind of game and hold state across rounds, such as CycleGAN's history pool of
fakes (:mod:`ganforge.games.image_pool`), live here too and expose their state as tensors so that
a checkpoint can hold it.
"""

from __future__ import annotations

import importlib

from ganforge.errors import unknown_name

# name -> one-line description (model.game)
GAMES = {
    "gan": "G(z, y) against D(x, y): unconditional or class-conditional GANs (points and images)",
    "pix2pix": "paired image-to-image translation: U-Net G(x), PatchGAN D(x, y), adversarial + L1 (Isola et al.)",
    "cyclegan": "unpaired translation both ways: two ResNet G, two PatchGAN D, cycle and identity terms (Zhu et al.)",
    "tabular": "table rows: conditional G with Gumbel-softmax, PacGAN WGAN-GP critic, training-by-sampling (CTGAN)",
    "super-resolution": "SR: SRResNet G(LR), PSNR pre-training (no D) or SRGAN with a PatchGAN D (Ledig et al.)",
    "inpaint": "inpainting: U-Net G(masked image, mask), PatchGAN and global D on the completed image, hole L1 + adversarial",
    "molgan": "molecules as graphs: Gumbel-softmax G, R-GCN WGAN-GP critic, optional property reward (MolGAN)",
    "ssl": "semi-supervised: (K+1)-class D on labelled and unlabelled images, feature-matching G (Salimans et al.)",
}


# name -> (module under ganforge.games, class): imported only when a run plays that game
_GAME_CLASSES = {
    "gan": ("gan", "GANGame"),
    "pix2pix": ("pix2pix", "Pix2PixGame"),
    "cyclegan": ("cyclegan", "CycleGANGame"),
    "tabular": ("tabular", "TabularGame"),
    "super-resolution": ("super_resolution", "SuperResolutionGame"),
    "inpaint": ("inpaint", "InpaintGame"),
    "molgan": ("molgan", "MolGANGame"),
    "ssl": ("ssl", "SSLGame"),
}


def make_game(cfg, data=None):
    """The game ``cfg.model.game`` names, on ``data`` (None: only to rebuild trained networks)."""
    name = getattr(cfg.model, "game", "gan")
    if name not in _GAME_CLASSES:
        raise unknown_name("game", name, GAMES)
    module, cls = _GAME_CLASSES[name]
    return getattr(importlib.import_module(f"ganforge.games.{module}"), cls)(cfg, data)
