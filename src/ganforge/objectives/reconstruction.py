"""Reconstruction terms of image-to-image translation, as pure functions of image tensors.

All three are the mean absolute error over every element (batch, channels, pixels), in the
images' own scale ([-1, 1] for the generators' tanh outputs):

* :func:`l1_loss`: pix2pix's L1 term between G(x) and the paired target y, weighted
  lambda = 100 against the adversarial term (Isola et al. 2017, eq. 3-4); L1 rather than L2
  because it blurs less.
* :func:`cycle_loss`: CycleGAN's cycle consistency ||F(G(x)) - x||_1 (and the same for y),
  weighted lambda = 10 (Zhu et al. 2017, eq. 2).
* :func:`identity_loss`: CycleGAN's identity term ||G(y) - y||_1, which keeps the colours of
  an image already in the target domain, weighted 0.5 lambda (Zhu et al. 2017, sec. 5.2, after
  Taigman et al. 2017).

The adversarial side needs nothing new: every objective in :mod:`ganforge.objectives.losses`
averages over all elements of its logits, so it applies unchanged to a PatchGAN's logit maps
(B, 1, H', W'), each patch counting as one sample. CycleGAN uses least squares
(``least_squares_d_loss`` / ``least_squares_g_loss``, Mao et al. 2017); pix2pix uses the
non-saturating loss. Note that ganforge's least-squares G loss carries the factor 1/2 of Mao et al.,
where CycleGAN's reference code uses the plain mean square error: a game that copies CycleGAN's
lambda = 10 against this G loss weighs the cycle term twice as much relative to the adversarial one.
"""

from __future__ import annotations

import torch

Tensor = torch.Tensor

PIX2PIX_L1_WEIGHT = 100.0  # lambda of Isola et al. 2017, sec. 4
CYCLE_WEIGHT = 10.0  # lambda of Zhu et al. 2017, sec. 4
IDENTITY_WEIGHT = 0.5 * CYCLE_WEIGHT  # 0.5 lambda, Zhu et al. 2017, sec. 5.2 (photo <-> painting)


def _mean_abs(a: Tensor, b: Tensor, what: str) -> Tensor:
    if a.shape != b.shape:
        raise ValueError(f"{what}: shapes differ, {tuple(a.shape)} and {tuple(b.shape)}")
    return (a - b).abs().mean()


def l1_loss(fake: Tensor, target: Tensor) -> Tensor:
    """mean |fake - target| over all elements: pix2pix's reconstruction term E||y - G(x)||_1."""
    return _mean_abs(fake, target, "l1_loss")


def cycle_loss(x: Tensor, x_reconstructed: Tensor) -> Tensor:
    """mean |F(G(x)) - x| over all elements: one direction of CycleGAN's cycle-consistency term."""
    return _mean_abs(x_reconstructed, x, "cycle_loss")


def identity_loss(x: Tensor, G_of_x: Tensor) -> Tensor:
    """mean |G(x) - x| over all elements, for x already in G's output domain (CycleGAN's L_identity)."""
    return _mean_abs(G_of_x, x, "identity_loss")


def feature_matching_loss(real_features: list[Tensor], fake_features: list[Tensor]) -> Tensor:
    """Mean over D's layers of the mean |D_i(real) - D_i(fake)| (pix2pixHD, Wang et al. 2018, eq. 4):
    G matches D's intermediate statistics of real images; real features are taken as constants."""
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError("feature matching needs the same, non-empty list of layers for real and fake")
    terms = [(f - r.detach()).abs().mean() for r, f in zip(real_features, fake_features)]
    return torch.stack(terms).mean()
