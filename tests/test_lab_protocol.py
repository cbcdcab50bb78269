"""The lab's message protocol: what a page may send, and what it may not."""

from __future__ import annotations

import json

import pytest

from ganforge.errors import CheckpointError
from ganforge.lab import experiments
from ganforge.lab.protocol import (
    LIMITS,
    MAX_MESSAGE_BYTES,
    MAX_POINTS,
    ControlMessage,
    DrawMessage,
    ProtocolError,
    SetMessage,
    parse_message,
)
from ganforge.lab.settings import LabSettings, change_kind, check_consistent
from ganforge.objectives import OBJECTIVES


def bad(raw) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        parse_message(raw if isinstance(raw, (str, bytes)) else json.dumps(raw))
    return info.value


def test_valid_messages_parse_to_their_models():
    m = parse_message('{"type": "set", "seq": 4, "settings": {"lr_g": 0.002, "objective": "hinge", "spectral_norm": true}}')
    assert isinstance(m, SetMessage) and m.seq == 4
    assert m.settings.changes() == {"lr_g": 0.002, "objective": "hinge", "spectral_norm": True}
    assert isinstance(parse_message('{"type": "control", "action": "step_d"}'), ControlMessage)
    d = parse_message('{"type": "draw", "points": [[0, 1], [0.5, -0.25]], "std": 0.1}')
    assert isinstance(d, DrawMessage) and d.points == [(0.0, 1.0), (0.5, -0.25)] and d.std == 0.1
    # an integer is a fine float (JSON writes 1.0 as 1)
    assert parse_message('{"type": "set", "settings": {"lr_d": 1}}').settings.lr_d == 1.0


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_every_engine_objective_is_accepted(name):
    assert parse_message(json.dumps({"type": "set", "settings": {"objective": name}})).settings.objective == name


@pytest.mark.parametrize(
    "settings, field, words",
    [
        ({"lr_g": -5}, "lr_g", "greater than or equal"),
        ({"lr_g": "abc"}, "lr_g", "valid number"),
        ({"lr_d": 0}, "lr_d", "greater than or equal"),
        ({"g_width": 100000}, "g_width", "less than or equal"),
        ({"d_depth": 0}, "d_depth", "greater than or equal"),
        ({"batch_size": 2.5}, "batch_size", "valid integer"),
        ({"z_dim": True}, "z_dim", "valid integer"),
        ({"spectral_norm": 1}, "spectral_norm", "valid boolean"),
        ({"objective": "bogus"}, "objective", "unknown objective"),
        ({"opt_g": "lbfgs"}, "opt_g", "Input should be"),
        ({"target": "drawn"}, "target", "Input should be"),
        ({"noise": "laplace"}, "noise", "Input should be"),
        ({"foo": 1}, "foo", "unknown field"),
        ({"speed": -1}, "speed", "greater than or equal"),
    ],
)
def test_bad_settings_are_rejected_naming_the_field(settings, field, words):
    err = bad({"type": "set", "settings": settings})
    assert err.field == field
    assert words in str(err)


def test_every_numeric_setting_is_bounded():
    for key, (lo, hi) in LIMITS.items():
        if key == "draw_std":
            continue
        above = hi * 2 + 1
        below = lo - 1
        for value in (above, below):
            with pytest.raises(ProtocolError):
                parse_message(json.dumps({"type": "set", "settings": {key: value}}))


@pytest.mark.parametrize(
    "raw, words",
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"settings": {}}', "no 'type'"),
        ('{"type": "launch"}', "unknown message type"),
        ('{"type": "set", "settings": {}}', "empty"),
        ('{"type": "set", "settings": {"lr_g": null}}', "may not be null"),
        ('{"type": "set", "settings": {"lr_g": NaN}}', "finite"),
        ('{"type": "set", "settings": {"lr_g": Infinity}}', "finite"),
        ('{"type": "control", "action": "play", "extra": 1}', "unknown field"),
        ('{"type": "control", "action": "explode"}', "Input should be"),
        ('{"type": "control"}', "Field required"),
        ('{"type": "control", "action": "play", "seq": -1}', "greater than or equal"),
        ('{"type": "save", "name": "../../etc/passwd"}', "letters, digits"),
        ('{"type": "load", "name": ""}', "letters, digits"),
        ('{"type": "load", "name": "a/b"}', "letters, digits"),
        ('{"type": "draw", "points": []}', "at least 1"),
        ('{"type": "draw", "points": [[0, 1, 2]]}', "at most 2"),
        ('{"type": "draw", "points": [[0, 1e9]]}', "less than or equal"),
        ('{"type": "draw", "points": [[0, 1]], "std": 0}', "greater than or equal"),
    ],
)
def test_malformed_messages_are_rejected(raw, words):
    assert words in str(bad(raw))


def test_message_size_and_point_count_are_capped():
    big = json.dumps({"type": "set", "settings": {"objective": "x" * MAX_MESSAGE_BYTES}})
    assert "too large" in str(bad(big))
    too_many = {"type": "draw", "points": [[0.001 * i, 0.0] for i in range(MAX_POINTS + 1)]}
    assert len(json.dumps(too_many)) < MAX_MESSAGE_BYTES  # rejected for the count, not the size
    assert "at most" in str(bad(too_many))
    ok = {"type": "draw", "points": [[0.001 * i, 0.0] for i in range(MAX_POINTS)]}
    assert len(parse_message(json.dumps(ok)).points) == MAX_POINTS


def test_experiment_names_never_become_paths(tmp_path):
    assert experiments.experiment_dir(tmp_path, "run_1-a") == (tmp_path / "run_1-a").resolve()
    for name in ("..", "../x", "a/b", "", "x" * 65, ".hidden", "a b", "/abs"):
        with pytest.raises(ValueError):
            experiments.experiment_dir(tmp_path, name)


def test_saved_settings_are_validated_like_messages():
    s = experiments.settings_from_dict({"target": "drawn", "drawn": [[0.1, 0.2]], "lr_g": 0.01, "seed": 3}, "lab.json")
    assert s.target == "drawn" and s.drawn == [[0.1, 0.2]] and s.lr_g == 0.01 and s.seed == 3
    for tampered in ({"g_width": 10**6}, {"target": "/etc"}, {"drawn": [[1, 2, 3]]}, {"drawn": [[0, 1e6]]},
                     {"seed": "x"}, {"unknown": 1}, {"draw_std": 0}):
        with pytest.raises(CheckpointError):
            experiments.settings_from_dict(tampered, "lab.json")


def test_change_kinds_decide_what_is_rebuilt():
    base = LabSettings()
    assert change_kind(base, base.replace()) == "none"
    assert change_kind(base, base.replace(objective="hinge", lr_g=0.01)) == "live"
    assert change_kind(base, base.replace(speed=20.0, show_dstar=True)) == "view"
    assert change_kind(base, base.replace(batch_size=128)) == "keep"
    assert change_kind(base, base.replace(target="moons")) == "keep"
    assert change_kind(base, base.replace(target="gauss1d")) == "arch"  # 2D -> 1D changes G's output
    assert change_kind(base, base.replace(g_width=64, lr_g=0.01)) == "arch"
    assert check_consistent(base.replace(batch_size=250, pack=4)) is not None
    assert check_consistent(base.replace(target="drawn")) is not None
    assert check_consistent(base) is None
