"""Inpainting masks: which pixels are hidden (the hole, 1) and which are known (0).

Every mask here is a bool tensor (N, 1, H, W), True inside the hole. Kinds (``data.mask``):

* ``center``: one square of side ``hole`` (0: half the image side) in the middle, the hole of
  Context Encoders (Pathak et al. 2016); on CIFAR-10 32x32 with ``hole`` 16 the usual centre task.
* ``lower-half``: the bottom ceil(H/2) rows hidden; on MNIST a digit must be completed from its
  upper half.
* ``rectangles``: 1 to 3 axis-aligned boxes, each side 10% to 50% of the image's (the random
  boxes of Iizuka et al. 2017 and of LaMa's "box" masks, Suvorov et al. 2022).
* ``free-form``: random brush strokes, the algorithm of DeepFill v2 (Yu et al. 2019, appendix,
  Algorithm 1): a few polylines of random vertices, angles and lengths, drawn with a random
  brush width and round joints; lengths and widths are fractions of the image side so a 32 px and
  a 256 px mask look alike.

Random kinds draw from a ``torch.Generator`` so a training stream can save and restore its state
(:class:`MaskSampler`). :func:`fixed_masks` gives the same seeded mask set for a split every time,
so figures and benchmarks compare completions on identical holes.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import torch
from PIL import Image, ImageDraw

from ganforge.errors import ConfigError

Tensor = torch.Tensor

MASK_KINDS = {
    "center": "a centred square hole of side data.mask_size (0: half the image side)",
    "lower-half": "the lower half of the image hidden",
    "rectangles": "1 to 3 random boxes, sides 10-50% of the image side",
    "free-form": "random brush strokes (DeepFill v2's free-form masks)",
}
RECT_COUNT = (1, 3)  # boxes per mask, inclusive
RECT_SIDE = (0.1, 0.5)  # a box side as a fraction of the image side
# DeepFill v2's free-form settings at 256 px (max 4 strokes of up to 12 vertices, length up to 40 px,
# brush 10-40 px), as fractions of the side so that other sizes get the same look
STROKES = (1, 4)
VERTICES = (4, 12)
STROKE_LENGTH = 40 / 256
BRUSH = (10 / 256, 40 / 256)
MAX_ANGLE = 2 * math.pi / 5


def _uniform(g: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=g, dtype=torch.float64))


def _integer(g: torch.Generator, low: int, high: int) -> int:
    """A uniform integer in [low, high] inclusive."""
    return int(torch.randint(low, high + 1, (), generator=g))


def center_square(h: int, w: int, hole: int = 0) -> Tensor:
    """(1, H, W) bool: a ``hole`` x ``hole`` square in the middle (0: half the shorter side)."""
    side = hole or max(1, min(h, w) // 2)
    if side > min(h, w):
        raise ConfigError(f"data.mask_size {side} is larger than the images ({h}x{w}); "
                          f"give at most {min(h, w)} (0 = half the side)")
    m = torch.zeros(1, h, w, dtype=torch.bool)
    top, left = (h - side) // 2, (w - side) // 2
    m[:, top:top + side, left:left + side] = True
    return m


def lower_half(h: int, w: int) -> Tensor:
    """(1, H, W) bool: the bottom ceil(H / 2) rows."""
    m = torch.zeros(1, h, w, dtype=torch.bool)
    m[:, h // 2:] = True
    return m


def random_rectangles(h: int, w: int, g: torch.Generator) -> Tensor:
    """(1, H, W) bool: the union of 1-3 random boxes (see :data:`RECT_SIDE`)."""
    m = torch.zeros(1, h, w, dtype=torch.bool)
    for _ in range(_integer(g, *RECT_COUNT)):
        bh = max(1, round(_uniform(g, *RECT_SIDE) * h))
        bw = max(1, round(_uniform(g, *RECT_SIDE) * w))
        top, left = _integer(g, 0, h - bh), _integer(g, 0, w - bw)
        m[:, top:top + bh, left:left + bw] = True
    return m


def free_form(h: int, w: int, g: torch.Generator) -> Tensor:
    """(1, H, W) bool: DeepFill v2's random strokes (Yu et al. 2019, Algorithm 1), drawn with PIL."""
    side = min(h, w)
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(_integer(g, *STROKES)):
        x, y = _uniform(g, 0, w), _uniform(g, 0, h)
        width = max(1, round(_uniform(g, *BRUSH) * side))
        points = [(x, y)]
        for i in range(_integer(g, *VERTICES)):
            angle = _uniform(g, 0, MAX_ANGLE)
            if i % 2 == 0:  # alternate the turn direction so strokes wander rather than circle
                angle = 2 * math.pi - angle
            length = _uniform(g, 1, max(2.0, STROKE_LENGTH * side))
            x = min(max(x + length * math.cos(angle), 0), w - 1)
            y = min(max(y + length * math.sin(angle), 0), h - 1)
            points.append((x, y))
        draw.line(points, fill=255, width=width)
        r = width / 2  # round joints and ends, as the paper's circles at every vertex
        for px, py in points:
            draw.ellipse((px - r, py - r, px + r, py + r), fill=255)
    return torch.from_numpy(np.asarray(canvas) > 0)[None]


def draw_masks(kind: str, n: int, h: int, w: int, g: torch.Generator | None = None, hole: int = 0) -> Tensor:
    """``n`` masks (n, 1, H, W) bool of ``kind`` (see :data:`MASK_KINDS`); random kinds draw from ``g``."""
    if kind == "center":
        return center_square(h, w, hole)[None].expand(n, -1, -1, -1).clone()
    if kind == "lower-half":
        return lower_half(h, w)[None].expand(n, -1, -1, -1).clone()
    if kind not in MASK_KINDS:
        raise ConfigError(f"unknown mask kind {kind!r}; valid kinds: {', '.join(MASK_KINDS)}")
    g = g if g is not None else torch.Generator().manual_seed(0)
    draw = random_rectangles if kind == "rectangles" else free_form
    if n == 0:
        return torch.zeros(0, 1, h, w, dtype=torch.bool)
    return torch.stack([draw(h, w, g) for _ in range(n)])


def split_seed(kind: str, split: str, seed: int = 0) -> int:
    """The seed of a split's fixed mask set: a checksum of the kind and split names, plus ``seed``."""
    return (zlib.crc32(f"{kind}/{split}".encode()) + seed) % 2**63


def fixed_masks(kind: str, n: int, h: int, w: int, split: str = "test", hole: int = 0, seed: int = 0) -> Tensor:
    """The fixed mask set of ``split``: the same (n, 1, H, W) masks on every call and machine, so
    figures made on that split compare completions of identical holes. Mask i does not depend on
    ``n`` (a longer set starts with the shorter one)."""
    return draw_masks(kind, n, h, w, torch.Generator().manual_seed(split_seed(kind, split, seed)), hole)


class MaskSampler:
    """Training masks of one kind, a fresh draw per batch from its own generator; its state goes
    into checkpoints so that a resumed run sees the same masks."""

    def __init__(self, kind: str, h: int, w: int, hole: int = 0, seed: int = 0):
        if kind not in MASK_KINDS:
            raise ConfigError(f"data.mask: unknown mask kind {kind!r}; valid kinds: {', '.join(MASK_KINDS)}")
        self.kind, self.h, self.w, self.hole = kind, h, w, hole
        self.rng = torch.Generator().manual_seed(seed)
        draw_masks(kind, 1, h, w, torch.Generator(), hole)  # a hole too large for the images fails now

    def __call__(self, n: int) -> Tensor:
        """(n, 1, H, W) bool masks."""
        return draw_masks(self.kind, n, self.h, self.w, self.rng, self.hole)

    def state_dict(self) -> dict:
        return {"rng": self.rng.get_state()}

    def load_state_dict(self, state: dict) -> None:
        if "rng" in state:
            self.rng.set_state(state["rng"])


def coverage(masks: Tensor) -> Tensor:
    """The hidden fraction of each mask (N, 1, H, W) -> (N,)."""
    return masks.flatten(1).float().mean(1)
