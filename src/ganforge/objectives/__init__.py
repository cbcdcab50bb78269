"""Objectives (pure functions of logits) and gradient regularisers."""

from ganforge.objectives.losses import (
    EQUILIBRIUM_VALUE,
    OBJECTIVES,
    Objective,
    get_objective,
    minimax_value,
)
from ganforge.objectives.regularizers import GP_MODES, gradient_penalty, path_length_penalty, r1_penalty

__all__ = [
    "EQUILIBRIUM_VALUE", "OBJECTIVES", "Objective", "get_objective", "minimax_value",
    "GP_MODES", "gradient_penalty", "path_length_penalty", "r1_penalty",
]
