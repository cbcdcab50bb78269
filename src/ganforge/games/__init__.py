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


def make_game(cfg, data=None):
    """The game ``cfg.model.game`` names, on ``data`` (None: only to rebuild trained networks)."""
    name = getattr(cfg.model, "game", "gan")
    if name == "gan":
        from ganforge.games.gan import GANGame

        return GANGame(cfg, data)
    if name == "pix2pix":
        from ganforge.games.pix2pix import Pix2PixGame

        return Pix2PixGame(cfg, data)
    if name == "cyclegan":
        from ganforge.games.cyclegan import CycleGANGame

        return CycleGANGame(cfg, data)
    if name == "tabular":
        from ganforge.games.tabular import TabularGame

        return TabularGame(cfg, data)
    if name == "inpaint":
        from ganforge.games.inpaint import InpaintGame

        return InpaintGame(cfg, data)
    if name == "super-resolution":
        from ganforge.games.super_resolution import SuperResolutionGame

        return SuperResolutionGame(cfg, data)
    if name == "molgan":
        from ganforge.games.molgan import MolGANGame

        return MolGANGame(cfg, data)
    if name == "ssl":
        from ganforge.games.ssl import SSLGame

        return SSLGame(cfg, data)
    raise unknown_name("game", name, GAMES)
