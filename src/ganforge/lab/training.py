"""What a lab session trains: the trainer and everything derived from it.

A :class:`LabRun` holds the engine's :class:`~ganforge.engine.Trainer` for the current settings, the
:class:`~ganforge.lab.snapshot.View` it is drawn on, the snapshot worker's copies of G and D, the
diagnostics monitor, the chart values gathered since the last snapshot and the latest alerts. It
is used by one thread only (the session's); it knows nothing of messages, threads or the page.

The counts shown on the page are the trainer's own (``step_count`` rounds, ``d_updates``,
``g_updates``): a round is ``d_steps`` D updates then one G update, whether it is trained whole,
walked through in guided mode or stepped by hand, and a saved experiment reloads with them.
"""

from __future__ import annotations

import math
from collections import deque

from ganforge.diagnostics.monitor import Monitor
from ganforge.engine import Trainer
from ganforge.fileio import finite_or_none
from ganforge.lab.settings import LabSettings
from ganforge.lab.snapshot import Nets, make_view
from ganforge.lab.texts import explanation_for

CHART_KEYS = ("d_loss", "g_loss", "value", "d_real", "d_fake", "real_logit", "fake_logit", "d_acc",
              "g_grad_norm", "d_grad_norm")
SAMPLE_CHECK_EVERY = 250  # rounds between the monitor's sample-based (mode collapse) checks
ALERT_MEMORY = 8  # alerts kept for the page
COUNTERS = ("step_count", "d_updates", "g_updates")  # the trainer's own counts of rounds and updates


class LabRun:
    """The networks being trained, their view and diagnostics; empty until :meth:`build`."""

    def __init__(self):
        self.trainer: Trainer | None = None
        self.view = None
        self.nets: Nets | None = None  # the snapshot worker's copies of G and D
        self.monitor: Monitor | None = None
        self.run_id = 0  # increases when the networks are rebuilt or reset (the page clears its charts)
        self.alerts: deque[dict] = deque(maxlen=ALERT_MEMORY)
        self._chart: dict[str, list[float]] = {}

    # ------------------------------------------------------------------ counts
    @property
    def rounds(self) -> int:
        """Rounds trained in this run (a G update ends a round)."""
        return self.trainer.step_count if self.trainer is not None else 0

    @property
    def d_updates(self) -> int:
        return self.trainer.d_updates if self.trainer is not None else 0

    @property
    def g_updates(self) -> int:
        return self.trainer.g_updates if self.trainer is not None else 0

    # ------------------------------------------------------------------ building
    def build(self, settings: LabSettings, keep_weights: bool) -> bool:
        """A new trainer for ``settings``; True when it starts a new run (fresh weights, counts at 0).

        With ``keep_weights`` (and networks already there) G and D keep their weights and the
        counts go on; the optimizers start afresh.
        """
        trainer = Trainer(settings.to_config(), run_dir=None, dataset=settings.distribution())
        old = self.trainer
        new_run = not (keep_weights and old is not None)
        if not new_run:
            trainer.G.load_state_dict(old.G.state_dict())
            trainer.D.load_state_dict(old.D.state_dict())
            for name in COUNTERS:
                setattr(trainer, name, getattr(old, name))
        self._use(trainer, settings, new_run)
        return new_run

    def adopt(self, trainer: Trainer, settings: LabSettings) -> None:
        """Use ``trainer`` (restored from a saved experiment, with its counts) as a new run."""
        self._use(trainer, settings, new_run=True)

    def _use(self, trainer: Trainer, settings: LabSettings, new_run: bool) -> None:
        if new_run:
            self.run_id += 1
            self._chart.clear()
            self.alerts.clear()
        self.trainer = trainer
        self.view = make_view(trainer.data, settings.z_dim, settings.noise, trainer.sample_z, seed=settings.seed,
                              key=settings.target_key())
        self.nets = Nets(trainer.G, trainer.D, trainer.objective, settings.pack)
        self.new_monitor()

    def new_monitor(self) -> None:
        """A fresh diagnostics monitor for the trainer's objective family."""
        self.monitor = Monitor(self.trainer.objective.family, console=False)

    def apply_live(self, old: LabSettings, new: LabSettings) -> None:
        """Changes that keep the trainer: objective, learning rates, D steps, penalty weight."""
        t = self.trainer
        if new.objective != old.objective:
            family = t.objective.family
            t.set_objective(new.objective)
            if t.objective.family != family:  # the alerts' thresholds depend on the family
                self.new_monitor()
        if (new.lr_g, new.lr_d) != (old.lr_g, old.lr_d):
            t.set_lr(g=new.lr_g, d=new.lr_d)
        if new.d_steps != old.d_steps:
            t.set_d_steps(new.d_steps)
        if new.gp_weight != old.gp_weight:
            t.set_loss_weights(gp=new.gp_weight)

    def clear(self) -> None:
        """Drop the networks (the session is ending)."""
        self.trainer = self.view = self.nets = self.monitor = None

    # ------------------------------------------------------------------ training
    def train_round(self) -> None:
        """One full round (``d_steps`` D updates, one G update), watched by the monitor."""
        stats = self.trainer.step()
        self.record(stats)
        self.observe(stats)

    def d_update(self) -> None:
        """One D update alone."""
        self.record(self.trainer.d_step())

    def g_update(self) -> None:
        """One G update alone (the trainer counts it as the end of a round)."""
        self.record(self.trainer.g_step())

    def fresh_fakes(self) -> None:
        """A new latent batch for the fakes on screen (the first step of the guided round)."""
        self.view.z = self.trainer.sample_z(self.view.z.shape[0])  # (N, z_dim)

    def observe(self, stats: dict) -> None:
        """Feed one round's stats to the monitor; check the samples every SAMPLE_CHECK_EVERY rounds:
        mode collapse, and a fresh k-NN classifier against the game's D (matched-discriminator)."""
        from ganforge.metrics.c2st import c2st

        for alert in self.monitor.observe(dict(stats, step=self.rounds)):
            self._remember(alert)
        if self.rounds % SAMPLE_CHECK_EVERY == 0:
            v = self.view
            fake = self.trainer.generate(v.real_metrics.shape[0], ema=False)  # (N_METRICS, dim)
            alerts = self.monitor.check_samples(v.real, fake[: v.real.shape[0]], v.centers, v.std, step=self.rounds)
            # k-NN: milliseconds on 2D points, so the check does not stall the training thread
            alerts += self.monitor.check_equilibrium(c2st(v.real_metrics, fake, "knn", seed=0), step=self.rounds)
            for alert in alerts:
                self._remember(alert)

    def record(self, stats: dict) -> None:
        """Gather the chart values of one update or round until the next snapshot."""
        for key in CHART_KEYS:
            value = stats.get(key)
            if value is not None and math.isfinite(float(value)):
                self._chart.setdefault(key, []).append(float(value))

    def chart_means(self) -> dict[str, float]:
        """The mean of each chart value gathered since :meth:`clear_chart`."""
        return {k: sum(v) / len(v) for k, v in self._chart.items() if v}

    def clear_chart(self) -> None:
        """Start gathering chart values anew (once a snapshot has taken them)."""
        self._chart.clear()

    def _remember(self, alert) -> None:
        d = finite_or_none(alert.to_dict())
        d["explanation"] = explanation_for(alert.name)
        self.alerts.append(d)
