"""Report statistics from anywhere; the training loop collects them.

Code deep inside a loss or a regulariser calls ``report("gp", value)``; the loop opens a
:class:`StatsCollector` around each round and reads back the per-round means. Outside a collector
``report`` does nothing, so library functions can be used on their own.
"""

from __future__ import annotations

import math
from collections import defaultdict

import torch

_active: list["StatsCollector"] = []


def report(name: str, value) -> None:
    """Add ``value`` (a number or a tensor, averaged) to the statistic ``name`` of the current round."""
    if not _active:
        return
    if isinstance(value, torch.Tensor):
        value = value.detach().float().mean().item()
    _active[-1].add(name, float(value))


class StatsCollector:
    """Accumulates reported values; ``means()`` gives each statistic's mean since the last reset."""

    def __init__(self):
        self._sum: dict[str, float] = defaultdict(float)
        self._count: dict[str, int] = defaultdict(int)

    def add(self, name: str, value: float) -> None:
        self._sum[name] += value
        self._count[name] += 1

    def means(self) -> dict[str, float]:
        return {k: self._sum[k] / self._count[k] for k in self._sum}

    def reset(self) -> None:
        self._sum.clear()
        self._count.clear()

    def __enter__(self) -> "StatsCollector":
        _active.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _active.remove(self)


class RunningMeans:
    """Averages per-round stats dicts between two log lines."""

    def __init__(self):
        self.collector = StatsCollector()

    def add(self, stats: dict) -> None:
        for k, v in stats.items():
            if isinstance(v, (int, float)) and k != "step":
                self.collector.add(k, float(v))

    def pop(self) -> dict[str, float]:
        out = self.collector.means()
        self.collector.reset()
        return out


def json_safe(value: float):
    """NaN and infinities as strings, since JSON has no literal for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
