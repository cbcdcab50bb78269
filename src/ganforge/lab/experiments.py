"""Saved lab experiments: engine checkpoints plus the lab's settings, in one workspace folder.

An experiment called NAME lives in ``WORKSPACE/NAME/``: the engine's checkpoint folders
(``step-NNNNNNN/`` with safetensors weights and ``state.json``, and the ``latest`` pointer, exactly
as ``ganforge train`` writes them) and ``lab.json`` with the lab settings (target, drawn points,
speed, ...). Names are checked against ``[A-Za-z0-9_-]{1,64}`` and resolved inside the workspace:
a page can never name a path. ``lab.json`` is read back through the same validation as a page's
messages, so a hand-edited file cannot smuggle in a 10,000-wide network.

Saving is bounded by a :class:`Quota` (number of experiments and total bytes in the workspace), so
a page cannot fill the disk. Messages name experiments, never folders: what a page is told must
not reveal where the workspace is (:func:`public_text` scrubs text from elsewhere).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from ganforge.data.sources import cache_root
from ganforge.engine import Trainer
from ganforge.engine.checkpoint import latest_checkpoint, read_checkpoint
from ganforge.errors import CheckpointError, DiskFullError
from ganforge.fileio import atomic_write_text
from ganforge.lab import DEFAULT_MAX_BYTES, DEFAULT_MAX_EXPERIMENTS
from ganforge.lab.protocol import (
    COORD_LIMIT,
    LIMITS,
    MAX_POINTS,
    NAME_PATTERN,
    TARGETS,
    ProtocolError,
    SettingsPatch,
)
from ganforge.lab.settings import LabSettings, check_consistent

LAB_FILE = "lab.json"
MAX_LAB_FILE_BYTES = 256 * 1024
SAVE_OVERHEAD_BYTES = 64 * 1024  # state.json, lab.json and file-system slack, per save
_NAME = re.compile(NAME_PATTERN)
_SAVE_LOCK = threading.Lock()  # one save at a time per process, so two sessions cannot both pass the quota


class QuotaError(CheckpointError):
    """A save that would take the workspace past its quota."""


@dataclass(frozen=True)
class Quota:
    """Limits on saved experiments: how many, and how many bytes in the whole workspace."""

    max_experiments: int = DEFAULT_MAX_EXPERIMENTS
    max_bytes: int = DEFAULT_MAX_BYTES


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


def usage(workspace: Path) -> tuple[int, int]:
    """``(experiment folders, bytes of all files)`` in the workspace; symbolic links are not followed."""
    root = Path(workspace)
    if not root.is_dir():
        return 0, 0
    count, total = 0, 0
    stack = [root]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_symlink():
                    continue
                if entry.is_dir():
                    stack.append(Path(entry.path))
                    if Path(entry.path).parent == root and _NAME.match(entry.name):
                        count += 1
                elif entry.is_file():
                    total += entry.stat().st_size
    return count, total


def save_size(trainer) -> int:
    """Bytes a checkpoint of ``trainer`` takes, near enough: weights, optimizer moments, overhead."""
    tensors = [t for m in (trainer.G, trainer.D, getattr(trainer, "G_ema", None)) if m is not None
               for t in m.state_dict().values()]
    for opt in (trainer.opt_g, trainer.opt_d):
        tensors += [v for state in opt.state.values() for v in state.values() if hasattr(v, "nbytes")]
    if not any(opt.state for opt in (trainer.opt_g, trainer.opt_d)):  # moments not made yet: Adam's two
        tensors += [p for m in (trainer.G, trainer.D) for p in m.parameters()] * 2
    return sum(int(t.nbytes) for t in tensors) + SAVE_OVERHEAD_BYTES


def check_quota(workspace: Path, name: str, needed: int, quota: Quota) -> None:
    """Raise :class:`QuotaError` when saving ``needed`` bytes as ``name`` would exceed ``quota``."""
    count, used = usage(workspace)
    is_new = not experiment_dir(workspace, name).exists()
    if is_new and count >= quota.max_experiments:
        raise QuotaError(f"the workspace already holds {count} experiments, the limit is {quota.max_experiments}; "
                         f"save over an existing name, delete some, or start the lab with a larger --max-experiments")
    if used + needed > quota.max_bytes:
        raise QuotaError(f"saving {name!r} needs about {_mb(needed)} but the workspace holds {_mb(used)} of its "
                         f"{_mb(quota.max_bytes)} quota; delete some experiments or start the lab with a larger "
                         f"--max-workspace-mb")


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def save(workspace: Path, name: str, trainer, settings: LabSettings, quota: Quota | None = None) -> int:
    """Write a checkpoint of ``trainer`` and the lab settings as experiment ``name``; return its round.

    Refused with :class:`QuotaError` when the workspace would exceed ``quota``; a new experiment
    whose save fails leaves no folder behind.
    """
    quota = quota or Quota()
    folder = experiment_dir(workspace, name)
    with _SAVE_LOCK:
        check_quota(workspace, name, save_size(trainer), quota)
        is_new = not folder.exists()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            trainer.save_checkpoint(folder)
            atomic_write_text(folder / LAB_FILE, json.dumps(dataclasses.asdict(settings), indent=1))
        except BaseException as e:
            if is_new:
                shutil.rmtree(folder, ignore_errors=True)
            if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFullError(f"no space left to save experiment {name!r}; nothing was kept") from None
            raise
    return trainer.step_count


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
        settings = _read_settings(lab_file, f"experiment {name!r}: {LAB_FILE}")
    else:  # a run saved by `ganforge train` and copied into the workspace
        _, _, state = read_checkpoint(checkpoint)
        settings = settings_from_config(state["config"])
    return settings, checkpoint


def load(workspace: Path, name: str) -> tuple[LabSettings, Trainer]:
    """The settings and a CPU trainer restored from experiment ``name`` (weights, optimizers, rounds)."""
    settings, checkpoint = locate(workspace, name)
    problem = check_consistent(settings)
    if problem:
        raise ValueError(f"experiment {name!r}: {problem}")
    trainer = Trainer.from_checkpoint(checkpoint, dataset=settings.distribution(),
                                      overrides={"train.device": "cpu", "train.progress": False})
    return settings, trainer


def public_text(text: str, workspace: Path) -> str:
    """``text`` with the workspace's location taken out, for messages sent to a page.

    ``/home/u/.cache/ganforge/lab/exp-1/step-0000003`` becomes ``exp-1/step-0000003``; the
    workspace itself becomes "the workspace" and the home folder "~".
    """
    roots = {str(Path(workspace)), str(Path(workspace).resolve()), os.path.abspath(workspace)}
    for root in sorted(roots, key=len, reverse=True):  # the longest first: a prefix must not split one
        text = text.replace(root + os.sep, "").replace(root, "the workspace")
    home = str(Path.home())
    if len(home) > 1:
        text = text.replace(home, "~")
    return text


def _read_settings(path: Path, where: str) -> LabSettings:
    if path.stat().st_size > MAX_LAB_FILE_BYTES:
        raise CheckpointError(f"{where} is larger than {MAX_LAB_FILE_BYTES} bytes")
    try:
        data = json.loads(path.read_text())
    except (ValueError, RecursionError) as e:
        raise CheckpointError(f"{where} is not valid JSON: {str(e)[:80]}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{where} must hold a JSON object")
    return settings_from_dict(data, where)


def settings_from_dict(data: dict, where: str) -> LabSettings:
    """LabSettings from a saved dict, validated with the protocol's rules."""
    data = dict(data)
    target = data.pop("target", "ring8")
    drawn = data.pop("drawn", [])
    draw_std = data.pop("draw_std", 0.05)
    seed = data.pop("seed", 0)
    try:
        patch = SettingsPatch.model_validate_json(json.dumps(data)) if data else None
    except ValidationError as e:
        first = e.errors()[0]
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
