"""One lab session: a trainer, a training thread and the stream of snapshots to one page.

The page's messages are validated on arrival (:meth:`LabSession.submit`) and applied by the
session's own thread between training rounds (:mod:`ganforge.lab.handlers`), so the trainer is
only ever touched by that thread. The thread trains as fast as allowed (``speed``), walks the
guided round (:mod:`ganforge.lab.guided`) and at most ``snapshot_hz`` times a second hands a
snapshot to the worker (:mod:`ganforge.lab.publish`). Any exception inside the thread is reported
to the page as an error and pauses training; the session and the server keep running.

This module is the thread and its schedule; what is trained lives in
:class:`~ganforge.lab.training.LabRun`, saved experiments in :mod:`ganforge.lab.experiments`.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

import torch

from ganforge.errors import GanforgeError
from ganforge.lab import handlers
from ganforge.lab.experiments import Quota, public_text
from ganforge.lab.guided import GuidedRound
from ganforge.lab.outbox import Outbox
from ganforge.lab.protocol import ProtocolError, parse_message
from ganforge.lab.publish import Publisher, public_state
from ganforge.lab.settings import LabSettings
from ganforge.lab.stories import STORIES
from ganforge.lab.texts import GUIDED_STEPS
from ganforge.lab.training import LabRun
from ganforge.lab.worker import SnapshotWorker

INBOX_SIZE = 256  # messages waiting to be applied; more are refused with an error
IDLE_WAIT_S = 0.5  # how long the thread sleeps when it has nothing to do but wait for a message
LATE_ROUND_S = 0.5  # a speed-capped schedule that falls behind catches up at most this much


class LabSession:
    """One page's training session; create, :meth:`start`, :meth:`submit` messages, :meth:`close`."""

    def __init__(self, session_id: str, workspace: Path, outbox: Outbox | None = None,
                 snapshot_hz: float = 30.0, settings: LabSettings | None = None, quota: Quota | None = None):
        self.id = session_id
        self.workspace = Path(workspace)
        self.quota = quota or Quota()
        self.outbox = outbox or Outbox()
        self.settings = settings or LabSettings()
        self.run = LabRun()
        self.guided = GuidedRound()
        self.publisher = Publisher(snapshot_hz)
        self.worker: SnapshotWorker | None = None
        self.playing = False
        self.failed = False  # the last training step raised; paused until the user changes something
        self.story: dict | None = None  # the story being played, as shown on the page
        self.errors = 0  # errors reported to the page (bad messages and failures)
        self.ack = None  # seq of the last applied message
        self.dirty = True  # something changed since the last snapshot
        self.force = False  # send a snapshot now (a message was applied)
        self.next_round = 0.0  # perf_counter time of the next round when speed caps the rate
        self._inbox: queue.Queue = queue.Queue(maxsize=INBOX_SIZE)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._errors_lock = threading.Lock()
        self._public_lock = threading.Lock()
        self._public: dict = {}

    # ------------------------------------------------------------------ what is trained
    @property
    def trainer(self):
        return self.run.trainer

    @property
    def view(self):
        return self.run.view

    @property
    def rounds(self) -> int:
        """Rounds trained in this run (the trainer's own count)."""
        return self.run.rounds

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the session's training thread (it builds the networks first)."""
        self.worker = SnapshotWorker(self.outbox, self._worker_failed, name=f"lab-snapshots-{self.id}")
        self._update_public()  # listed with its id from the start, before the networks are built
        self._thread = threading.Thread(target=self._main, name=f"lab-session-{self.id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the session to end, without waiting: its thread stops the worker and drops the
        networks on its way out. Safe to call from any thread, any number of times."""
        self._stop.set()
        try:
            self._inbox.put_nowait(None)  # wake the thread
        except queue.Full:
            pass

    def close(self, timeout: float = 5.0) -> None:
        """Stop the session and wait for its threads to end."""
        self.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        if self.worker is not None:
            self.worker.close(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def submit(self, raw: str | bytes) -> bool:
        """Validate one raw message from the page and queue it; False (and an error sent) if invalid."""
        try:
            msg = parse_message(raw)
        except ProtocolError as e:
            self._error(str(e), field=e.field)
            return False
        try:
            self._inbox.put_nowait(msg)
        except queue.Full:
            self._error("too many messages at once; slow down", seq=msg.seq)
            return False
        return True

    def state(self) -> dict:
        """A read-only summary for the debug endpoint and ``state`` replies (safe from any thread)."""
        with self._public_lock:
            return dict(self._public)

    def rebuild(self, keep_weights: bool) -> None:
        """A new trainer for the current settings; with ``keep_weights`` G and D keep their weights."""
        if self.run.build(self.settings, keep_weights):
            self.story = None
            self.playing = False
        self.guided.stop()
        self.failed = False
        self.dirty = True

    # ------------------------------------------------------------------ the thread
    def _main(self) -> None:
        try:
            self.rebuild(keep_weights=False)
        except Exception as e:  # an engine error must not kill the thread: the user can change settings
            self._fail("could not build the networks", e)
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception as e:
                self._fail("the session hit an error", e)
                self._stop.wait(0.1)  # a fault that repeats must not flood the page
        if self.worker is not None:
            self.worker.close()
        self.run.clear()

    def _tick(self) -> None:
        self._drain(self._wait_time())
        if self._stop.is_set():
            return
        now = time.perf_counter()
        if self.run.trainer is not None and not self.failed:
            if self.guided.due(now):
                self.guided.tick(self.run, self.settings.d_steps, now)
                self.dirty = self.force = True
            elif self.playing and now >= self.next_round:
                self.run.train_round()
                self.dirty = True
                if self.settings.speed > 0:
                    self.next_round = max(self.next_round + 1.0 / self.settings.speed, now - LATE_ROUND_S)
        now = time.perf_counter()
        if (self.force or (self.dirty and now >= self.publisher.next_at)) and self.publisher.publish(self):
            self.force = self.dirty = False
            self._update_public()

    def _wait_time(self) -> float:
        """How long the thread may block waiting for a message before it has work to do."""
        if self.force:
            return 0.0
        now = time.perf_counter()
        deadlines = []
        if self.dirty:
            deadlines.append(self.publisher.next_at)
        if self.run.trainer is not None and not self.failed:
            if self.playing:
                deadlines.append(self.next_round if self.settings.speed > 0 else now)
            if self.guided.fast and self.guided.active:
                deadlines.append(self.guided.next_at)
        if not deadlines:
            return IDLE_WAIT_S
        return max(0.0, min(deadlines) - now)

    def _drain(self, wait: float) -> None:
        try:
            msg = self._inbox.get(timeout=wait) if wait > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return
        while msg is not None and not self._stop.is_set():
            self._apply_safely(msg)
            try:
                msg = self._inbox.get_nowait()
            except queue.Empty:
                return

    def _apply_safely(self, msg) -> None:
        try:
            handlers.apply(self, msg)
        except (GanforgeError, ValueError) as e:
            self._error(str(e), seq=msg.seq)
        except Exception as e:
            self._fail("could not apply the change", e, seq=msg.seq)
        if msg.seq is not None:
            self.ack = msg.seq
        self.force = True

    # ------------------------------------------------------------------ reporting
    def _update_public(self) -> None:
        public = public_state(self)
        with self._public_lock:
            self._public = public

    def _error(self, message: str, seq: int | None = None, field: str | None = None) -> None:
        """Send an error to the page (from any thread); the workspace's location is taken out."""
        with self._errors_lock:
            self.errors += 1
        self.outbox.put({"type": "error", "message": public_text(message, self.workspace), "seq": seq,
                         "field": field})
        self._update_public()

    def _fail(self, what: str, exc: BaseException, seq: int | None = None) -> None:
        """An unexpected exception: tell the page, pause training, keep the session."""
        self.playing = False
        self.failed = True
        self.guided.fast = False
        self._error(f"{what}: {_describe(exc)}. Training is paused; change a setting or press Reset.", seq=seq)
        self.force = True

    def _worker_failed(self, what: str, exc: BaseException) -> None:
        """Called by the snapshot worker's thread: report, and let the next snapshot try again."""
        self._error(f"{what}: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, GanforgeError) else f"{type(exc).__name__}: {exc}"


def hello(session: LabSession, limits: dict) -> dict:
    """The first message a page receives: its session id, the settings, the bounds and choices."""
    return {
        "type": "hello",
        "session": session.id,
        "settings": session.settings.public(),
        "stories": {k: {"title": s.title, "summary": s.summary} for k, s in STORIES.items()},
        "guided_steps": len(GUIDED_STEPS),
        "torch_threads": torch.get_num_threads(),
        **limits,
    }
