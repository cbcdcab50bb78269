"""Run directories: create one without clobbering, or reopen one to resume."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ganforge.config import Config
from ganforge.engine.checkpoint import latest_checkpoint
from ganforge.errors import ConfigError, RunDirError


def create_run_dir(out: str | Path, cfg: Config, overwrite: bool = False) -> Path:
    """Make ``out`` a fresh run directory holding ``config.json``.

    An existing non-empty directory is an error unless ``overwrite``; even then only a directory
    that is a ganforge run (it has config.json) is removed, so a mistyped path cannot wipe other files.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not overwrite:
            raise RunDirError(f"run directory {out} already exists; use --resume {out} to continue it or --overwrite to replace it")
        if not (out / "config.json").is_file():
            raise RunDirError(f"{out} is not empty and is not a ganforge run (no config.json); refusing to overwrite it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    write_config(out, cfg)
    return out


def write_config(run_dir: Path, cfg: Config) -> None:
    tmp = run_dir / ".config.json.tmp"
    tmp.write_text(cfg.to_json() + "\n")
    os.replace(tmp, run_dir / "config.json")


def read_run_config(run_dir: str | Path) -> Config:
    """The configuration stored in a run directory (an error if it is not a run)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise RunDirError(f"{run_dir} is not a ganforge run directory (no config.json)")
    try:
        return Config.from_dict(json.loads(path.read_text()))
    except json.JSONDecodeError:
        raise RunDirError(f"{path} is not valid JSON") from None
    except ConfigError as e:
        raise RunDirError(f"{path}: {e}") from None


def run_checkpoint(run_dir: str | Path) -> Path:
    """The newest complete checkpoint of a run (an error naming the run if there is none)."""
    found = latest_checkpoint(Path(run_dir) / "checkpoints")
    if found is None:
        raise RunDirError(f"run {run_dir} has no complete checkpoint to load")
    return found
