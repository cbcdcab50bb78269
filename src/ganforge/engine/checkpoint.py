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

Nothing half-done stays on disk: a full disk removes the partial temporary folder and raises one
:class:`~ganforge.errors.DiskFullError` line; temporary folders of killed processes are removed
when the next checkpoint is saved; pruning renames an old checkpoint to a hidden name before
deleting it, and readers list only complete checkpoints. state.json is untrusted input: it may
name only plain files inside its own folder, and every field is checked before use.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ganforge.errors import CheckpointError
from ganforge.fileio import (
    atomic_write_text,
    disk_full_as_error,
    remove_stale_temps,
    temp_name,
    to_json,
)

FORMAT = "ganforge-checkpoint/1"
_TENSOR_REF = "__tensor__"
_STEP_DIR = re.compile(r"^step-(\d{7,})$")
# a file a checkpoint may name: a plain name in its own folder (no separator, no "..", not hidden)
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.safetensors$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def step_dir_name(step: int) -> str:
    """The folder name of the checkpoint at round ``step``: ``step-NNNNNNN``."""
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
    """Put the tensors back where :func:`_flatten_tensors` left references (KeyError if one is missing)."""
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
    """Load what :func:`optimizer_state` saved into ``opt``.

    A malformed state (from a hand-edited state.json) raises ValueError or KeyError, like a state
    that does not fit ``opt``, so callers handle both the same way.
    """
    try:
        sd = {"state": {int(k): v for k, v in state["state"].items()}, "param_groups": list(state["param_groups"])}
    except (TypeError, AttributeError) as e:
        raise ValueError(f"malformed optimizer state ({e})") from None
    opt.load_state_dict(sd)


def _write_file(path: Path, data: bytes) -> dict:
    """Write ``data`` to ``path``, flushed to disk; return its sha256 and size for state.json."""
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


def _remove_tree(path: Path, root: Path) -> None:
    """Delete checkpoint folder ``path``: first renamed to a hidden name, so that a delete cut
    short (a kill, an I/O error) never leaves a half-deleted ``step-`` folder that readers see."""
    trash = temp_name(root / f"trash-{path.name}")
    if trash.exists():
        shutil.rmtree(trash, ignore_errors=True)
    try:
        os.rename(path, trash)
    except OSError:  # already gone, or not ours to move: the next prune tries again
        return
    shutil.rmtree(trash, ignore_errors=True)  # what stays (an I/O error) is swept at the next start


def save_checkpoint(
    root: Path, step: int, modules: dict[str, torch.nn.Module], state: dict, keep: int = 0
) -> Path:
    """Write checkpoint ``root/step-NNNNNNN`` atomically and point ``root/latest`` at it.

    ``modules`` maps a file stem ("G", "D", "G_ema") to a module; ``state`` is any nested dict of
    JSON values and tensors. ``keep`` > 0 deletes all but the ``keep`` newest checkpoints; the one
    just written is always kept, even when older rounds have higher numbers (a lab reset).
    A full disk raises :class:`DiskFullError` after removing the partial folder; the previous
    checkpoints and ``latest`` are untouched.
    """
    root = Path(root)
    name = step_dir_name(step)
    with disk_full_as_error(f"checkpoint {name}", root):
        root.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(root)  # folders of a process killed mid-write
        final = root / name
        tmp = temp_name(final)
        try:
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir()
            _write_tree(tmp, step, modules, state)
            if final.exists():  # a checkpoint of the same step (a resumed run repeating it): replace it
                _remove_tree(final, root)
            os.rename(tmp, final)
        finally:
            if tmp.exists():  # the write failed: leave nothing behind
                shutil.rmtree(tmp, ignore_errors=True)
        _fsync_dir(root)
        atomic_write_text(root / "latest", final.name + "\n", fsync=True)
        _fsync_dir(root)
    if keep > 0:
        older = [p for p in list_checkpoints(root) if p.name != final.name]
        for old in older[: max(0, len(older) - (keep - 1))]:
            _remove_tree(old, root)
    return final


def _write_tree(folder: Path, step: int, modules: dict[str, torch.nn.Module], state: dict) -> None:
    """Every file of a checkpoint into ``folder``, state.json last (its presence marks completion)."""
    files = {}
    pause = float(os.environ.get("GANFORGE_TEST_CHECKPOINT_DELAY", "0"))  # test hook: widen the write window
    for stem, module in modules.items():
        tensors = {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}
        files[f"{stem}.safetensors"] = _write_file(folder / f"{stem}.safetensors", st_save(tensors))
        if pause:
            time.sleep(pause)
    tensors: dict[str, torch.Tensor] = {}
    json_state = _flatten_tensors(state, "state", tensors)
    files["state.safetensors"] = _write_file(folder / "state.safetensors", st_save(tensors))
    meta = {"format": FORMAT, "step": step, "modules": list(modules), "files": files, "state": json_state}
    _write_file(folder / "state.json", to_json(meta, indent=1).encode())
    _fsync_dir(folder)


def _step_of(path: Path) -> int | None:
    m = _STEP_DIR.match(path.name)
    return int(m[1]) if m else None


def is_complete(path: Path) -> bool:
    """Whether ``path`` is a whole checkpoint: a well-formed state.json and every file it names
    present (hashes are checked only by :func:`read_checkpoint`)."""
    try:
        meta = _read_meta(Path(path))
    except CheckpointError:
        return False
    return all((Path(path) / name).is_file() for name in meta["files"])


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoint directories under ``root``, by step, oldest first.

    Temporary, half-pruned or otherwise incomplete folders are skipped.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    found = [(_step_of(p), p) for p in root.iterdir() if _step_of(p) is not None and p.is_dir()]
    return [p for _, p in sorted(found) if is_complete(p)]


def latest_checkpoint(root: Path) -> Path | None:
    """The checkpoint ``latest`` names, else the newest complete one, else None."""
    root = Path(root)
    pointer = root / "latest"
    if pointer.is_file():
        try:
            name = pointer.read_text().strip()
        except (OSError, UnicodeDecodeError):
            name = ""
        if _STEP_DIR.match(name) and is_complete(root / name):
            return root / name
    found = list_checkpoints(root)
    return found[-1] if found else None


def _read_meta(path: Path) -> dict:
    """state.json of checkpoint ``path``, checked field by field (CheckpointError naming the problem)."""
    meta_file = path / "state.json"
    if not meta_file.is_file():
        raise CheckpointError(f"{path} is not a ganforge checkpoint (no state.json)")
    try:
        meta = json.loads(meta_file.read_text())
    except (ValueError, UnicodeDecodeError, RecursionError):  # JSONDecodeError is a ValueError
        raise CheckpointError(f"checkpoint {path} is corrupt: state.json is not valid JSON") from None
    except OSError as e:
        raise CheckpointError(f"checkpoint {path}: cannot read state.json ({e.strerror or e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} has an unknown format; expected {FORMAT}")
    problem = _meta_problem(meta)
    if problem:
        raise CheckpointError(f"checkpoint {path} has a malformed state.json: {problem}")
    return meta


def _is_count(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _meta_problem(meta: dict) -> str | None:
    """What is wrong with a state.json's fields, or None."""
    missing = [k for k in ("step", "modules", "files", "state") if k not in meta]
    if missing:
        return f"missing {', '.join(missing)}"
    if not _is_count(meta["step"]):
        return f"step is {meta['step']!r}, expected an integer >= 0"
    files = meta["files"]
    if not isinstance(files, dict):
        return "files is not an object of file name -> {sha256, bytes}"
    for name, info in files.items():
        if not isinstance(name, str) or not _FILE_NAME.match(name):
            return (f"files names {name!r}; only plain .safetensors names inside the checkpoint's "
                    f"own folder are accepted (no path separator, '..' or absolute path)")
        if (not isinstance(info, dict) or set(info) != {"sha256", "bytes"} or not isinstance(info["sha256"], str)
                or not _SHA256.match(info["sha256"]) or not _is_count(info["bytes"])):
            return f"files[{name!r}] should be {{\"sha256\": 64 hex digits, \"bytes\": an integer >= 0}}"
    if "state.safetensors" not in files:
        return "files lacks state.safetensors"
    modules = meta["modules"]
    if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        return "modules is not a list of names"
    for m in modules:
        if f"{m}.safetensors" not in files:
            return f"module {m!r} has no {m}.safetensors in files"
    if not isinstance(meta["state"], dict):
        return "state is not an object"
    return None


def read_checkpoint(path: Path) -> tuple[dict, dict[str, dict[str, torch.Tensor]], dict]:
    """Verify and read a checkpoint: (metadata, {stem: module tensors}, state with tensors restored).

    Raises :class:`CheckpointError` naming the problem when a file is missing, truncated or
    altered, when state.json is malformed, or when a tensor file cannot be parsed.
    """
    path = Path(path)
    meta = _read_meta(path)
    blobs: dict[str, dict[str, torch.Tensor]] = {}
    for name, info in meta["files"].items():
        f = path / name
        if not f.is_file():
            raise CheckpointError(f"checkpoint {path} is incomplete: {name} is missing")
        data = f.read_bytes()
        if len(data) != info["bytes"] or hashlib.sha256(data).hexdigest() != info["sha256"]:
            raise CheckpointError(f"checkpoint {path} is corrupt or truncated: {name} does not match its recorded hash")
        try:
            blobs[name[: -len(".safetensors")]] = st_load(data)
        # SafetensorError for a bad header or offsets; dtype or shape problems surface as other
        # exceptions from the parsing code: for an untrusted file they all mean the same thing
        except Exception as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise CheckpointError(f"checkpoint {path}: {name} is not a valid safetensors file ({first})") from None
    try:
        state = _restore_tensors(meta["state"], blobs.pop("state"))
    except (KeyError, TypeError) as e:
        raise CheckpointError(f"checkpoint {path}: state.json refers to tensor {e} that state.safetensors "
                              f"does not hold") from None
    return meta, blobs, state
