"""GAN objectives as pure functions of D's raw outputs (logits).

Every objective gives a D side ``d_loss(real_logits, fake_logits)`` and a G side
``g_loss(fake_logits)``; both return scalars to *minimise*. For the probabilistic family,
D(x) = sigmoid(logit), and ``softplus`` keeps the logs stable:
log D(x) = -softplus(-l), log(1 - D(x)) = -softplus(l).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ganforge.errors import unknown_name

Tensor = torch.Tensor

EQUILIBRIUM_VALUE = -math.log(4.0)  # V(D, G) when D outputs 1/2 everywhere (Goodfellow et al. 2014)


def minimax_value(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))] with D = sigmoid(logits)."""
    return -F.softplus(-real_logits).mean() - F.softplus(fake_logits).mean()


def probabilistic_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """D maximises V(D, G): minimise -E[log D(x)] - E[log(1 - D(G(z)))]."""
    return -minimax_value(real_logits, fake_logits)


def minimax_g_loss(fake_logits: Tensor) -> Tensor:
    """The saturating G loss of the original game: minimise E[log(1 - D(G(z)))] (Goodfellow et al. 2014)."""
    return -F.softplus(fake_logits).mean()


def nonsaturating_g_loss(fake_logits: Tensor) -> Tensor:
    """Minimise -E[log D(G(z))]: same fixed point, strong gradients early (Goodfellow et al. 2014, sec. 3)."""
    return F.softplus(-fake_logits).mean()


def wasserstein_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Critic maximises E[f(x)] - E[f(G(z))] (Arjovsky et al. 2017)."""
    return fake_logits.mean() - real_logits.mean()


def wasserstein_g_loss(fake_logits: Tensor) -> Tensor:
    return -fake_logits.mean()


def hinge_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """E[relu(1 - D(x))] + E[relu(1 + D(G(z)))] (Lim & Ye 2017; Miyato et al. 2018)."""
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def least_squares_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2], targets b=1, a=0 (Mao et al. 2017)."""
    return 0.5 * (real_logits - 1.0).pow(2).mean() + 0.5 * fake_logits.pow(2).mean()


def least_squares_g_loss(fake_logits: Tensor) -> Tensor:
    """1/2 E[(D(G(z)) - 1)^2], target c=1 (Mao et al. 2017)."""
    return 0.5 * (fake_logits - 1.0).pow(2).mean()


@dataclass(frozen=True)
class Objective:
    name: str  # registry name
    family: str  # "minimax" (D is a probability), "wasserstein", "hinge" or "least-squares"
    d_loss: Callable[[Tensor, Tensor], Tensor]  # (real_logits, fake_logits) -> scalar to minimise
    g_loss: Callable[[Tensor], Tensor]  # fake_logits -> scalar to minimise
    clip_weights: bool = False  # clamp D's weights to [-clip, clip] after each D step (WGAN)
    default_gp_weight: float = 0.0  # gradient penalty weight used when loss.gp_weight is 0
    description: str = ""


OBJECTIVES: dict[str, Objective] = {
    o.name: o
    for o in [
        Objective("minimax", "minimax", probabilistic_d_loss, minimax_g_loss,
                  description="the original game; G minimises log(1 - D(G(z))) (saturates early)"),
        Objective("nonsaturating", "minimax", probabilistic_d_loss, nonsaturating_g_loss,
                  description="same game, G maximises log D(G(z)) (the usual choice)"),
        Objective("wasserstein", "wasserstein", wasserstein_d_loss, wasserstein_g_loss, clip_weights=True,
                  description="Wasserstein critic with weight clipping (WGAN)"),
        Objective("wgan-gp", "wasserstein", wasserstein_d_loss, wasserstein_g_loss, default_gp_weight=10.0,
                  description="Wasserstein critic with gradient penalty (WGAN-GP)"),
        Objective("hinge", "hinge", hinge_d_loss, wasserstein_g_loss,
                  description="hinge loss for D, -E[D(G(z))] for G (SNGAN, BigGAN)"),
        Objective("lsgan", "least-squares", least_squares_d_loss, least_squares_g_loss,
                  description="least squares (LSGAN)"),
    ]
}


def get_objective(name: str) -> Objective:
    """The objective called ``name``; an error listing the valid ones otherwise."""
    if name not in OBJECTIVES:
        raise unknown_name("loss", name, OBJECTIVES)
    return OBJECTIVES[name]
