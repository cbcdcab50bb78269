"""Walks through latent space."""

from __future__ import annotations

import torch


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latent batches a, b (B, z_dim) at fractions t (T,) -> (B, T, z_dim).

    For Gaussian latents, slerp keeps the interpolants at the norm the generator was trained on,
    where a straight line would pass through the low-norm middle (White 2016, "Sampling Generative
    Networks").
    """
    a_n, b_n = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.arccos((a_n * b_n).sum(1).clamp(-1 + 1e-7, 1 - 1e-7))[:, None]  # (B, 1)
    t = t[None, :, None]  # (1, T, 1)
    so = torch.sin(omega)[:, :, None]  # (B, 1, 1)
    wa = torch.sin((1 - t) * omega[:, :, None]) / so
    wb = torch.sin(t * omega[:, :, None]) / so
    return wa * a[:, None, :] + wb * b[:, None, :]


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Straight-line interpolation (B, z_dim) x (T,) -> (B, T, z_dim); the right walk for uniform latents."""
    t = t[None, :, None]
    return (1 - t) * a[:, None, :] + t * b[:, None, :]
