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
