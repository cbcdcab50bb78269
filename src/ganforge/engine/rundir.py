"""Run directories: create one without clobbering, reopen one to resume, and hold it while training.

Only one process may train into a run at a time: :class:`RunLock` holds an exclusive lock on
``RUN/.lock`` (which names the owner's pid) for as long as the process trains. The operating system
releases the lock when the process ends, however it ends, so a lock left by a killed process is
simply taken over by the next one.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

from ganforge.config import Config
from ganforge.engine.checkpoint import latest_checkpoint
from ganforge.errors import ConfigError, RunDirError, RunInUseError
from ganforge.fileio import atomic_write_text, disk_full_as_error, pid_alive, remove_stale_temps

LOCK_NAME = ".lock"


def _contents(folder: Path) -> list[Path]:
    """What ``folder`` holds besides its lock file."""
    return [p for p in folder.iterdir() if p.name != LOCK_NAME]


def create_run_dir(out: str | Path, cfg: Config, overwrite: bool = False, lock: "RunLock | None" = None) -> Path:
    """Make ``out`` a fresh run directory holding ``config.json``.

    An existing non-empty directory is an error unless ``overwrite``; even then only a directory
    that is a ganforge run (it has config.json) is emptied, so a mistyped path cannot wipe other
    files. ``lock`` (a :class:`RunLock` for ``out``) is acquired before anything is removed, so a
    run another process is training is never overwritten.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or _contents(out)):
        if not overwrite:
            raise RunDirError(f"run directory {out} already exists; use --resume {out} to continue it or --overwrite to replace it")
        if not (out / "config.json").is_file():
            raise RunDirError(f"{out} is not empty and is not a ganforge run (no config.json); refusing to overwrite it")
    with disk_full_as_error("the run directory", out.parent):
        out.mkdir(parents=True, exist_ok=True)
    if lock is not None:
        lock.acquire()
    for child in _contents(out):  # an overwritten run: everything but the lock we hold
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    write_config(out, cfg)
    return out


def write_config(run_dir: Path, cfg: Config) -> None:
    """Write ``run_dir/config.json`` atomically."""
    with disk_full_as_error("config.json", run_dir):
        atomic_write_text(Path(run_dir) / "config.json", cfg.to_json() + "\n")


def read_run_config(run_dir: str | Path) -> Config:
    """The configuration stored in a run directory (an error if it is not a run)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise RunDirError(f"{run_dir} is not a ganforge run directory (no config.json)")
    try:
        return Config.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RunDirError(f"{path} is not valid JSON") from None
    except ConfigError as e:
        raise RunDirError(f"{path}: {e}") from None


def run_checkpoint(run_dir: str | Path) -> Path:
    """The newest complete checkpoint of a run (an error naming the run if there is none)."""
    found = latest_checkpoint(Path(run_dir) / "checkpoints")
    if found is None:
        raise RunDirError(f"run {run_dir} has no complete checkpoint to load")
    return found


def remove_run_leftovers(run_dir: str | Path) -> list[Path]:
    """Remove what killed processes left in a run: temporary checkpoint folders, half-written
    samples, plots and reports (only those whose writer is dead, see
    :func:`ganforge.fileio.remove_stale_temps`). Returns the removed paths."""
    run_dir = Path(run_dir)
    removed = []
    for folder in (run_dir, run_dir / "checkpoints", run_dir / "samples"):
        # earlier versions named their temporary files .NAME.PID.tmp and .latest-PID
        removed += remove_stale_temps(folder, legacy=(".*.tmp", ".latest-*"))
    return removed


class RunLock:
    """An exclusive, process-wide claim on a run directory, held while training into it.

    ``RUN/.lock`` holds the owner's pid. Where the file system supports ``flock`` the claim is the
    kernel's lock on that file: it cannot race and it dies with its process. Elsewhere the pid in
    the file decides: a live pid refuses, a dead one is taken over.

        with RunLock(run_dir):
            trainer.run()
    """

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def owner(self) -> int | None:
        """The pid written in the lock file, or None when there is none."""
        try:
            text = self.path.read_text().strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isascii() and text.isdigit() else None

    def _in_use(self, pid: int | None) -> RunInUseError:
        who = f"process {pid}" if pid is not None else "another process"
        return RunInUseError(f"run {self.run_dir} is in use by {who}; wait for it to finish or stop it "
                             f"(the lock is {self.path}, released when that process exits)")

    def acquire(self) -> "RunLock":
        """Take the lock, or raise :class:`RunInUseError` naming the live process that holds it."""
        if self._fd is not None:
            return self
        with disk_full_as_error("the run's lock file", self.run_dir):
            self.run_dir.mkdir(parents=True, exist_ok=True)
            while True:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    if not self._claim(fd):
                        continue  # the file was replaced while we opened it: try the new one
                    os.ftruncate(fd, 0)
                    os.write(fd, f"{os.getpid()}\n".encode())
                    os.fsync(fd)
                except BaseException:
                    os.close(fd)
                    raise
                self._fd = fd
                return self

    def _claim(self, fd: int) -> bool:
        """Lock the open file ``fd``: True when held, False when the path moved on meanwhile."""
        try:
            import fcntl
        except ImportError:  # no flock on this platform
            return self._claim_by_pid(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise self._in_use(self.owner()) from None
            return self._claim_by_pid(fd)  # a file system without flock (some network mounts)
        # A releasing owner unlinks the file while holding the lock; if we locked that unlinked
        # file, the lock guards nothing: start again with the file now at the path.
        try:
            st, now = os.fstat(fd), os.stat(self.path)
        except FileNotFoundError:
            os.close(fd)
            return False
        if (st.st_dev, st.st_ino) != (now.st_dev, now.st_ino):
            os.close(fd)
            return False
        return True

    def _claim_by_pid(self, fd: int) -> bool:
        pid = self.owner()
        if pid is not None and pid != os.getpid() and pid_alive(pid):
            raise self._in_use(pid)
        return True  # no owner, or a dead one: take it over

    def release(self) -> None:
        """Give the lock up and remove the lock file (safe to call twice)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            if self.owner() == os.getpid():
                self.path.unlink(missing_ok=True)  # unlink while still locked, then unlock by closing
        finally:
            os.close(fd)

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
