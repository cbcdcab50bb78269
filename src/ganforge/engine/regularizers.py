"""D's regularisers as a list built once from the settings, each with its weight and interval.

A regulariser is a penalty on D's input gradients, added to D's loss every ``every`` D updates.
Lazy regularisation (Karras et al. 2020, StyleGAN2 section 3.1) applies a penalty only every k
updates and multiplies its weight by k, so that its average strength is unchanged while it costs
k times less. The D update asks :func:`due` which ones apply now; nothing else in the round
knows which regularisers exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import Tensor

from ganforge.objectives import gradient_penalty, r1_penalty

# penalty(D, real, fake, generator) -> 0-dim tensor; D maps a batch of inputs to logits
Penalty = Callable[[Callable[[Tensor], Tensor], Tensor, Tensor, object], Tensor]


@dataclass
class Regularizer:
    name: str  # the statistic it is reported as ("gp", "r1")
    weight: float  # multiplies the penalty in D's loss
    every: int  # apply every this many D updates (1 = always)
    penalty: Penalty

    def scale(self) -> float:
        """The weight it is added with when it applies: ``weight * every`` (lazy regularisation)."""
        return self.weight * self.every


def build_regularizers(loss_cfg, objective) -> list[Regularizer]:
    """The regularisers a LossConfig turns on (the objective's own gradient penalty included)."""
    out = []
    gp_weight = loss_cfg.gp_weight or objective.default_gp_weight
    if gp_weight > 0:
        one_sided = loss_cfg.gp_mode == "one-sided"
        out.append(Regularizer("gp", gp_weight, 1, lambda D, real, fake, gen: gradient_penalty(
            D, real, fake, one_sided=one_sided, generator=gen)))
    if loss_cfg.r1_weight > 0:
        # gamma / 2 * E|grad D(x)|^2 on real data (Mescheder et al. 2018)
        out.append(Regularizer("r1", 0.5 * loss_cfg.r1_weight, max(1, loss_cfg.r1_every),
                               lambda D, real, fake, gen: r1_penalty(D, real)))
    return out


def due(regularizers: list[Regularizer], d_update: int) -> list[Regularizer]:
    """The regularisers that apply at D update number ``d_update`` (counted from 0)."""
    return [r for r in regularizers if d_update % r.every == 0]
