"""Shared by the lab's tests: reading a WebSocket until the message a test waits for, and polling."""

from __future__ import annotations

import time


def receive_until(ws, pred, limit: int = 500) -> dict:
    for _ in range(limit):
        m = ws.receive_json()
        if pred(m):
            return m
    raise AssertionError("expected message never came")


def wait_for(pred, timeout: float = 10.0) -> bool:
    """Poll ``pred`` until it holds or ``timeout`` seconds pass; its last answer."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()
