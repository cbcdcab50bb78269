"""The run report (``report.html``) and the callbacks every CLI training run gets."""

from __future__ import annotations

from ganforge.report.html import build_report, write_report

__all__ = ["build_report", "write_report", "ReportCallback", "run_callbacks"]


class ReportCallback:
    """Trainer callback that writes ``report.html`` when the run ends."""

    def on_end(self, trainer) -> None:
        if getattr(trainer, "run_dir", None) is not None:
            write_report(trainer.run_dir, trainer=trainer)


def run_callbacks(run_dir, cfg, report: bool = True, console: bool = True) -> list:
    """The diagnostics monitor (alerts to ``run_dir/alerts.jsonl`` and the console) and, unless
    ``report`` is False, the end-of-run report. The monitor comes first so that the report shows
    the final alerts."""
    from ganforge.diagnostics.monitor import Monitor
    from ganforge.objectives import get_objective

    family = get_objective(cfg.loss.name).family
    callbacks = [Monitor(family, run_dir=run_dir, console=console).callback()]
    if report:
        callbacks.append(ReportCallback())
    return callbacks
