"""The training engine: the round, checkpoints, resume, stats, run directories."""

from ganforge.engine.stats import report
from ganforge.engine.trainer import Trainer

__all__ = ["Trainer", "report"]
