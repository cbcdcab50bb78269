"""Shared by the lab's tests: reading a WebSocket until the message a test waits for."""

from __future__ import annotations


def receive_until(ws, pred, limit: int = 500) -> dict:
    for _ in range(limit):
        m = ws.receive_json()
        if pred(m):
            return m
    raise AssertionError("expected message never came")
