"""Regularisers on D's gradients. Each takes D as a callable on inputs; none owns an optimizer."""

from __future__ import annotations

from typing import Callable

import torch

Tensor = torch.Tensor

# how the gradient penalty treats gradient norms below 1 (loss.gp_mode)
GP_MODES = {
    "two-sided": "penalise (|grad| - 1)^2 on both sides of 1 (Gulrajani et al. 2017)",
    "one-sided": "penalise only norms above 1, max(0, |grad| - 1)^2 (Petzka et al. 2018)",
}


def _input_grad_norm(D: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """|| d sum(D(x)) / dx || per sample, (B,), with a graph so the penalty can be backpropagated."""
    x = x.detach().requires_grad_(True)
    out = D(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1).norm(2, dim=1)


def gradient_penalty(
    D: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    one_sided: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """E[(||grad D(x_hat)|| - 1)^2] on random interpolates x_hat of real and fake (Gulrajani et al. 2017).

    ``one_sided`` penalises only norms above 1, E[max(0, ||grad|| - 1)^2] (Petzka et al. 2018).
    """
    # one mixing weight per sample, broadcast over the other dimensions: (B, 1, ..., 1)
    eps = torch.rand((real.shape[0],) + (1,) * (real.ndim - 1), generator=generator).to(real.device, real.dtype)
    x_hat = eps * real.detach() + (1 - eps) * fake.detach()
    excess = _input_grad_norm(D, x_hat) - 1.0
    if one_sided:
        excess = excess.clamp_min(0.0)
    return excess.pow(2).mean()


def r1_penalty(D: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """E[||grad D(x)||^2] on real data (Mescheder et al. 2018); weight it by gamma / 2."""
    return _input_grad_norm(D, real).pow(2).mean()


def path_length_penalty(fake: Tensor, ws: Tensor, mean: Tensor, decay: float = 0.01,
                        generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """StyleGAN2's path-length penalty (Karras et al. 2020, sec. 3.2): E[(||J_w^T y|| - a)^2].

    ``fake`` (B, C, H, W) was made from the per-layer styles ``ws`` (B, num_ws, w_dim) (or w (B,
    w_dim)); y is Gaussian noise over the image scaled by 1/sqrt(H W), drawn on ``generator``, and
    the path length of a sample is ||J_w^T y|| with the squared gradient summed over w's features
    and averaged over the layers (StyleGAN2-ADA). ``mean`` is the running mean of path lengths;
    ``a`` = mean moved towards this batch's mean length by ``decay``. Returns (penalty, a): the
    caller keeps ``a`` (detached) as the next ``mean``.
    """
    pixels = fake[0, 0].numel() if fake.ndim > 2 else 1
    y = torch.randn(fake.shape, generator=generator, device=generator.device if generator is not None else None)
    y = y.to(fake.device, fake.dtype) / pixels**0.5  # (B, C, H, W)
    (grad,) = torch.autograd.grad((fake * y).sum(), ws, create_graph=True)  # like ws
    grad = grad if grad.ndim == 3 else grad[:, None, :]  # (B, num_ws, w_dim)
    lengths = grad.square().sum(dim=2).mean(dim=1).sqrt()  # (B,)
    a = mean.to(lengths.dtype).lerp(lengths.mean().detach(), decay)  # 0-dim
    return (lengths - a).square().mean(), a.detach()
