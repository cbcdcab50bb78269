"""Checkpoints: safetensors for tensors, JSON for the rest, written atomically, never unpickled.

Layout of one checkpoint directory ``step-NNNNNNN/``::

    G.safetensors, D.safetensors, [G_ema.safetensors]   network weights and buffers
    state.safetensors                                   every other tensor (optimizer moments, RNG states)
    state.json                                          step, config, the non-tensor state, and the
                                                        sha256 and size of every file above

A checkpoint is first written to a hidden temporary directory, each file flushed to disk, then
renamed into place in one step; ``latest`` (a one-line text file naming the newest checkpoint) is
replaced atomically afterwards. A process killed at any moment therefore leaves either the old or
the new checkpoint complete, never a half-written one that looks valid. On load every file's hash is
checked, so a truncated or corrupted checkpoint is refused with a clear message.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ganforge.errors import CheckpointError

FORMAT = "ganforge-checkpoint/1"
_TENSOR_REF = "__tensor__"


def step_dir_name(step: int) -> str:
    return f"step-{step:07d}"


def _flatten_tensors(tree: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor leaf of a nested dict/list by a reference, collecting the tensors."""
    if isinstance(tree, torch.Tensor):
        tensors[prefix] = tree.detach().cpu().contiguous().clone()
        return {_TENSOR_REF: prefix}
    if isinstance(tree, dict):
        return {str(k): _flatten_tensors(v, f"{prefix}.{k}", tensors) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_flatten_tensors(v, f"{prefix}.{i}", tensors) for i, v in enumerate(tree)]
    return tree


def _restore_tensors(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(tree, dict):
        if set(tree) == {_TENSOR_REF}:
            return tensors[tree[_TENSOR_REF]]
        return {k: _restore_tensors(v, tensors) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_restore_tensors(v, tensors) for v in tree]
    return tree


def optimizer_state(opt: torch.optim.Optimizer) -> dict:
    """An optimizer's state dict with integer keys turned into strings (for JSON)."""
    sd = opt.state_dict()
    return {"state": {str(k): v for k, v in sd["state"].items()}, "param_groups": sd["param_groups"]}


def load_optimizer_state(opt: torch.optim.Optimizer, state: dict) -> None:
    sd = {"state": {int(k): v for k, v in state["state"].items()}, "param_groups": state["param_groups"]}
    opt.load_state_dict(sd)


def _write_file(path: Path, data: bytes) -> dict:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_checkpoint(
    root: Path, step: int, modules: dict[str, torch.nn.Module], state: dict, keep: int = 0
) -> Path:
    """Write checkpoint ``root/step-NNNNNNN`` atomically and point ``root/latest`` at it.

    ``modules`` maps a file stem ("G", "D", "G_ema") to a module; ``state`` is any nested dict of
    JSON values and tensors. ``keep`` > 0 deletes all but the ``keep`` newest checkpoints.
    """
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_dir_name(step)
    tmp = root / f".tmp-{step_dir_name(step)}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    files = {}
    pause = float(os.environ.get("GANFORGE_TEST_CHECKPOINT_DELAY", "0"))  # test hook: widen the write window
    for stem, module in modules.items():
        tensors = {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}
        files[f"{stem}.safetensors"] = _write_file(tmp / f"{stem}.safetensors", st_save(tensors))
        if pause:
            time.sleep(pause)
    tensors: dict[str, torch.Tensor] = {}
    json_state = _flatten_tensors(state, "state", tensors)
    files["state.safetensors"] = _write_file(tmp / "state.safetensors", st_save(tensors))
    meta = {"format": FORMAT, "step": step, "modules": list(modules), "files": files, "state": json_state}
    _write_file(tmp / "state.json", json.dumps(meta, indent=1).encode())
    _fsync_dir(tmp)
    if final.exists():  # a checkpoint of the same step (a resumed run repeating it): replace it
        shutil.rmtree(final)
    os.rename(tmp, final)
    _fsync_dir(root)
    latest_tmp = root / f".latest-{os.getpid()}"
    _write_file(latest_tmp, (final.name + "\n").encode())
    os.replace(latest_tmp, root / "latest")
    _fsync_dir(root)
    if keep > 0:
        for old in list_checkpoints(root)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoint directories under ``root``, oldest first (temporary ones are ignored)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-"))


def latest_checkpoint(root: Path) -> Path | None:
    """The checkpoint ``latest`` names, else the newest complete one, else None."""
    pointer = root / "latest"
    if pointer.is_file():
        name = pointer.read_text().strip()
        if name.startswith("step-") and "/" not in name and (root / name).is_dir():
            return root / name
    found = list_checkpoints(root)
    return found[-1] if found else None


def read_checkpoint(path: Path) -> tuple[dict, dict[str, dict[str, torch.Tensor]], dict]:
    """Verify and read a checkpoint: (metadata, {stem: module tensors}, state with tensors restored).

    Raises :class:`CheckpointError` naming the problem when a file is missing, truncated or altered.
    """
    path = Path(path)
    meta_file = path / "state.json"
    if not meta_file.is_file():
        raise CheckpointError(f"{path} is not a ganforge checkpoint (no state.json)")
    try:
        meta = json.loads(meta_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"checkpoint {path} is corrupt: state.json is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} has an unknown format; expected {FORMAT}")
    blobs: dict[str, dict[str, torch.Tensor]] = {}
    for name, info in meta["files"].items():
        f = path / name
        if not f.is_file():
            raise CheckpointError(f"checkpoint {path} is incomplete: {name} is missing")
        data = f.read_bytes()
        if len(data) != info["bytes"] or hashlib.sha256(data).hexdigest() != info["sha256"]:
            raise CheckpointError(f"checkpoint {path} is corrupt or truncated: {name} does not match its recorded hash")
        blobs[name[: -len(".safetensors")]] = st_load(data)
    state = _restore_tensors(meta["state"], blobs.pop("state"))
    return meta, blobs, state
