"""A thread-safe mailbox from a session's training thread to its WebSocket sender.

Ordinary messages (errors, replies) queue up, bounded; snapshots do not queue: a newer snapshot
replaces one not yet sent, so a slow page sees the latest state and memory stays flat however far
behind it falls.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable

MAX_QUEUED = 64  # ordinary messages kept when the page does not read; the oldest are dropped


class Outbox:
    """Messages waiting to be sent to one page."""

    def __init__(self, wake: Callable[[], None] | None = None):
        self._lock = threading.Lock()
        self._messages: deque[dict] = deque(maxlen=MAX_QUEUED)
        self._snapshot: dict | None = None
        self._wake = wake
        self.snapshots_put = 0  # snapshots offered
        self.snapshots_replaced = 0  # snapshots overwritten before they were sent

    def set_wake(self, wake: Callable[[], None] | None) -> None:
        """Call ``wake()`` (from any thread) whenever something is put."""
        self._wake = wake

    def put(self, message: dict) -> None:
        """Queue an ordinary message."""
        with self._lock:
            self._messages.append(message)
        self._notify()

    def put_snapshot(self, snapshot: dict) -> None:
        """Offer the latest snapshot, replacing any not yet sent."""
        with self._lock:
            if self._snapshot is not None:
                self.snapshots_replaced += 1
            self._snapshot = snapshot
            self.snapshots_put += 1
        self._notify()

    def drain(self) -> list[dict]:
        """Everything waiting, ordinary messages first, then the snapshot."""
        with self._lock:
            out = list(self._messages)
            self._messages.clear()
            if self._snapshot is not None:
                out.append(self._snapshot)
                self._snapshot = None
        return out

    def _notify(self) -> None:
        wake = self._wake
        if wake is not None:
            wake()
