"""Diagnostics: read the stats stream and samples, raise named alerts with explanations and fixes."""

from ganforge.diagnostics.collapse import class_balance, sample_diversity
from ganforge.diagnostics.monitor import Alert, Monitor, equilibrium_distance, read_alerts

__all__ = ["Alert", "Monitor", "equilibrium_distance", "read_alerts", "sample_diversity", "class_balance",
           "MonitorCallback"]


def __getattr__(name):
    if name == "MonitorCallback":
        from ganforge.diagnostics.callback import MonitorCallback

        return MonitorCallback
    raise AttributeError(name)
