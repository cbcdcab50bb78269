"""Writing files so that nothing is ever left half-written, and JSON with one policy for NaN.

Every file ganforge writes (configs, stats, samples, reports, caches, saved experiments) goes
through :func:`atomic_path`: the content is written to a hidden temporary file beside the target,
then renamed over it in one step. A crash, a kill or a full disk therefore leaves either the old
file or the new one, and the temporary file is removed when the write fails.

JSON has no literal for NaN or infinity. ganforge writes them as ``null`` everywhere (stats,
metrics, alerts, the lab's messages), so any JSON reader can read every file of a run directory.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path
from typing import Any, Iterator

TEMP_PREFIX = ".tmp-"  # every temporary file or folder ganforge makes starts with this


def temp_name(dest: Path, suffix: str = "") -> Path:
    """A hidden temporary path beside ``dest``, unique to this process (keeps dest's extension)."""
    dest = Path(dest)
    return dest.with_name(f"{TEMP_PREFIX}{dest.name}.{os.getpid()}{suffix or dest.suffix}")


@contextlib.contextmanager
def atomic_path(dest: str | Path, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``dest`` in one rename.

    The temporary file keeps ``dest``'s extension (savers that look at it, such as PIL and numpy,
    behave the same). On any exception it is removed and the exception propagates; ``dest`` is
    untouched. ``fsync`` flushes the file to disk before the rename (for checkpoints).

        with atomic_path(run / "loss.png") as tmp:
            fig.savefig(tmp)
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(dest)
    try:
        yield tmp
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def atomic_write_bytes(dest: str | Path, data: bytes, fsync: bool = False) -> Path:
    """Write ``data`` to ``dest`` atomically (see :func:`atomic_path`)."""
    with atomic_path(dest, fsync=fsync) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return Path(dest)


def atomic_write_text(dest: str | Path, text: str, fsync: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``dest`` atomically (see :func:`atomic_path`)."""
    return atomic_write_bytes(dest, text.encode("utf-8"), fsync=fsync)


def finite_or_none(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float (in nested dicts, lists, tuples) replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    return obj


def to_json(obj: Any, **kwargs) -> str:
    """Strict JSON text of ``obj``: non-finite floats become ``null`` (the one policy of ganforge)."""
    return json.dumps(finite_or_none(obj), allow_nan=False, **kwargs)


def append_json_line(path: str | Path, obj: Any) -> None:
    """Append ``obj`` as one line of JSON to ``path`` (a .jsonl file), flushed."""
    with open(path, "a") as f:
        f.write(to_json(obj) + "\n")
        f.flush()
