"""The snapshot worker: computes what the page draws on its own thread, so training does not wait.

The training thread hands over a :class:`SnapshotJob` (its networks' weights already copied into
the job's :class:`~ganforge.lab.snapshot.Nets`) only when the worker is idle; the worker evaluates
the view, adds the slower numbers when they are due (modes, HQ%, JS every ``METRICS_EVERY_S``; the
optimal D* every ``DSTAR_EVERY_S``), and puts the finished snapshot in the outbox. Torch releases
the GIL inside its kernels, so on two cores training and drawing run side by side.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from ganforge.fileio import finite_or_none
from ganforge.lab.outbox import Outbox
from ganforge.lab.snapshot import (
    Nets,
    View,
    optimal_d_grid,
    sample_metrics,
    take_snapshot,
)

METRICS_EVERY_S = 1.0  # modes captured, HQ% and the JS estimate while training
DSTAR_EVERY_S = 0.5  # the optimal discriminator on the 2D grid (a KDE over the grid: the costliest part)


@dataclass
class SnapshotJob:
    nets: Nets  # private copies of G and D, synced by the training thread
    view: View  # the run's view
    meta: dict  # the fields the training thread already knows (step, rate, chart, alerts, ...)
    version: int  # changes whenever the weights changed (rounds + single updates)
    show_dstar: bool  # compute D* (2D) for this frame
    playing: bool  # while paused, slow numbers are refreshed on every new version


class SnapshotWorker:
    """One thread that turns jobs into snapshots for one session's outbox."""

    def __init__(self, outbox: Outbox, on_error, name: str = "lab-snapshots"):
        self.outbox = outbox
        self.on_error = on_error  # called with (what, exception) from the worker thread
        self.busy_s = 0.0  # total seconds spent computing snapshots
        self.last_ms = 0.0  # duration of the last snapshot
        self._cond = threading.Condition()
        self._job: SnapshotJob | None = None
        self._busy = False
        self._stop = False
        self._cache_view: View | None = None
        self._metrics: dict = {}
        self._metrics_at = (-1.0, -1)  # (time, version)
        self._dstar: str | None = None
        self._dstar_at = (-1.0, -1)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def idle(self) -> bool:
        """True when a new job would be taken at once."""
        with self._cond:
            return not self._busy

    def submit(self, job: SnapshotJob) -> bool:
        """Hand over ``job``; False (job not taken) while the previous one is still being computed."""
        with self._cond:
            if self._busy or self._stop:
                return False
            self._job, self._busy = job, True
            self._cond.notify()
            return True

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._cache_view = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._job is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                job, self._job = self._job, None
            t0 = time.perf_counter()
            try:
                self.outbox.put_snapshot(finite_or_none(self._compute(job, t0)))
            except Exception as e:  # reported to the page; the worker keeps serving
                self.on_error("could not draw the networks", e)
            finally:
                self.last_ms = 1000.0 * (time.perf_counter() - t0)
                self.busy_s += self.last_ms / 1000.0
                with self._cond:
                    self._busy = False

    def _due(self, stamp: tuple[float, int], job: SnapshotJob, every: float, now: float) -> bool:
        t, version = stamp
        if job.view is not self._cache_view:
            return True
        if version == job.version:
            return False
        return (not job.playing) or now - t >= every

    def _compute(self, job: SnapshotJob, now: float) -> dict:
        out = dict(job.meta)
        out.update(take_snapshot(job.nets, job.view))
        if self._due(self._metrics_at, job, METRICS_EVERY_S, now):
            self._metrics = sample_metrics(job.nets, job.view)
            self._metrics_at = (now, job.version)
        if job.view.dim == 2 and job.show_dstar:
            if self._dstar is None or self._due(self._dstar_at, job, DSTAR_EVERY_S, now):
                self._dstar = optimal_d_grid(job.nets, job.view)
                self._dstar_at = (now, job.version)
            out["dstar"] = self._dstar
        else:
            self._dstar = None
        self._cache_view = job.view
        out["metrics"] = self._metrics
        out["snapshot_ms"] = self.last_ms
        return out
