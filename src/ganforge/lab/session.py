"""One lab session: a trainer, a training thread and the stream of snapshots to one page.

The page's messages are validated on arrival (:meth:`LabSession.submit`) and applied by the
session's own thread between training rounds, so the trainer is only ever touched by that thread.
The thread trains as fast as allowed (``speed``), and at most ``snapshot_hz`` times a second
evaluates the networks on the view (:mod:`ganforge.lab.snapshot`) and offers the result to the
:class:`~ganforge.lab.outbox.Outbox`. Any exception inside the thread is reported to the page as
an error and pauses training; the session and the server keep running.
"""

from __future__ import annotations

import dataclasses
import math
import queue
import threading
import time
from collections import deque
from pathlib import Path

import torch

from ganforge.diagnostics.monitor import Monitor, finite_or_none
from ganforge.engine import Trainer
from ganforge.errors import GanforgeError
from ganforge.lab import experiments
from ganforge.lab.guide import FAST_MOTION_TEXT, GUIDED_STEPS, ROUND_DONE_TEXT, explanation_for
from ganforge.lab.outbox import Outbox
from ganforge.lab.protocol import (
    ControlMessage, DrawMessage, GuidedMessage, ListMessage, LoadMessage, ProtocolError, SaveMessage,
    SetMessage, StateMessage, StoryMessage, parse_message,
)
from ganforge.lab.settings import LabSettings, change_kind, check_consistent
from ganforge.lab.snapshot import Nets, make_view
from ganforge.lab.stories import STORIES
from ganforge.lab.worker import SnapshotJob, SnapshotWorker

CHART_KEYS = ("d_loss", "g_loss", "value", "d_real", "d_fake", "real_logit", "fake_logit", "d_acc",
              "g_grad_norm", "d_grad_norm")
SAMPLE_CHECK_EVERY = 250  # rounds between the monitor's sample-based (mode collapse) checks
GUIDED_FAST_S = 0.35  # seconds per step of the guided round in fast motion
ALERT_MEMORY = 8  # alerts kept for the page


class LabSession:
    """One page's training session; create, :meth:`start`, :meth:`submit` messages, :meth:`close`."""

    def __init__(self, session_id: str, workspace: Path, outbox: Outbox | None = None,
                 snapshot_hz: float = 30.0, settings: LabSettings | None = None):
        self.id = session_id
        self.workspace = Path(workspace)
        self.outbox = outbox or Outbox()
        self.snapshot_hz = float(snapshot_hz)
        self.settings = settings or LabSettings()
        self.trainer: Trainer | None = None
        self.view = None
        self.monitor: Monitor | None = None
        self.playing = False
        self.run_id = 0  # increases when the networks are rebuilt or reset (the page clears its charts)
        self.rounds = 0  # full rounds in this run
        self.d_updates = 0
        self.g_updates = 0
        self.errors = 0  # errors reported to the page (bad messages and failures)
        self.failed = False  # the last training step raised; paused until the user changes something
        self._inbox: queue.Queue = queue.Queue(maxsize=256)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ack = None  # seq of the last applied message
        self._dirty = True
        self._force = False
        self._next_snapshot = 0.0
        self._next_round = 0.0
        self._acc: dict[str, list[float]] = {}
        self._nets: Nets | None = None  # the snapshot worker's copies of G and D
        self._worker: SnapshotWorker | None = None
        self._errors_lock = threading.Lock()
        self._alerts: deque[dict] = deque(maxlen=ALERT_MEMORY)
        self._rate_marks: deque[tuple[float, int]] = deque(maxlen=64)  # (time, rounds) at each snapshot
        self._last_rate = 0.0
        self._guided: int | None = None  # index into GUIDED_STEPS of the step just shown
        self._guided_fast = False
        self._guided_next = 0.0
        self._story: dict | None = None
        self._frames = 0
        self._public_lock = threading.Lock()
        self._public: dict = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the session's training thread (it builds the networks first)."""
        self._worker = SnapshotWorker(self.outbox, self._worker_failed, name=f"lab-snapshots-{self.id}")
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
        if self._worker is not None:
            self._worker.close(timeout)

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

    # ------------------------------------------------------------------ the thread
    def _main(self) -> None:
        try:
            self._rebuild(keep_weights=False)
        except Exception as e:  # an engine error must not kill the thread: the user can change settings
            self._fail("could not build the networks", e)
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception as e:
                self._fail("the session hit an error", e)
                self._stop.wait(0.1)  # a fault that repeats must not flood the page
        if self._worker is not None:
            self._worker.close()
        self.trainer = None
        self.view = None
        self.monitor = None
        self._nets = None

    def _tick(self) -> None:
        self._drain(self._wait_time())
        if self._stop.is_set():
            return
        now = time.perf_counter()
        if self.trainer is not None and not self.failed:
            if self._guided_fast and self._guided is not None and now >= self._guided_next:
                self._guided_advance()
                self._guided_next = now + GUIDED_FAST_S
            elif self.playing and now >= self._next_round:
                self._train_round()
                if self.settings.speed > 0:
                    self._next_round = max(self._next_round + 1.0 / self.settings.speed, now - 0.5)
        now = time.perf_counter()
        if self._force or (self._dirty and now >= self._next_snapshot):
            self._publish()

    def _wait_time(self) -> float:
        """How long the thread may block waiting for a message before it has work to do."""
        if self._force:
            return 0.0
        now = time.perf_counter()
        deadlines = []
        if self._dirty:
            deadlines.append(self._next_snapshot)
        if self.trainer is not None and not self.failed:
            if self.playing:
                deadlines.append(self._next_round if self.settings.speed > 0 else now)
            if self._guided_fast and self._guided is not None:
                deadlines.append(self._guided_next)
        if not deadlines:
            return 0.5
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
            self._apply(msg)
        except (GanforgeError, ValueError) as e:
            self._error(str(e), seq=msg.seq)
        except Exception as e:
            self._fail("could not apply the change", e, seq=msg.seq)
        if msg.seq is not None:
            self._ack = msg.seq
        self._force = True

    # ------------------------------------------------------------------ messages
    def _apply(self, msg) -> None:
        if isinstance(msg, SetMessage):
            self._apply_settings(msg.settings.changes())
        elif isinstance(msg, ControlMessage):
            self._control(msg.action)
        elif isinstance(msg, DrawMessage):
            self._apply_settings({"target": "drawn", "drawn": [list(p) for p in msg.points], "draw_std": msg.std})
        elif isinstance(msg, StoryMessage):
            self._start_story(msg.name)
        elif isinstance(msg, GuidedMessage):
            self._guide(msg.action)
        elif isinstance(msg, SaveMessage):
            self._save(msg.name, msg.seq)
        elif isinstance(msg, LoadMessage):
            self._load(msg.name, msg.seq)
        elif isinstance(msg, ListMessage):
            self.outbox.put({"type": "experiments", "seq": msg.seq, "names": experiments.list_names(self.workspace)})
        elif isinstance(msg, StateMessage):
            self.outbox.put({"type": "state", "seq": msg.seq, **self.state()})

    def _apply_settings(self, changes: dict) -> None:
        new = self.settings.replace(**changes)
        problem = check_consistent(new)
        if problem:
            raise ValueError(problem)
        kind = change_kind(self.settings, new)
        old = self.settings
        self.settings = new
        try:
            if kind in ("arch", "keep") or self.trainer is None:
                self._rebuild(keep_weights=kind == "keep")
            elif kind == "live":
                self._apply_live(old, new)
        except Exception:
            self.settings = old
            raise
        if kind == "view" and old.speed != new.speed:
            self._next_round = time.perf_counter()
        self.failed = False
        self._dirty = True

    def _apply_live(self, old: LabSettings, new: LabSettings) -> None:
        """Changes that keep the trainer: objective, learning rates, D steps, penalty weight."""
        t = self.trainer
        if new.objective != old.objective:
            family = t.objective.family
            t.set_objective(new.objective)
            if t.objective.family != family:
                self._new_monitor()
        if (new.lr_g, new.lr_d) != (old.lr_g, old.lr_d):
            t.set_lr(g=new.lr_g, d=new.lr_d)
        if new.d_steps != old.d_steps:
            t.set_d_steps(new.d_steps)
        if new.gp_weight != old.gp_weight:
            t.set_loss_weights(gp=new.gp_weight)

    def _control(self, action: str) -> None:
        if action in ("play", "pause"):
            self.playing = action == "play"
            self._guided, self._guided_fast = None, False
            self._next_round = time.perf_counter()
            if self.playing and self.trainer is None:
                self._rebuild(keep_weights=False)
            if self.playing:
                self.failed = False
            return
        if action == "reset":
            self._rebuild(keep_weights=False)
            return
        if self.trainer is None:
            raise ValueError("there are no networks yet; change a setting or press reset")
        self.playing = False
        self.failed = False
        if action == "step_d":
            self._record(self.trainer.d_step())
            self.d_updates += 1
        elif action == "step_g":
            self._record(self.trainer.g_step())
            self.g_updates += 1
        elif action == "step_round":
            self._train_round()
        self._dirty = True

    def _start_story(self, name: str) -> None:
        if name not in STORIES:
            raise ValueError(f"unknown story {name!r}; valid: {', '.join(STORIES)}")
        story = STORIES[name]
        new = LabSettings(speed=self.settings.speed).replace(**story.settings)
        problem = check_consistent(new)
        if problem:
            raise ValueError(problem)
        old = self.settings
        self.settings = new
        try:
            self._rebuild(keep_weights=False)
        except Exception:
            self.settings = old
            raise
        self._story = {"name": name, "title": story.title, "summary": story.summary, "watch": story.watch}
        self.playing = True
        self._next_round = time.perf_counter()

    # ------------------------------------------------------------------ guided mode
    def _guide(self, action: str) -> None:
        if self.trainer is None:
            raise ValueError("there are no networks yet; change a setting or press reset")
        if action == "stop":
            self._guided, self._guided_fast = None, False
            return
        self.playing = False
        if action == "start" or self._guided is None:
            self._guided = None
            self._guided_fast = action == "fast"
            self._guided_advance()
            self._guided_next = time.perf_counter() + GUIDED_FAST_S
            return
        if action == "next":
            self._guided_fast = False
            self._guided_advance()
        elif action == "fast":
            self._guided_fast = True
            self._guided_next = time.perf_counter()

    def _guided_advance(self) -> None:
        """Perform the next step of the guided round: fakes, D update(s), or G update."""
        step = 0 if self._guided is None else (self._guided + 1) % len(GUIDED_STEPS)
        if step == 0:
            self.view.z = self.trainer.sample_z(self.view.z.shape[0])  # (N, z_dim) a fresh batch to look at
        elif step == 1:
            for _ in range(self.settings.d_steps):
                self._record(self.trainer.d_step())
                self.d_updates += 1
        else:
            self._record(self.trainer.g_step())
            self.g_updates += 1
            self.rounds += 1
        self._guided = step
        self._dirty = True
        self._force = True

    # ------------------------------------------------------------------ training
    def _rebuild(self, keep_weights: bool) -> None:
        """A new trainer for the current settings; with ``keep_weights`` G and D keep their weights."""
        s = self.settings
        dist = s.distribution()
        trainer = Trainer(s.to_config(), run_dir=None, dataset=dist)
        old = self.trainer
        if keep_weights and old is not None:
            trainer.G.load_state_dict(old.G.state_dict())
            trainer.D.load_state_dict(old.D.state_dict())
        else:
            self.run_id += 1
            self.rounds = self.d_updates = self.g_updates = 0
            self._acc.clear()
            self._alerts.clear()
            self._story = None
            self.playing = False
        self.trainer = trainer
        self.view = make_view(dist, s.z_dim, s.noise, trainer.sample_z, seed=s.seed, key=s.target_key())
        self._nets = Nets(trainer.G, trainer.D, trainer.objective, s.pack)
        self._new_monitor()
        self._guided, self._guided_fast = None, False
        self.failed = False
        self._dirty = True

    def _new_monitor(self) -> None:
        self.monitor = Monitor(self.trainer.objective.family, console=False)

    def _train_round(self) -> None:
        stats = self.trainer.step()
        self.rounds += 1
        self.d_updates += self.settings.d_steps
        self.g_updates += 1
        self._record(stats)
        stats = dict(stats, step=self.rounds)
        for alert in self.monitor.observe(stats):
            self._remember(alert)
        if self.rounds % SAMPLE_CHECK_EVERY == 0:
            self._check_samples()
        self._dirty = True

    def _check_samples(self) -> None:
        v = self.view
        fake = self.trainer.generate(v.real.shape[0], ema=False)  # (N, dim)
        for alert in self.monitor.check_samples(v.real, fake, v.centers, v.std, step=self.rounds):
            self._remember(alert)

    def _remember(self, alert) -> None:
        d = finite_or_none(alert.to_dict())
        d["explanation"] = explanation_for(alert.name)
        self._alerts.append(d)

    def _record(self, stats: dict) -> None:
        for key in CHART_KEYS:
            value = stats.get(key)
            if value is not None and math.isfinite(float(value)):
                self._acc.setdefault(key, []).append(float(value))

    # ------------------------------------------------------------------ output
    def _publish(self) -> None:
        """Hand the current state to the snapshot worker (or retry shortly if it is busy)."""
        t0 = time.perf_counter()
        if self.trainer is not None and not self._worker.idle():
            self._next_snapshot = t0 + 0.002
            return
        self._rate_marks.append((t0, self.rounds))
        meta = {
            "type": "snapshot",
            "frame": self._frames,
            "ack": self._ack,
            "run": self.run_id,
            "step": self.rounds,
            "d_updates": self.d_updates,
            "g_updates": self.g_updates,
            "playing": self.playing,
            "rate": self._rate(t0),
            "settings": self.settings.public(),
            "story": self._story,
            "guided": self._guided_payload(),
            "failed": self.failed,
        }
        if self.trainer is None:
            self.outbox.put_snapshot(meta)
        else:
            meta["chart"] = {k: sum(v) / len(v) for k, v in self._acc.items() if v}
            meta["alerts"] = list(self._alerts)
            meta["equilibrium"] = self.monitor.equilibrium_distance() if self.monitor.window else None
            self._nets.sync(self.trainer.G, self.trainer.D, self.trainer.objective)
            job = SnapshotJob(self._nets, self.view, meta, version=self.d_updates + self.g_updates,
                              show_dstar=self.settings.show_dstar, playing=self.playing)
            if not self._worker.submit(job):
                self._next_snapshot = t0 + 0.002
                return
            self._acc.clear()
        self._force = False
        self._dirty = False
        # keep the average rate at snapshot_hz even though hand-offs wait for the end of a round,
        # but never schedule two snapshots closer than half a period
        period = 1.0 / self.snapshot_hz
        self._next_snapshot = max(self._next_snapshot + period, t0 + 0.5 * period)
        self._frames += 1
        self._update_public()

    def _rate(self, now: float) -> float:
        """Rounds per second over the last second or so."""
        marks = [m for m in self._rate_marks if now - m[0] <= 1.5]
        if len(marks) < 2 or marks[-1][0] - marks[0][0] < 0.2:
            return self._last_rate if self.playing else 0.0
        (t_a, r_a), (t_b, r_b) = marks[0], marks[-1]
        self._last_rate = max(0.0, (r_b - r_a) / (t_b - t_a))
        return self._last_rate

    def _guided_payload(self) -> dict | None:
        if self._guided is None:
            return None
        step = GUIDED_STEPS[self._guided]
        last = self._guided == len(GUIDED_STEPS) - 1
        note = FAST_MOTION_TEXT if self._guided_fast else (ROUND_DONE_TEXT if last else "")
        return {"index": self._guided, "count": len(GUIDED_STEPS), "fast": self._guided_fast, "note": note, **step}

    def _update_public(self) -> None:
        t = self.trainer
        data = getattr(t, "data", None) if t is not None else None
        public = {
            "session": self.id,
            "alive": self.alive,
            "run": self.run_id,
            "rounds": self.rounds,
            "playing": self.playing,
            "failed": self.failed,
            "errors": self.errors,
            "frames": self._frames,
            "snapshot_ms": self._worker.last_ms if self._worker is not None else 0.0,
            "objective": t.objective.name if t is not None else None,
            "family": t.objective.family if t is not None else None,
            "lr_g": t.opt_g.param_groups[0]["lr"] if t is not None else None,
            "lr_d": t.opt_d.param_groups[0]["lr"] if t is not None else None,
            "d_steps": t.cfg.train.d_steps if t is not None else None,
            "dataset": getattr(data, "name", None),
            "dataset_points": data.centers.tolist() if getattr(data, "name", "") == "points" else None,
            "settings": self.settings.public(),
        }
        with self._public_lock:
            self._public = public

    def _error(self, message: str, seq: int | None = None, field: str | None = None) -> None:
        with self._errors_lock:
            self.errors += 1
        self.outbox.put({"type": "error", "message": message, "seq": seq, "field": field})
        self._update_public()

    def _fail(self, what: str, exc: BaseException, seq: int | None = None) -> None:
        """An unexpected exception: tell the page, pause training, keep the session."""
        self.playing = False
        self.failed = True
        self._guided_fast = False
        detail = str(exc) if isinstance(exc, GanforgeError) else f"{type(exc).__name__}: {exc}"
        self._error(f"{what}: {detail}. Training is paused; change a setting or press Reset.", seq=seq)
        self._force = True

    def _worker_failed(self, what: str, exc: BaseException) -> None:
        """Called by the snapshot worker's thread: report, and let the next snapshot try again."""
        detail = str(exc) if isinstance(exc, GanforgeError) else f"{type(exc).__name__}: {exc}"
        self._error(f"{what}: {detail}")

    # ------------------------------------------------------------------ experiments
    def _save(self, name: str, seq: int | None) -> None:
        if self.trainer is None:
            raise ValueError("there are no networks to save yet")
        path = experiments.save(self.workspace, name, self.trainer, self.settings)
        self.outbox.put({"type": "saved", "seq": seq, "name": name, "path": str(path)})

    def _load(self, name: str, seq: int | None) -> None:
        settings, checkpoint = experiments.locate(self.workspace, name)
        problem = check_consistent(settings)
        if problem:
            raise ValueError(f"experiment {name!r}: {problem}")
        trainer = Trainer.from_checkpoint(checkpoint, dataset=settings.distribution(),
                                          overrides={"train.device": "cpu", "train.progress": False})
        self.settings = dataclasses.replace(settings, speed=self.settings.speed)
        self.trainer = trainer
        self.run_id += 1
        self.rounds = trainer.step_count
        self.d_updates = self.rounds * settings.d_steps
        self.g_updates = self.rounds
        self._acc.clear()
        self._alerts.clear()
        self._story = None
        self.playing = False
        self.view = make_view(trainer.data, settings.z_dim, settings.noise, trainer.sample_z, seed=settings.seed,
                              key=settings.target_key())
        self._nets = Nets(trainer.G, trainer.D, trainer.objective, settings.pack)
        self._new_monitor()
        self._guided, self._guided_fast = None, False
        self.failed = False
        self._dirty = True
        self.outbox.put({"type": "loaded", "seq": seq, "name": name, "step": self.rounds,
                         "settings": self.settings.public()})


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

