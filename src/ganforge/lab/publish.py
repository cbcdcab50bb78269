"""What a session tells its page: snapshots at a steady rate, and the read-only state summary.

:class:`Publisher` runs on the session's thread. When a snapshot is due it collects what the
thread already knows (counts, settings, chart means, alerts, guided step, training rate), copies
the current weights into the snapshot worker's networks and hands the job over; the worker
(:mod:`ganforge.lab.worker`) evaluates the view and puts the finished snapshot in the outbox. The
schedule keeps the average at ``snapshot_hz`` even though a hand-off waits for the end of a round.
"""

from __future__ import annotations

import time
from collections import deque

from ganforge.lab.worker import SnapshotJob

RETRY_S = 0.002  # how soon to try again when the worker is still busy with the previous snapshot
RATE_WINDOW_S = 1.5  # the training rate is measured over about this long


class Publisher:
    """Snapshot scheduling and contents for one session."""

    def __init__(self, snapshot_hz: float):
        self.snapshot_hz = float(snapshot_hz)
        self.frames = 0  # snapshots handed over
        self.next_at = 0.0  # perf_counter time at which the next snapshot is due
        self._marks: deque[tuple[float, int]] = deque(maxlen=64)  # (time, rounds) at each snapshot
        self._last_rate = 0.0

    def publish(self, session) -> bool:
        """Hand ``session``'s current state to its worker; False (retry shortly) while the worker is busy."""
        t0 = time.perf_counter()
        lab_run = session.run
        if lab_run.trainer is not None and not session.worker.idle():
            self.next_at = t0 + RETRY_S
            return False
        self._marks.append((t0, lab_run.rounds))
        meta = {
            "type": "snapshot",
            "frame": self.frames,
            "ack": session.ack,
            "run": lab_run.run_id,
            "step": lab_run.rounds,
            "d_updates": lab_run.d_updates,
            "g_updates": lab_run.g_updates,
            "playing": session.playing,
            "rate": self._rate(t0, session.playing),
            "settings": session.settings.public(),
            "story": session.story,
            "guided": session.guided.payload(),
            "failed": session.failed,
        }
        if lab_run.trainer is None:
            session.outbox.put_snapshot(meta)
        else:
            t = lab_run.trainer
            meta["chart"] = lab_run.chart_means()
            meta["alerts"] = list(lab_run.alerts)
            meta["equilibrium"] = lab_run.monitor.equilibrium_distance() if lab_run.monitor.window else None
            lab_run.nets.sync(t.G, t.D, t.objective)
            job = SnapshotJob(lab_run.nets, lab_run.view, meta, version=lab_run.d_updates + lab_run.g_updates,
                              show_dstar=session.settings.show_dstar, playing=session.playing)
            if not session.worker.submit(job):
                self.next_at = t0 + RETRY_S
                return False
            lab_run.clear_chart()
        # keep the average rate at snapshot_hz, but never schedule two snapshots closer than half a period
        period = 1.0 / self.snapshot_hz
        self.next_at = max(self.next_at + period, t0 + 0.5 * period)
        self.frames += 1
        return True

    def _rate(self, now: float, playing: bool) -> float:
        """Rounds per second over the last second or so."""
        marks = [m for m in self._marks if now - m[0] <= RATE_WINDOW_S]
        if len(marks) < 2 or marks[-1][0] - marks[0][0] < 0.2:
            return self._last_rate if playing else 0.0
        (t_a, r_a), (t_b, r_b) = marks[0], marks[-1]
        self._last_rate = max(0.0, (r_b - r_a) / (t_b - t_a))
        return self._last_rate


def public_state(session) -> dict:
    """The read-only summary of ``session`` for ``state`` replies and ``/api/sessions`` (no paths)."""
    lab_run = session.run
    t = lab_run.trainer
    data = getattr(t, "data", None) if t is not None else None
    worker = session.worker
    return {
        "session": session.id,
        "alive": session.alive,
        "run": lab_run.run_id,
        "rounds": lab_run.rounds,
        "d_updates": lab_run.d_updates,
        "g_updates": lab_run.g_updates,
        "playing": session.playing,
        "failed": session.failed,
        "errors": session.errors,
        "frames": session.publisher.frames,
        "snapshot_ms": worker.last_ms if worker is not None else 0.0,
        "objective": t.objective.name if t is not None else None,
        "family": t.objective.family if t is not None else None,
        "lr_g": t.opt_g.param_groups[0]["lr"] if t is not None else None,
        "lr_d": t.opt_d.param_groups[0]["lr"] if t is not None else None,
        "d_steps": t.cfg.train.d_steps if t is not None else None,
        "dataset": getattr(data, "name", None),
        "dataset_points": data.centers.tolist() if getattr(data, "name", "") == "points" else None,
        "settings": session.settings.public(),
    }
