"""Named starting configurations, in one table.

Each preset is a description plus the settings it changes from the defaults in
:mod:`ganforge.config`. ``ganforge presets`` lists them; ``--preset NAME`` starts from one and
``--set section.key=value`` adjusts it.
"""

from __future__ import annotations

from ganforge.config import Config
from ganforge.errors import unknown_name

_MLP_2D = {
    "model.arch": "mlp", "model.z_dim": 2, "model.g_width": 128, "model.g_depth": 3,
    "model.d_width": 128, "model.d_depth": 3, "optim.lr_g": 1e-3, "optim.lr_d": 1e-3,
    "optim.beta1": 0.5, "optim.beta2": 0.999, "train.batch_size": 256, "train.log_every": 10,
    "train.sample_every": 500, "train.checkpoint_every": 1000,
}

_DCGAN_MNIST = {
    "data.name": "mnist", "model.arch": "dcgan", "model.z_dim": 64, "model.g_channels": 32,
    "model.d_channels": 32, "optim.lr_g": 2e-4, "optim.lr_d": 2e-4, "optim.beta1": 0.5,
    "optim.ema": 0.999, "train.batch_size": 64, "train.steps": 15000, "train.log_every": 20,
    "train.sample_every": 1000, "train.checkpoint_every": 1000,
}  # 15000 rounds: about 25 min on one core of the development CPU with --set train.precision=bf16

# the round of PyTorch's DCGAN example (Radford et al. 2016): N(0, 0.02) initialisation, batch norm in D
# (real and fake in two forwards), one G forward per round. With it mnist-dcgan follows that loop's
# trajectory exactly, at its speed: MNIST-feature FID 322-368 at 500 rounds (seeds 0-2) against
# 463-520 before, 94-112 at 5000 (docs/benchmarks.md, "First rounds"). One process, no GP or R1.
_CLASSIC_ROUND = {"model.reuse_fakes": True, "model.init": "dcgan", "model.d_norm": "batch"}

# the cGAN of Miyato & Koyama 2018 in DCGAN size (conditional batch norm in G, spectral-norm
# projection D, hinge): mnist-cgan on the labels, the self-conditioned presets on pixel clusters
_CGAN_MNIST = {**_DCGAN_MNIST, "model.conditional": True, "model.spectral_norm": True, "loss.name": "hinge"}

_SNGAN = {
    "data.name": "cifar10", "model.arch": "resnet", "model.z_dim": 128, "model.g_channels": 64,
    "model.d_channels": 64, "model.spectral_norm": True, "loss.name": "hinge", "optim.lr_g": 2e-4,
    "optim.lr_d": 2e-4, "optim.beta1": 0.0, "optim.beta2": 0.9, "optim.ema": 0.9999,
    "train.batch_size": 64, "train.d_steps": 5, "train.steps": 50000, "train.log_every": 50,
    "train.sample_every": 2500, "train.checkpoint_every": 5000,
}

# StyleGAN-lite (Karras et al. 2020, StyleGAN2, as StyleGAN2-ADA trains it): Adam(0.0025, 0, 0.99),
# non-saturating loss, lazy R1 every 16 D updates, path length 2 every 4 G updates, style mixing 0.9,
# a 2-layer mapping network (StyleGAN2-ADA's CIFAR setting). CPU size: 16 channels at 28 px (64 at 7x7);
# a round costs about 2x mnist-dcgan's on one thread (docs/benchmarks.md). D judges pairs (PacGAN2, Lin
# et al. 2018) in place of StyleGAN's minibatch-stddev layer: without either, 1500 rounds collapsed onto
# one digit (docs/benchmarks.md)
_STYLEGAN_MNIST = {
    "data.name": "mnist", "model.arch": "stylegan", "model.z_dim": 64, "model.w_dim": 64, "model.mapping_depth": 2,
    "model.g_channels": 16, "model.d_channels": 16, "model.pack": 2, "model.style_mixing": 0.9, "loss.name": "nonsaturating",
    "loss.r1_weight": 0.01, "loss.r1_every": 16, "loss.pl_weight": 2.0, "loss.pl_every": 4, "optim.lr_g": 0.0025,
    "optim.lr_d": 0.0025, "optim.beta1": 0.0, "optim.beta2": 0.99, "optim.ema": 0.999, "train.batch_size": 64,
    "train.steps": 8000, "train.log_every": 20, "train.sample_every": 1000, "train.checkpoint_every": 1000,
}
# the GPU size for CIFAR-10: 512 channels at 4-8 px, 256 at 16, 128 at 32 (StyleGAN2-ADA's CIFAR model has
# 512 everywhere), w 256; ADA turns path length and style mixing off on CIFAR, they are kept here at their
# StyleGAN2 values; R1 gamma 0.01 (ADA's CIFAR value)
_STYLEGAN_CIFAR = {
    **_STYLEGAN_MNIST, "data.name": "cifar10", "model.z_dim": 256, "model.w_dim": 256, "model.g_channels": 128,
    "model.d_channels": 128, "optim.ema": 0.9995, "train.steps": 100000, "train.log_every": 100,
    "train.sample_every": 5000, "train.checkpoint_every": 5000,
}

# pix2pix's published recipe (Isola et al. 2017): facades label maps -> photos at 256 px, U-Net and
# 70x70 PatchGAN with 64 filters, batch 1, Adam(2e-4, 0.5), 100 epochs constant then 100 decaying to
# 0 (400 pairs: 80000 rounds), jitter 286 -> 256 and mirroring, lambda_L1 100
_PIX2PIX = {
    "model.game": "pix2pix", "model.arch": "unet", "data.name": "facades", "data.direction": "BtoA",
    "data.resolution": 256, "model.g_channels": 64, "model.d_channels": 64, "model.norm": "batch",
    "loss.name": "nonsaturating", "loss.l1_weight": 100.0, "optim.lr_g": 2e-4, "optim.lr_d": 2e-4,
    "optim.beta1": 0.5, "optim.schedule": "linear", "train.batch_size": 1, "train.steps": 80000,
    "optim.decay_start": 40000, "train.log_every": 50, "train.sample_every": 4000, "train.checkpoint_every": 4000,
}
# the CPU size: 128 px, 32 filters, batch 4, 40 epochs (4000 rounds, the second half decaying), bf16
# autocast (1.4x faster on the development CPU); about 20-30 minutes on one core (docs/benchmarks.md)
_PIX2PIX_CPU = {**_PIX2PIX, "data.resolution": 128, "model.g_channels": 32, "model.d_channels": 32,
                "train.batch_size": 4, "train.steps": 4000, "optim.decay_start": 2000, "train.precision": "bf16",
                "train.log_every": 10, "train.sample_every": 500, "train.checkpoint_every": 1000}
# CycleGAN's published recipe (Zhu et al. 2017): ResNet G (9 blocks at 256 px), 70x70 PatchGAN,
# instance norm, least squares, lambda 10 (5 here: ganforge's least-squares G loss carries the 1/2 of
# Mao et al., see games/cyclegan.py), identity 0.5, pools of 50 fakes, batch 1, Adam(2e-4, 0.5),
# 100 epochs constant then 100 decaying; facades' two halves shuffled independently (unpaired)
# inpainting (Iizuka et al. 2017; Context Encoders, Pathak et al. 2016): a U-Net completes the hole
# from the masked image and the mask; a PatchGAN (local) and a DCGAN critic (global) judge the
# completion; G's L1 inside the hole weighs 100, the adversarial terms 1, as pix2pix's lambda_L1;
# no dropout (a completion should not change from call to call); EMA of G
_INPAINT_MNIST = {
    "model.game": "inpaint", "model.arch": "unet", "data.name": "mnist", "data.mask": "lower-half",
    "model.g_channels": 32, "model.d_channels": 32, "model.d_layers": 2, "model.norm": "batch",
    "model.dropout": False, "model.spectral_norm": True, "loss.name": "nonsaturating", "loss.l1_weight": 100.0,
    "optim.lr_g": 2e-4, "optim.lr_d": 2e-4, "optim.beta1": 0.5, "optim.ema": 0.999, "train.batch_size": 64,
    "train.steps": 1500, "train.log_every": 20, "train.sample_every": 500, "train.checkpoint_every": 500,
}  # 1500 rounds: about 7 minutes on one shared core of the development CPU (docs/benchmarks.md)
_INPAINT_CIFAR = {**_INPAINT_MNIST, "data.name": "cifar10", "data.mask": "center", "data.mask_size": 16}
_CYCLEGAN = {
    "model.game": "cyclegan", "model.arch": "resnet", "data.name": "facades", "data.direction": "AtoB",
    "data.resolution": 256, "model.g_channels": 64, "model.d_channels": 64, "model.norm": "instance",
    "loss.name": "lsgan", "loss.cycle_weight": 5.0, "loss.identity_weight": 0.5, "optim.lr_g": 2e-4,
    "optim.lr_d": 2e-4, "optim.beta1": 0.5, "optim.schedule": "linear", "train.batch_size": 1,
    "train.steps": 80000, "optim.decay_start": 40000, "train.pool_size": 50, "train.log_every": 50,
    "train.sample_every": 4000, "train.checkpoint_every": 4000,
}

# super-resolution x4 at the CPU size (EDSR-baseline's shape, halved: 32 channels, 8 residual blocks
# without batch norm, Lim et al. 2017) on 64 px HR patches of the facades photos (16 px LR), Adam
# (0.9, 0.999) and an EMA of G as Real-ESRGAN (Wang et al. 2021); docs/benchmarks.md has the figures
_SR_X4 = {
    "model.game": "super-resolution", "model.arch": "srresnet", "data.name": "sr-facades", "data.resolution": 64,
    "data.scale": 4, "model.g_channels": 32, "model.g_blocks": 8, "model.d_channels": 32, "model.d_layers": 3,
    "loss.content_pixel": "l1", "loss.content_weight": 1.0, "optim.beta1": 0.9, "optim.beta2": 0.999,
    "optim.ema": 0.999, "train.batch_size": 16, "train.log_every": 20, "train.sample_every": 500,
    "train.checkpoint_every": 500,
}
# stage 1, SRResNet: L1 only, no D; 5e-4 for half the rounds, then decaying linearly to 0
_SR_PSNR_X4 = {**_SR_X4, "loss.gan_weight": 0.0, "optim.lr_g": 5e-4, "optim.schedule": "linear",
               "train.steps": 3000, "optim.decay_start": 1500}
# stage 2, SRGAN: G starts from stage 1's run (its default --out), lr 1e-4 for both as Ledig et al.
# sec. 3.2; content = L1 + feature matching on D's layers (no VGG here), adversarial weight 0.01; no EMA
# of G: an average over 1000 rounds smoothed the adversarial textures away (patch FID 175.8 against
# G's own 149.2, docs/benchmarks.md)
_SRGAN_X4 = {**_SR_X4, "model.init_from": "runs/sr-psnr-x4", "loss.name": "nonsaturating", "loss.gan_weight": 0.01,
             "loss.fm_weight": 1.0, "optim.lr_g": 1e-4, "optim.lr_d": 1e-4, "optim.ema": 0.0, "train.steps": 1500}

# semi-supervised GAN (Salimans et al. 2016, sec. 5): D a (K+1)-class classifier with the generated
# logit fixed at 0, G trained by feature matching; their MNIST recipe's Adam(3e-3, beta1 0.5), batch
# 100 labelled + 100 unlabelled, Gaussian noise of std 0.3 on D's input; a small DCGAN G and D (CPU size)
# instead of their MLPs (model.arch mlp builds those: 23.0% test error at 1200 rounds against the DCGAN
# pair's 8.1%, 5.6% at 12,000 on one seed where the DCGAN pair was not measured, docs/benchmarks.md)
_SSL_MNIST = {
    "model.game": "ssl", "model.arch": "dcgan", "data.name": "mnist", "data.labels_per_class": 10,
    "model.z_dim": 100, "model.g_channels": 16, "model.d_channels": 32, "loss.d_input_noise": 0.3,
    "optim.lr_g": 3e-3, "optim.lr_d": 3e-3, "optim.beta1": 0.5, "optim.ema": 0.99, "train.batch_size": 100,
    "train.steps": 6000, "train.log_every": 20, "train.sample_every": 1000, "train.checkpoint_every": 1000,
}

# name -> (one-line description, overrides of the defaults)
_MOLGAN_QM9 = {
    "model.game": "molgan", "model.arch": "molgan", "data.name": "qm9", "model.z_dim": 32,
    "model.g_width": 128, "model.g_depth": 3, "model.d_width": 128, "model.gumbel_tau": 1.0,
    # Adam 2e-4 rather than MolGAN's 1e-3, and 8000 rounds: at 1e-3 G settles on a few hundred
    # molecules and later drifts to invalid graphs (docs/benchmarks.md, "Molecules on QM9")
    "loss.name": "wgan-gp", "optim.lr_g": 2e-4, "optim.lr_d": 2e-4, "optim.beta1": 0.5, "optim.beta2": 0.9,
    "optim.ema": 0.999,
    "train.batch_size": 32, "train.d_steps": 1, "train.steps": 8000, "train.log_every": 50,
    "train.sample_every": 2000, "train.checkpoint_every": 2000,
}


PRESETS: dict[str, tuple[str, dict]] = {
    "ring8": (
        "8 Gaussians on a circle of radius 1, std 0.01 (PacGAN benchmark); PacGAN2 maxout D, EMA of G",
        # PacGAN's packing and maxout D (Lin et al. 2018) with an EMA of G: 8/8 modes, 93-95% HQ in 60 s.
        # Sharper on most seeds but not all: self-conditioning (Liu et al. 2020) with gradient-norm clipping
        # (Pascanu et al. 2013), --set data.clusters=8 --set model.conditional=true --set model.pack=1
        # --set optim.grad_clip=1: its G_ema has 8/8 modes and >= 98% HQ on 13 seeds of 15, and a round costs
        # 1.6-1.7x a round of this recipe (docs/benchmarks.md, "ring8: why seed 9 collapsed")
        {**_MLP_2D, "data.name": "ring8", "model.pack": 2, "model.d_maxout": 5, "model.d_width": 200,
         "optim.ema": 0.99, "train.steps": 3000},
    ),
    "grid25": (
        "25 Gaussians on a 5x5 grid, spacing 2, std 0.05 (PacGAN benchmark); self-conditioned on 25 k-means "
        "clusters of the points: conditional MLP G, projection D, WGAN-GP, EMA of G",
        # self-conditioning (Liu et al. 2020; k-means on 10,000 sampled points, never the true centres),
        # projection D (Miyato & Koyama 2018), WGAN-GP (Gulrajani et al. 2017: the critic's gradient does
        # not vanish between modes 40 std apart), EMA of G. The earlier recipe, PacGAN2 D (Lin et al.
        # 2018) with R1 (Mescheder et al. 2018), is --set data.clusters=0 --set model.conditional=false
        # --set model.pack=2 --set loss.name=nonsaturating --set loss.r1_weight=1 (docs/benchmarks.md,
        # "Self-conditioning on the mixtures")
        {**_MLP_2D, "data.name": "grid25", "model.z_dim": 8, "data.clusters": 25, "model.conditional": True,
         "loss.name": "wgan-gp", "optim.ema": 0.99, "train.steps": 10000},
    ),
    "spiral": (
        "points along a two-turn spiral; MLP G and D",
        {**_MLP_2D, "data.name": "spiral", "train.steps": 3000},
    ),
    "moons": (
        "scikit-learn's two interleaving half circles; MLP G and D",
        {**_MLP_2D, "data.name": "moons", "train.steps": 3000},
    ),
    "digits": (
        "scikit-learn's bundled 8x8 handwritten digits (no download); small DCGAN, the demo",
        {
            "data.name": "digits", "model.arch": "dcgan", "model.z_dim": 32,
            "model.g_channels": 32, "model.d_channels": 32, "optim.lr_g": 5e-4,
            "optim.lr_d": 5e-4, "optim.beta1": 0.5, "optim.ema": 0.99, "train.batch_size": 64,
            "train.steps": 1500, "train.log_every": 10, "train.sample_every": 250,
            "train.checkpoint_every": 500,
        },
    ),
    "mnist-dcgan": (
        "MNIST 28x28, DCGAN with the non-saturating loss and EMA of G; the DCGAN example's round "
        "(N(0, 0.02) init, batch norm in D, one G forward per round)",
        {**_DCGAN_MNIST, **_CLASSIC_ROUND},
    ),
    "mnist-selfcond": (
        "MNIST 28x28 without labels: DCGAN self-conditioned on 20 k-means clusters of the pixels, "
        "conditional batch norm, SN projection D, hinge",
        {**_CGAN_MNIST, "data.name": "mnist", "data.clusters": 20},
    ),
    "mnist-cgan": (
        "MNIST 28x28, class-conditional DCGAN (conditional batch norm in G, projection D, spectral norm, hinge)",
        # without spectral norm and conditional batch norm, G learned one image per class (docs/benchmarks.md)
        dict(_CGAN_MNIST),
    ),
    "fashion-dcgan": (
        "Fashion-MNIST 28x28, DCGAN with the non-saturating loss and EMA of G; the DCGAN example's round "
        "(N(0, 0.02) init, batch norm in D, one G forward per round)",
        {**_DCGAN_MNIST, **_CLASSIC_ROUND, "data.name": "fashion-mnist"},
    ),
    "stacked-mnist": (
        "Stacked MNIST 28x28 RGB, 1000 modes (three digits as R, G, B); DCGAN self-conditioned on 100 "
        "pixel clusters (no labels), conditional batch norm, SN projection D, hinge",
        # self-conditioning (Liu et al. 2020) took PacDCGAN2's 990 modes and KL 0.45 to 1000 modes and
        # KL 0.22 in the same 15000 rounds (docs/benchmarks.md)
        {**_CGAN_MNIST, "data.name": "stacked-mnist", "data.clusters": 100},
    ),
    "mnist-sngan": (
        "MNIST 28x28, SNGAN-style ResNet G and D with spectral norm and the hinge loss, EMA of G",
        {**_SNGAN, "data.name": "mnist", "model.g_channels": 32, "model.d_channels": 32,
         "train.d_steps": 1, "optim.beta1": 0.5, "optim.beta2": 0.999, "train.steps": 10000},
    ),
    "cifar10-dcgan": (
        "CIFAR-10 32x32 RGB, DCGAN with the non-saturating loss and EMA of G",
        {**_DCGAN_MNIST, "data.name": "cifar10", "model.z_dim": 100, "model.g_channels": 64,
         "model.d_channels": 64, "train.steps": 20000},
    ),
    "cifar10-sngan": (
        "CIFAR-10 32x32 RGB, SNGAN ResNet (hinge, spectral norm, 5 D steps per G step), EMA of G; a GPU job",
        # Miyato et al. 2018, table 3 setting: Adam(2e-4, 0, 0.9), n_dis 5, batch 64, 50k G updates
        dict(_SNGAN),
    ),
    "cifar10-wgan-gp": (
        "CIFAR-10 32x32 RGB, ResNet critic trained as WGAN-GP (Gulrajani et al. 2017), EMA of G; a GPU job",
        {**_SNGAN, "model.spectral_norm": False, "loss.name": "wgan-gp", "loss.gp_weight": 10.0,
         "optim.lr_g": 2e-4, "optim.lr_d": 2e-4},
    ),
    "mnist-stylegan": (
        "MNIST 28x28, StyleGAN-lite (mapping network, modulated convs, noise, skip output; style mixing, lazy "
        "R1 and path length; PacGAN2 residual D) at the CPU size, EMA of G",
        dict(_STYLEGAN_MNIST),
    ),
    "fashion-stylegan": (
        "Fashion-MNIST 28x28, StyleGAN-lite at the CPU size (as mnist-stylegan), EMA of G",
        {**_STYLEGAN_MNIST, "data.name": "fashion-mnist"},
    ),
    "cifar10-stylegan": (
        "CIFAR-10 32x32 RGB, StyleGAN-lite (512-128 channels, w 256, R1 and path length, style mixing), EMA "
        "of G; a GPU job",
        dict(_STYLEGAN_CIFAR),
    ),
    "facades-pix2pix": (
        "facades label maps -> photos, pix2pix (U-Net, PatchGAN, adversarial + 100 L1) at 128 px; CPU size",
        _PIX2PIX_CPU,
    ),
    "facades-l1": (
        "the facades-pix2pix U-Net trained with L1 alone (no D): the baseline pix2pix must beat on realism",
        {**_PIX2PIX_CPU, "loss.gan_weight": 0.0},
    ),
    "facades-pix2pix-paper": (
        "pix2pix's published facades recipe: 256 px, 64 filters, batch 1, 200 epochs (80000 rounds); a GPU job",
        _PIX2PIX,
    ),
    "facades-cyclegan": (
        "facades labels <-> photos without pairs, CycleGAN (ResNet G, PatchGAN D, cycle + identity) at 128 px; CPU size",
        {**_CYCLEGAN, "data.resolution": 128, "model.g_channels": 16, "model.d_channels": 16, "model.g_blocks": 6,
         "train.steps": 3000, "optim.decay_start": 1500, "train.precision": "bf16", "train.log_every": 10,
         "train.sample_every": 500, "train.checkpoint_every": 1000},
    ),
    "facades-cyclegan-paper": (
        "CycleGAN's published recipe on unpaired facades: 256 px, 64 filters, 9 blocks, 200 epochs; a GPU job",
        _CYCLEGAN,
    ),
    "inpaint-mnist": (
        "MNIST with the lower half hidden: U-Net G(masked, mask), PatchGAN + global D on the completion, "
        "hole L1 + adversarial; CPU size",
        _INPAINT_MNIST,
    ),
    "inpaint-mnist-l1": (
        "the inpaint-mnist U-Net trained on the hole L1 alone (no D): the baseline the adversarial term must beat",
        {**_INPAINT_MNIST, "loss.gan_weight": 0.0},
    ),
    "inpaint-cifar10": (
        "CIFAR-10 32x32 with the centre 16x16 hidden: U-Net G, PatchGAN + global D, hole L1 + adversarial; CPU size",
        _INPAINT_CIFAR,
    ),
    "inpaint-cifar10-l1": (
        "the inpaint-cifar10 U-Net trained on the hole L1 alone (no D): the baseline for FID and PSNR",
        {**_INPAINT_CIFAR, "loss.gan_weight": 0.0},
    ),
    "sr-psnr-x4": (
        "super-resolution x4 for PSNR (SRResNet, L1, no D) on facades photo patches; CPU size; stage 1 of srgan-x4",
        _SR_PSNR_X4,
    ),
    "srgan-x4": (
        "SRGAN x4: starts from runs/sr-psnr-x4 (model.init_from), PatchGAN D, L1 + D feature matching; CPU size",
        _SRGAN_X4,
    ),
    "fashion-wgan-gp": (
        "Fashion-MNIST 28x28, DCGAN critic trained as WGAN-GP (5 critic steps, lambda 10)",
        {
            **_DCGAN_MNIST, "data.name": "fashion-mnist", "loss.name": "wgan-gp",
            "loss.gp_weight": 10.0, "train.d_steps": 5, "optim.lr_g": 1e-4, "optim.lr_d": 1e-4,
            "optim.beta1": 0.0, "optim.beta2": 0.9,
        },
    ),
    "mnist-ssl-100": (
        "MNIST semi-supervised with 100 labels (10 per class): (K+1)-class DCGAN D, feature-matching G",
        _SSL_MNIST,
    ),
    "fashion-ssl-100": (
        "Fashion-MNIST semi-supervised with 100 labels (10 per class; 100 per class: --set data.labels_per_class=100)",
        {**_SSL_MNIST, "data.name": "fashion-mnist"},
    ),
    "qm9-molgan": (
        "QM9 molecules as graphs (9 heavy atoms C, N, O, F): MolGAN's G with Gumbel-softmax, R-GCN WGAN-GP "
        "critic; no property reward (loss.reward_weight=0.5 --set loss.reward=qed adds it)",
        # MolGAN's sizes (De Cao and Kipf 2018): z 32, G 128-256-512, D R-GCN [128, 64] + 128 + [128, 64],
        # batch 32, WGAN-GP 10, Gumbel tau 1; learning rate and rounds measured here (docs/benchmarks.md)
        _MOLGAN_QM9,
    ),
    "cifar10-ssl-4000": (
        "CIFAR-10 semi-supervised with 4000 labels (400 per class): (K+1)-class DCGAN D, feature-matching G",
        {**_SSL_MNIST, "data.name": "cifar10", "data.labels_per_class": 400, "model.g_channels": 64,
         "model.d_channels": 64, "loss.d_input_noise": 0.15, "optim.lr_g": 3e-4, "optim.lr_d": 3e-4,
         "train.steps": 30000},
    ),
}


def preset_names() -> list[str]:
    return list(PRESETS)


def load_preset(name: str) -> Config:
    """The configuration of preset ``name`` (an error listing the valid names if unknown)."""
    if name not in PRESETS:
        raise unknown_name("preset", name, PRESETS)
    description, overrides = PRESETS[name]
    cfg = Config(preset=name, description=description).with_overrides(overrides)
    return cfg
