"""What every game gives the engine: its networks, its batches and its loss terms.

A game subclasses :class:`Game`. The engine (:class:`~ganforge.engine.trainer.Trainer`) builds the
game's networks once, puts the ``g_side`` networks under one optimizer and the ``d_side`` ones
under another, keeps an EMA copy of each ``ema`` network, and runs the round: ``d_steps`` times
``d_loss`` then ``backward`` and the D optimizer's step, then ``g_loss`` likewise for G. The
game never calls ``backward`` or ``step``; it returns its loss as named, weighted :class:`Terms`,
which the engine reports to stats.jsonl, so a new loss term is one ``terms.add`` in a game.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from torch import Tensor, nn


class Terms:
    """A loss made of named, weighted terms: ``total`` = sum of weight * term; every term (and any
    statistic noted beside them) is reported under its name."""

    def __init__(self):
        self.total: Tensor | None = None
        self.values: dict[str, Tensor] = {}

    def add(self, name: str, value: Tensor, weight: float = 1.0) -> None:
        """Add ``weight * value`` to the loss and report ``value`` as ``name`` (weight 0: report only)."""
        self.values[name] = value
        if weight == 0:
            return
        part = value if weight == 1 else weight * value
        self.total = part if self.total is None else self.total + part

    def note(self, name: str, value: Tensor) -> None:
        """Report ``value`` as ``name`` without adding it to the loss."""
        self.values[name] = value


class Game(ABC):
    """A game's description; see the module docstring. Subclasses set the class attributes and
    implement :meth:`build`, :meth:`d_loss` and :meth:`g_loss`."""

    name = ""
    g_side: tuple[str, ...] = ("G",)  # networks trained by the G optimizer
    d_side: tuple[str, ...] = ("D",)  # networks trained by the D optimizer (none: no D updates)
    ema: tuple[str, ...] = ("G",)  # networks with an exponential moving average (when optim.ema > 0)

    def __init__(self, cfg, data=None):
        self.cfg, self.data = cfg, data  # data None: built only to load trained networks

    @abstractmethod
    def spec(self):
        """The networks' description saved in checkpoints (a NetworkSpec)."""

    @abstractmethod
    def build(self, spec) -> dict[str, nn.Module]:
        """The networks by name, freshly initialised (the engine seeds the RNG before)."""

    @abstractmethod
    def d_loss(self, tr) -> Terms:
        """D's loss for one D update (the engine owns zero_grad, backward and the step)."""

    @abstractmethod
    def g_loss(self, tr) -> Terms:
        """G's loss for one G update, against the D side frozen."""

    @abstractmethod
    def save_samples(self, tr, path):
        """Write a picture of what G makes at this round to ``path`` (PNG); returns the path."""

    def after_d_update(self, tr) -> None:
        """Called after each D optimizer step (e.g. weight clipping)."""

    def state_dict(self) -> dict:
        """Game state beyond the networks that a checkpoint must hold (tensors and JSON values)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
