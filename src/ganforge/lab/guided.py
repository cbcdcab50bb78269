"""Guided mode: one round of adversarial training walked through in three steps.

Step 0 draws a fresh batch of fakes (nothing is trained), step 1 performs the round's ``d_steps``
D updates, step 2 the G update that ends the round (the trainer counts it). *Next step* advances by
hand; *fast motion* advances on its own every :data:`FAST_STEP_S` seconds; *stop* leaves. The texts
shown with each step are in :mod:`ganforge.lab.texts`.
"""

from __future__ import annotations

import time

from ganforge.lab.texts import FAST_MOTION_TEXT, GUIDED_STEPS, ROUND_DONE_TEXT

FAST_STEP_S = 0.35  # seconds per step of the guided round in fast motion


class GuidedRound:
    """Where the guided walk is: the step just shown (None when not guiding), fast motion or not."""

    def __init__(self):
        self.index: int | None = None  # into GUIDED_STEPS
        self.fast = False
        self.next_at = 0.0  # perf_counter time of the next fast-motion step

    @property
    def active(self) -> bool:
        return self.index is not None

    def due(self, now: float) -> bool:
        """True when fast motion should take its next step now."""
        return self.fast and self.index is not None and now >= self.next_at

    def stop(self) -> None:
        self.index, self.fast = None, False

    def act(self, action: str, lab_run, d_steps: int) -> None:
        """Apply a page's ``start``, ``next``, ``fast`` or ``stop`` to ``lab_run``'s networks."""
        if action == "stop":
            self.stop()
            return
        if action == "start" or self.index is None:
            self.index = None
            self.fast = action == "fast"
            self.advance(lab_run, d_steps)
            self.next_at = time.perf_counter() + FAST_STEP_S
        elif action == "next":
            self.fast = False
            self.advance(lab_run, d_steps)
        elif action == "fast":
            self.fast = True
            self.next_at = time.perf_counter()

    def advance(self, lab_run, d_steps: int) -> None:
        """Perform the next step of the round: fresh fakes, the D update(s), or the G update."""
        step = 0 if self.index is None else (self.index + 1) % len(GUIDED_STEPS)
        if step == 0:
            lab_run.fresh_fakes()
        elif step == 1:
            for _ in range(d_steps):
                lab_run.d_update()
        else:
            lab_run.g_update()
        self.index = step

    def tick(self, lab_run, d_steps: int, now: float) -> None:
        """One fast-motion step, and schedule the next."""
        self.advance(lab_run, d_steps)
        self.next_at = now + FAST_STEP_S

    def payload(self) -> dict | None:
        """What the page shows of the walk: the step's title, text and highlights, and a note."""
        if self.index is None:
            return None
        step = GUIDED_STEPS[self.index]
        last = self.index == len(GUIDED_STEPS) - 1
        note = FAST_MOTION_TEXT if self.fast else (ROUND_DONE_TEXT if last else "")
        return {"index": self.index, "count": len(GUIDED_STEPS), "fast": self.fast, "note": note, **step}
