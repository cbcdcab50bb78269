"""What each message from the page does to its session: one function per message type.

:func:`apply` runs on the session's thread (between training rounds), after
:mod:`ganforge.lab.protocol` has validated the message. A change that cannot be made raises
``ValueError`` or a :class:`~ganforge.errors.GanforgeError`; the session reports it to the page and
keeps its previous settings. Replies go to the session's outbox; none names a path.
"""

from __future__ import annotations

import dataclasses
import time

from ganforge.lab import experiments
from ganforge.lab.protocol import (
    ControlMessage,
    DrawMessage,
    GuidedMessage,
    ListMessage,
    LoadMessage,
    SaveMessage,
    SetMessage,
    StateMessage,
    StoryMessage,
)
from ganforge.lab.settings import LabSettings, change_kind, check_consistent
from ganforge.lab.stories import STORIES

NO_NETWORKS = "there are no networks yet; change a setting or press reset"


def apply(session, msg) -> None:
    """Apply one validated message to ``session``."""
    if isinstance(msg, SetMessage):
        change_settings(session, msg.settings.changes())
    elif isinstance(msg, ControlMessage):
        control(session, msg.action)
    elif isinstance(msg, DrawMessage):
        change_settings(session, {"target": "drawn", "drawn": [list(p) for p in msg.points], "draw_std": msg.std})
    elif isinstance(msg, StoryMessage):
        start_story(session, msg.name)
    elif isinstance(msg, GuidedMessage):
        guide(session, msg.action)
    elif isinstance(msg, SaveMessage):
        save(session, msg.name, msg.seq)
    elif isinstance(msg, LoadMessage):
        load(session, msg.name, msg.seq)
    elif isinstance(msg, ListMessage):
        session.outbox.put({"type": "experiments", "seq": msg.seq, "names": experiments.list_names(session.workspace)})
    elif isinstance(msg, StateMessage):
        session.outbox.put({"type": "state", "seq": msg.seq, **session.state()})


def change_settings(session, changes: dict) -> None:
    """New settings, applied as cheaply as their kind allows (see :mod:`ganforge.lab.settings`)."""
    new = session.settings.replace(**changes)
    problem = check_consistent(new)
    if problem:
        raise ValueError(problem)
    kind = change_kind(session.settings, new)
    old = session.settings
    session.settings = new
    try:
        if kind in ("arch", "keep") or session.run.trainer is None:
            session.rebuild(keep_weights=kind == "keep")
        elif kind == "live":
            session.run.apply_live(old, new)
    except Exception:
        session.settings = old
        raise
    if kind == "view" and old.speed != new.speed:
        session.next_round = time.perf_counter()
    session.failed = False
    session.dirty = True


def control(session, action: str) -> None:
    """Play, pause, reset, or one update by hand (D, G, or a whole round)."""
    if action in ("play", "pause"):
        session.playing = action == "play"
        session.guided.stop()
        session.next_round = time.perf_counter()
        if session.playing and session.run.trainer is None:
            session.rebuild(keep_weights=False)
        if session.playing:
            session.failed = False
        return
    if action == "reset":
        session.rebuild(keep_weights=False)
        return
    if session.run.trainer is None:
        raise ValueError(NO_NETWORKS)
    session.playing = False
    session.failed = False
    if action == "step_d":
        session.run.d_update()
    elif action == "step_g":
        session.run.g_update()
    elif action == "step_round":
        session.run.train_round()
    session.dirty = True


def start_story(session, name: str) -> None:
    """Load a story's settings on fresh networks and play."""
    if name not in STORIES:
        raise ValueError(f"unknown story {name!r}; valid: {', '.join(STORIES)}")
    story = STORIES[name]
    new = LabSettings(speed=session.settings.speed).replace(**story.settings)
    problem = check_consistent(new)
    if problem:
        raise ValueError(problem)
    old = session.settings
    session.settings = new
    try:
        session.rebuild(keep_weights=False)
    except Exception:
        session.settings = old
        raise
    session.story = {"name": name, "title": story.title, "summary": story.summary, "watch": story.watch}
    session.playing = True
    session.next_round = time.perf_counter()


def guide(session, action: str) -> None:
    """Guided mode: start, next step, fast motion, stop."""
    if session.run.trainer is None:
        raise ValueError(NO_NETWORKS)
    if action != "stop":
        session.playing = False
    session.guided.act(action, session.run, session.settings.d_steps)
    session.dirty = True


def save(session, name: str, seq: int | None) -> None:
    """Save the networks and settings as experiment ``name`` (within the workspace quota)."""
    if session.run.trainer is None:
        raise ValueError("there are no networks to save yet")
    step = experiments.save(session.workspace, name, session.run.trainer, session.settings, session.quota)
    session.outbox.put({"type": "saved", "seq": seq, "name": name, "step": step})


def load(session, name: str, seq: int | None) -> None:
    """Replace the networks by experiment ``name``'s, with its settings and counts; paused."""
    settings, trainer = experiments.load(session.workspace, name)
    session.settings = dataclasses.replace(settings, speed=session.settings.speed)
    session.run.adopt(trainer, session.settings)
    session.story = None
    session.playing = False
    session.guided.stop()
    session.failed = False
    session.dirty = True
    lab_run = session.run
    session.outbox.put({"type": "loaded", "seq": seq, "name": name, "step": lab_run.rounds,
                        "d_updates": lab_run.d_updates, "g_updates": lab_run.g_updates,
                        "settings": session.settings.public()})
