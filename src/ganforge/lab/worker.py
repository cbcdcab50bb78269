"""The snapshot worker: computes what the page draws on its own thread, so training does not wait.

The training thread hands over a :class:`SnapshotJob` (its networks' weights already copied into
the job's :class:`~ganforge.lab.snapshot.Nets`) only when the worker is idle; the worker evaluates
the view, adds the slower numbers when they are due (modes, HQ%, JS every ``METRICS_EVERY_S``; the
optimal D* every ``DSTAR_EVERY_S``; the accuracies of D, D* and a fresh classifier every
``ACCURACY_EVERY_S``, never on the same frame as modes, HQ% and JS), and puts the finished snapshot
in the outbox. Torch releases
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
    accuracies,
    optimal_d_grid,
    sample_metrics,
    take_snapshot,
)

METRICS_EVERY_S = 1.0  # modes captured, HQ% and the JS estimate while training
DSTAR_EVERY_S = 0.5  # the optimal discriminator on the 2D grid (a KDE over the grid: the costliest part)
# who can tell real from fake (D, D*, a k-NN C2ST: about 6 ms alone, 25 ms on a loaded machine);
# on frames of their own, so that no frame carries two of the slower computations
ACCURACY_EVERY_S = 2.0


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
        self._accuracies: dict = {}
        self._accuracies_at = (-1.0, -1)
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
        if job.view is not self._cache_view:
            self._accuracies = {}  # a new run: the last run's verdicts mean nothing
        metrics_now = self._due(self._metrics_at, job, METRICS_EVERY_S, now)
        if metrics_now:
            self._metrics = sample_metrics(job.nets, job.view)
            self._metrics_at = (now, job.version)
        # while playing, the accuracies wait for a frame without the other slower numbers; paused,
        # there may be no next frame, so both are brought up to date at once
        if (not metrics_now or not job.playing) and self._due(self._accuracies_at, job, ACCURACY_EVERY_S, now):
            fake = job.nets.generate(job.view.z_metrics)  # (N_METRICS, dim)
            self._accuracies = accuracies(job.nets, job.view, fake)
            self._accuracies_at = (now, job.version)
        if job.view.dim == 2 and job.show_dstar:
            if self._dstar is None or self._due(self._dstar_at, job, DSTAR_EVERY_S, now):
                self._dstar = optimal_d_grid(job.nets, job.view)
                self._dstar_at = (now, job.version)
            out["dstar"] = self._dstar
        else:
            self._dstar = None
        self._cache_view = job.view
        out["metrics"] = {**self._metrics, **self._accuracies}
        out["snapshot_ms"] = self.last_ms
        return out
