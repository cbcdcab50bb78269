"""The lab's WebSocket protocol: what a page may send, checked strictly.

Every client message is one JSON object with a ``type``. :func:`parse_message` turns raw text into
one of the message models below or raises :class:`ProtocolError` with a one-line reason naming the
offending field. Models forbid unknown fields, use strict types (no ``"1"`` for 1, no ``true`` for
1), reject NaN and infinities, and bound every number so that no message can ask for a network,
batch or drawing large enough to exhaust the machine.

Messages the server sends back are plain dicts (``hello``, ``snapshot``, ``error``, ``state``,
``experiments``, ``saved``, ``loaded``, ``info``); they are documented in ``docs/lab.md``.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from ganforge.objectives import OBJECTIVES

MAX_MESSAGE_BYTES = 64 * 1024  # largest client message accepted (the WebSocket limit is set to this too)
MAX_POINTS = 512  # most points in a drawn distribution
COORD_LIMIT = 20.0  # drawn coordinates must lie in [-COORD_LIMIT, COORD_LIMIT]
NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # experiment names: never a path
MAX_DEPTH = 8  # most nested arrays/objects in a message (a valid one has 3: message, points, point)

# Inclusive bounds on every numeric setting: (low, high).
LIMITS: dict[str, tuple[float, float]] = {
    "lr_g": (1e-6, 1.0),
    "lr_d": (1e-6, 1.0),
    "gp_weight": (0.0, 100.0),
    "pack": (1, 8),
    "d_steps": (1, 10),
    "g_depth": (1, 6),
    "d_depth": (1, 6),
    "g_width": (4, 256),
    "d_width": (4, 256),
    "z_dim": (1, 16),
    "batch_size": (8, 1024),
    "speed": (0.0, 5000.0),  # rounds per second; 0 means as fast as the machine goes
    "draw_std": (0.005, 1.0),
}

TARGETS: dict[str, str] = {
    "ring8": "8 Gaussians on a ring",
    "grid25": "25 Gaussians on a grid",
    "spiral": "a spiral",
    "moons": "two moons",
    "line": "a line segment",
    "gauss1d": "1D: one Gaussian (the GAN paper's figure)",
    "bimodal1d": "1D: two Gaussians",
    "drawn": "the points you draw",
}
OPTIMIZERS = ("adam", "sgd", "rmsprop")
NOISES = ("gaussian", "uniform")
CONTROL_ACTIONS = ("play", "pause", "step_d", "step_g", "step_round", "reset")
GUIDED_ACTIONS = ("start", "next", "fast", "stop")


class ProtocolError(ValueError):
    """A client message that is not valid; ``field`` names the setting at fault when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _bounded(key: str, kind: type):
    lo, hi = LIMITS[key]
    return Annotated[kind, Field(ge=kind(lo), le=kind(hi))]


class SettingsPatch(_Strict):
    """A partial update of the session's settings; fields left out keep their value."""

    target: Literal[tuple(t for t in TARGETS if t != "drawn")] | None = None  # type: ignore[valid-type]
    objective: str | None = None
    spectral_norm: bool | None = None
    gp_weight: _bounded("gp_weight", float) | None = None
    pack: _bounded("pack", int) | None = None
    opt_g: Literal[OPTIMIZERS] | None = None  # type: ignore[valid-type]
    opt_d: Literal[OPTIMIZERS] | None = None  # type: ignore[valid-type]
    lr_g: _bounded("lr_g", float) | None = None
    lr_d: _bounded("lr_d", float) | None = None
    d_steps: _bounded("d_steps", int) | None = None
    g_depth: _bounded("g_depth", int) | None = None
    g_width: _bounded("g_width", int) | None = None
    d_depth: _bounded("d_depth", int) | None = None
    d_width: _bounded("d_width", int) | None = None
    z_dim: _bounded("z_dim", int) | None = None
    noise: Literal[NOISES] | None = None  # type: ignore[valid-type]
    batch_size: _bounded("batch_size", int) | None = None
    speed: _bounded("speed", float) | None = None
    show_dstar: bool | None = None

    @field_validator("objective")
    @classmethod
    def _known_objective(cls, v):
        if v is not None and v not in OBJECTIVES:
            raise ValueError(f"unknown objective {v!r}; valid: {', '.join(OBJECTIVES)}")
        return v

    @model_validator(mode="after")
    def _no_nulls(self):
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} may not be null; leave it out to keep the current value")
        if not self.model_fields_set:
            raise ValueError("settings is empty; give at least one setting to change")
        return self

    def changes(self) -> dict:
        """The settings this patch sets, as a plain dict."""
        return {k: getattr(self, k) for k in self.model_fields_set}


class _Message(_Strict):
    seq: Annotated[int, Field(ge=0, le=2**53)] | None = None  # echoed back as ``ack`` once applied


class SetMessage(_Message):
    type: Literal["set"]
    settings: SettingsPatch


class ControlMessage(_Message):
    type: Literal["control"]
    action: Literal[CONTROL_ACTIONS]  # type: ignore[valid-type]


class DrawMessage(_Message):
    """Train on a mixture of Gaussians centred on the points the user drew."""

    type: Literal["draw"]
    points: Annotated[
        list[tuple[Annotated[float, Field(ge=-COORD_LIMIT, le=COORD_LIMIT)],
                   Annotated[float, Field(ge=-COORD_LIMIT, le=COORD_LIMIT)]]],
        Field(min_length=1, max_length=MAX_POINTS),
    ]
    std: _bounded("draw_std", float) = 0.05


class StoryMessage(_Message):
    type: Literal["story"]
    name: Annotated[str, Field(pattern=NAME_PATTERN)]


class GuidedMessage(_Message):
    type: Literal["guided"]
    action: Literal[GUIDED_ACTIONS]  # type: ignore[valid-type]


class SaveMessage(_Message):
    type: Literal["save"]
    name: Annotated[str, Field(pattern=NAME_PATTERN)]


class LoadMessage(_Message):
    type: Literal["load"]
    name: Annotated[str, Field(pattern=NAME_PATTERN)]


class ListMessage(_Message):
    type: Literal["list"]


class StateMessage(_Message):
    type: Literal["state"]


Message = Annotated[
    Union[SetMessage, ControlMessage, DrawMessage, StoryMessage, GuidedMessage, SaveMessage, LoadMessage,
          ListMessage, StateMessage],
    Field(discriminator="type"),
]
_ADAPTER = TypeAdapter(Message)
MESSAGE_TYPES = ("set", "control", "draw", "story", "guided", "save", "load", "list", "state")


def _describe(err: ValidationError) -> tuple[str, str | None]:
    """One readable line for the first error, and the setting it is about (if any)."""
    first = err.errors()[0]
    loc = [str(p) for p in first["loc"] if not str(p) in MESSAGE_TYPES]
    where = ".".join(loc)
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "string_pattern_mismatch":
        msg = "must be 1 to 64 letters, digits, '_' or '-'"
    if first["type"] == "extra_forbidden":
        msg = "unknown field"
    if first["type"] == "union_tag_invalid":
        msg = f"unknown message type; valid types: {', '.join(MESSAGE_TYPES)}"
    field = loc[-1] if len(loc) >= 2 and loc[0] == "settings" else None
    text = f"{where}: {msg}" if where else msg
    if "input" in first and first["type"] not in ("missing", "union_tag_invalid", "model_type"):
        shown = json.dumps(first["input"])[:40] if _jsonable(first["input"]) else repr(first["input"])[:40]
        text += f" (got {shown})"
    return text, field


def _jsonable(v) -> bool:
    try:
        json.dumps(v, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


# a JSON string (skipped whole, so brackets inside it do not count) or one bracket
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON ``text``, counted without parsing it.

    Python's ``json`` recurses once per level and raises ``RecursionError`` on a few thousand
    ``[``; counting first turns such a message into an ordinary error. Text that is not valid
    JSON may count wrongly; the parser then rejects it.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:  # the common case: nothing to scan
        return text.count("[") + text.count("{")
    depth = deepest = 0
    for m in _JSON_TOKEN.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def parse_message(raw: str | bytes):
    """Decode and validate one client message; raise :class:`ProtocolError` when it is not valid."""
    size = len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw)
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message too large: {size} bytes, the limit is {MAX_MESSAGE_BYTES}")
    try:
        text = raw if isinstance(raw, str) else raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtocolError(f"message is not valid JSON: {e}") from None
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise ProtocolError(f"message nests {depth} levels of arrays/objects; at most {MAX_DEPTH} are accepted")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ProtocolError(f"message is not valid JSON: {str(e)[:120]}") from None
    if not isinstance(data, dict):
        raise ProtocolError("a message must be a JSON object with a 'type'")
    if "type" not in data:
        raise ProtocolError(f"message has no 'type'; valid types: {', '.join(MESSAGE_TYPES)}")
    try:
        # validated from the JSON text itself: strict JSON mode reads arrays as tuples, and NaN as
        # a non-finite number that the models reject
        return _ADAPTER.validate_json(text)
    except ValidationError as e:
        text, field = _describe(e)
        raise ProtocolError(text, field) from None


def limits_for_client() -> dict:
    """The bounds and choices the page uses to build its controls (the server checks them anyway)."""
    return {
        "limits": {k: list(v) for k, v in LIMITS.items()},
        "max_points": MAX_POINTS,
        "max_message_bytes": MAX_MESSAGE_BYTES,
        "targets": TARGETS,
        "objectives": {name: o.description for name, o in OBJECTIVES.items()},
        "optimizers": list(OPTIMIZERS),
        "noises": list(NOISES),
    }
