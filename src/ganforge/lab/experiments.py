"""Saved lab experiments: engine checkpoints plus the lab's settings, in one workspace folder.

An experiment called NAME lives in ``WORKSPACE/NAME/``: the engine's checkpoint folders
(``step-NNNNNNN/`` with safetensors weights and ``state.json``, and the ``latest`` pointer, exactly
as ``ganforge train`` writes them) and ``lab.json`` with the lab settings (target, drawn points,
speed, ...). Names are checked against ``[A-Za-z0-9_-]{1,64}`` and resolved inside the workspace:
a page can never name a path. ``lab.json`` is read back through the same validation as a page's
messages, so a hand-edited file cannot smuggle in a 10,000-wide network.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

from ganforge.data.sources import cache_root
from ganforge.engine.checkpoint import latest_checkpoint, read_checkpoint
from ganforge.errors import CheckpointError
from ganforge.lab.protocol import COORD_LIMIT, LIMITS, MAX_POINTS, NAME_PATTERN, ProtocolError, SettingsPatch, TARGETS
from ganforge.lab.settings import LabSettings

LAB_FILE = "lab.json"
MAX_LAB_FILE_BYTES = 256 * 1024
_NAME = re.compile(NAME_PATTERN)


def default_workspace() -> Path:
    """``<user cache>/lab``: ``$GANFORGE_CACHE/lab``, or ``~/.cache/ganforge/lab``."""
    return cache_root() / "lab"


def experiment_dir(workspace: Path, name: str) -> Path:
    """The folder of experiment ``name``, refusing anything that is not a plain name."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"experiment name {name!r} must be 1 to 64 letters, digits, '_' or '-'")
    root = Path(workspace).resolve()
    path = (root / name).resolve()
    if path.parent != root:
        raise ValueError(f"experiment name {name!r} does not stay inside the workspace")
    return path


def save(workspace: Path, name: str, trainer, settings: LabSettings) -> Path:
    """Write a checkpoint of ``trainer`` and the lab settings as experiment ``name``; return the checkpoint."""
    folder = experiment_dir(workspace, name)
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = trainer.save_checkpoint(folder)
    data = dataclasses.asdict(settings)
    tmp = folder / f".{LAB_FILE}.tmp"
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, folder / LAB_FILE)
    return checkpoint


def list_names(workspace: Path) -> list[str]:
    """Names of the experiments in the workspace that hold a checkpoint, sorted."""
    root = Path(workspace)
    if not root.is_dir():
        return []
    out = []
    for child in sorted(root.iterdir()):
        if child.is_dir() and not child.is_symlink() and _NAME.match(child.name) and latest_checkpoint(child):
            out.append(child.name)
    return out


def locate(workspace: Path, name: str) -> tuple[LabSettings, Path]:
    """The validated settings and the latest checkpoint of experiment ``name``."""
    folder = experiment_dir(workspace, name)
    if not folder.is_dir():
        raise ValueError(f"no experiment called {name!r}; saved ones: {', '.join(list_names(workspace)) or 'none'}")
    checkpoint = latest_checkpoint(folder)
    if checkpoint is None:
        raise CheckpointError(f"experiment {name!r} has no complete checkpoint")
    lab_file = folder / LAB_FILE
    if lab_file.is_file():
        settings = _read_settings(lab_file)
    else:  # a run saved by `ganforge train` and copied into the workspace
        _, _, state = read_checkpoint(checkpoint)
        settings = settings_from_config(state["config"])
    return settings, checkpoint


def _read_settings(path: Path) -> LabSettings:
    if path.stat().st_size > MAX_LAB_FILE_BYTES:
        raise CheckpointError(f"{path.name} is larger than {MAX_LAB_FILE_BYTES} bytes")
    try:
        data = json.loads(path.read_text())
    except ValueError as e:
        raise CheckpointError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} must hold a JSON object")
    return settings_from_dict(data, str(path))


def settings_from_dict(data: dict, where: str) -> LabSettings:
    """LabSettings from a saved dict, validated with the protocol's rules."""
    data = dict(data)
    target = data.pop("target", "ring8")
    drawn = data.pop("drawn", [])
    draw_std = data.pop("draw_std", 0.05)
    seed = data.pop("seed", 0)
    try:
        patch = SettingsPatch.model_validate_json(json.dumps(data)) if data else None
    except Exception as e:
        first = getattr(e, "errors", lambda: [{"loc": (), "msg": str(e)}])()[0]
        raise CheckpointError(f"{where}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    if target not in TARGETS:
        raise CheckpointError(f"{where}: unknown target {target!r}")
    ok_points = isinstance(drawn, list) and len(drawn) <= MAX_POINTS and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(c, (int, float)) and abs(c) <= COORD_LIMIT for c in p)
        for p in drawn
    )
    lo, hi = LIMITS["draw_std"]
    if not ok_points or not isinstance(draw_std, (int, float)) or not lo <= draw_std <= hi:
        raise CheckpointError(f"{where}: drawn points or their std are not valid")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**31:
        raise CheckpointError(f"{where}: seed must be an integer in [0, 2^31)")
    changes = patch.changes() if patch is not None else {}
    return LabSettings(target=target, drawn=[[float(a), float(b)] for a, b in drawn], draw_std=float(draw_std),
                       seed=seed).replace(**changes)


def settings_from_config(cfg: dict) -> LabSettings:
    """LabSettings matching an engine configuration dict (for checkpoints written by ``ganforge train``)."""
    m, loss, o, t = cfg["model"], cfg["loss"], cfg["optim"], cfg["train"]
    target = cfg["data"]["name"]
    if m.get("arch") != "mlp" or target not in TARGETS or target == "drawn":
        raise CheckpointError(f"the lab shows MLP GANs on its 2D/1D targets; this checkpoint is {m.get('arch')} on {target!r}")
    data = {
        "target": target, "objective": loss["name"], "spectral_norm": m["spectral_norm"],
        "gp_weight": loss["gp_weight"], "pack": m["pack"], "opt_g": o["g"], "opt_d": o["d"],
        "lr_g": o["lr_g"], "lr_d": o["lr_d"], "d_steps": t["d_steps"], "g_depth": m["g_depth"],
        "g_width": m["g_width"], "d_depth": m["d_depth"], "d_width": m["d_width"], "z_dim": m["z_dim"],
        "noise": m["noise"], "batch_size": t["batch_size"], "seed": t["seed"],
    }
    try:
        return settings_from_dict(data, "checkpoint configuration")
    except ProtocolError as e:
        raise CheckpointError(str(e)) from None
