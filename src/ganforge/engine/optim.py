"""Optimizers and learning-rate schedules: built from the settings, owned by the training loop."""

from __future__ import annotations

import torch

from ganforge.errors import unknown_name

OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("constant", "linear")


def make_optimizer(name: str, params, lr: float, cfg) -> torch.optim.Optimizer:
    """One of Adam, SGD or RMSprop with the hyper-parameters of ``cfg`` (an OptimConfig)."""
    decay = cfg.weight_decay
    if name == "adam":
        # fused: one kernel for all tensors instead of a few per tensor (the same update, other rounding)
        return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), weight_decay=decay,
                                fused=cfg.fused or None)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, weight_decay=decay)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=decay)
    raise unknown_name("optimizer", name, OPTIMIZERS)


def lr_factor(schedule: str, step: int, total: int, decay_start: int = 0) -> float:
    """The learning-rate multiplier at round ``step`` of ``total``: a pure function of the round,
    so a resumed run continues the same schedule. "linear" is constant until ``decay_start``, then
    decays linearly to 0 at ``total`` (pix2pix and CycleGAN decay over the second half)."""
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        if step < decay_start:
            return 1.0
        return max(0.0, 1.0 - (step - decay_start) / max(1, total - decay_start))
    raise unknown_name("schedule", schedule, SCHEDULES)


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def grad_norm(params, max_norm: float) -> torch.Tensor:
    """Total gradient norm (0-dim tensor); clips in place when ``max_norm`` > 0."""
    params = [p for p in params if p.grad is not None]
    if not params:
        return torch.zeros(())
    if max_norm > 0:
        return torch.nn.utils.clip_grad_norm_(params, max_norm)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params]))


@torch.no_grad()
def update_ema(G_ema: torch.nn.Module, G: torch.nn.Module, updates: int, decay: float) -> None:
    """G_ema <- beta * G_ema + (1 - beta) * G; buffers (batch-norm statistics) are copied.

    beta ramps up as min(decay, (1 + t) / (10 + t)) over the t-th update, so early samples are not
    dominated by the random initial weights (the num_updates rule of TensorFlow's moving averages).
    """
    beta = min(decay, (1.0 + updates) / (10.0 + updates))
    for p_ema, p in zip(G_ema.parameters(), G.parameters()):
        p_ema.lerp_(p, 1.0 - beta)
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)
