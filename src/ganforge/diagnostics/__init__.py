"""Diagnostics: read the stats stream and samples, raise named alerts with explanations and fixes."""

from ganforge.diagnostics.callback import MonitorCallback
from ganforge.diagnostics.collapse import class_balance, sample_diversity
from ganforge.diagnostics.monitor import Alert, Monitor, equilibrium_distance, read_alerts

__all__ = ["Alert", "Monitor", "MonitorCallback", "equilibrium_distance", "read_alerts", "sample_diversity",
           "class_balance"]
