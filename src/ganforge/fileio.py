"""Writing files so that nothing is ever left half-written, and JSON with one policy for NaN.

Every file ganforge writes (configs, stats, samples, reports, caches, saved experiments) goes
through :func:`atomic_path`: the content is written to a hidden temporary file beside the target,
then renamed over it in one step. A crash, a kill or a full disk therefore leaves either the old
file or the new one, and the temporary file is removed when the write fails. Temporary names carry
the writer's pid, so what a killed process left behind is recognised and removed on the next start
(:func:`remove_stale_temps`); a full disk becomes one :class:`~ganforge.errors.DiskFullError` line
(:func:`disk_full_as_error`).

JSON has no literal for NaN or infinity. ganforge writes them as ``null`` everywhere (stats,
metrics, alerts, the lab's messages), so any JSON reader can read every file of a run directory.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import shutil
import time
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
    """Append ``obj`` as one line of JSON to ``path`` (a .jsonl file), flushed.

    A write that fails (a full disk) is cut back, so no torn line is left for the next one to join.
    """
    line = (to_json(obj) + "\n").encode("utf-8")
    with open(path, "ab") as f:
        start = f.tell()
        try:
            f.write(line)
            f.flush()
        except OSError:
            with contextlib.suppress(OSError):
                f.truncate(start)
            raise


# ------------------------------------------------------------------ full disks and leftovers

DISK_FULL_ERRNOS = frozenset(e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if e is not None)
STALE_AGE_S = 3600.0  # a temp file untouched this long has no live writer (every writer keeps writing)


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` is the OS saying the disk or the user's quota is full."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


@contextlib.contextmanager
def disk_full_as_error(what: str, folder: str | Path) -> Iterator[None]:
    """Turn a full disk inside the block into one :class:`~ganforge.errors.DiskFullError` line
    naming ``what`` was being written and in which ``folder``; other errors pass through.

    Use it around writes that clean up after themselves (:func:`atomic_path`), so the message
    can promise that nothing half-written is left.
    """
    from ganforge.errors import DiskFullError

    try:
        yield
    except OSError as e:
        if not is_disk_full(e):
            raise
        raise DiskFullError(f"disk full while writing {what} in {folder} ({e.strerror}); the partial "
                            f"write was removed; free some space and try again") from None


_OWNED_DASH = re.compile(r"^\.tmp-.+-(?P<pid>\d+)$")  # checkpoint folders of earlier versions


def temp_owner_pid(name: str) -> int | None:
    """The pid of the process that made temporary file or folder ``name``, or None if unknown."""
    if name.startswith(TEMP_PREFIX):
        parts = name[len(TEMP_PREFIX):].split(".")
        # temp_name writes DEST.PID plus DEST's own extension: try with and without that extension
        for pid, dest, suffix in ((parts[-2:-1], parts[:-2], parts[-1:]), (parts[-1:], parts[:-1], [])):
            if pid and pid[0].isdigit() and pid[0].isascii() and dest:
                if Path(".".join(dest)).suffix == "".join("." + x for x in suffix):
                    return int(pid[0])
    m = _OWNED_DASH.match(name)
    return int(m["pid"]) if m else None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (one owned by another user counts)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # platforms without signal 0: assume alive, the age rule still applies
        return True
    return True


def remove_stale_temps(folder: str | Path, legacy: tuple[str, ...] = (), max_age_s: float = STALE_AGE_S) -> list[Path]:
    """Remove the temporary files and folders a killed process left in ``folder``; return them.

    A ``.tmp-`` entry goes when the process named in it is dead, or when it has not been modified
    for ``max_age_s`` (the pid may have been reused, as in containers where every run has the same
    pid); a live process's fresh temp file is never touched. ``legacy`` globs name temp files of
    earlier versions that carry no pid; they go by the age rule alone.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    now = time.time()
    removed = []
    try:
        paths = {p for pattern in (TEMP_PREFIX + "*", *legacy) for p in folder.glob(pattern)}
    except OSError:  # an unreadable folder holds nothing we could remove
        return []
    for path in sorted(paths):
        pid = temp_owner_pid(path.name)
        try:
            age = now - path.lstat().st_mtime
        except OSError:  # removed by another process meanwhile
            continue
        if pid is not None and pid_alive(pid) and age < max_age_s:
            continue
        if pid is None and age < max_age_s:
            continue
        # a leftover that cannot be removed (a read-only data dir, a race) is left for later:
        # cleaning up must never stop the work that called it
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        if not os.path.lexists(path):
            removed.append(path)
    return removed
