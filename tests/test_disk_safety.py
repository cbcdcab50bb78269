"""Nothing half-done on disk: full disks, killed processes, pruning, hand-made checkpoints, run locks."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganforge.cli import main
from ganforge.engine import checkpoint as ckpt
from ganforge.engine.rundir import LOCK_NAME, RunLock, remove_run_leftovers
from ganforge.errors import CheckpointError, DiskFullError, RunInUseError
from ganforge.fileio import STALE_AGE_S, remove_stale_temps, temp_name, temp_owner_pid

REPO = Path(__file__).parent.parent

# a point-data run small enough to train in a second: checkpoints at rounds 3 and 6
RING = ["--preset", "ring8", "--set", "train.steps=6", "--set", "train.batch_size=16", "--set", "train.log_every=3",
        "--set", "train.sample_every=0", "--set", "train.checkpoint_every=3", "--set", "train.progress=false",
        "--set", "model.g_width=16", "--set", "model.d_width=16", "--no-report"]


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO / "src") + os.pathsep + str(REPO), OMP_NUM_THREADS="1")


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.fixture
def live_process():
    """A sleeping child process; its pid stands for another live ganforge process."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield p
    p.kill()
    p.wait()


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("ganforge: error:")]


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".tmp-*"))


# ------------------------------------------------------------------------------------ full disk


def _enospc_when(condition):
    """A replacement for checkpoint._write_file: writes half the bytes, then reports a full disk
    when ``condition(path)`` holds (what a real ENOSPC mid-write leaves)."""
    real = ckpt._write_file

    def write(path: Path, data: bytes) -> dict:
        if condition(path):
            path.write_bytes(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data)

    return write


def test_disk_full_during_a_checkpoint_leaves_the_run_resumable(tmp_path, monkeypatch, capsys):
    run = tmp_path / "ring"
    monkeypatch.setattr(ckpt, "_write_file", _enospc_when(lambda p: "step-0000006" in p.parent.name
                                                          and p.name == "D.safetensors"))
    assert main(["train", "--out", str(run), *RING]) == 1
    err = capsys.readouterr().err
    lines = _error_lines(err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "disk full while writing checkpoint step-0000006 in " + str(run / "checkpoints") in lines[0]
    assert lines[0].endswith(f"with `ganforge train --resume {run}`)")
    assert _temps(run) == []  # the partial temporary folder is gone
    assert [p.name for p in ckpt.list_checkpoints(run / "checkpoints")] == ["step-0000003"]
    assert ckpt.latest_checkpoint(run / "checkpoints").name == "step-0000003"
    assert not (run / LOCK_NAME).exists()  # released on the way out

    monkeypatch.undo()
    assert main(["train", "--resume", str(run)]) == 0
    assert ckpt.latest_checkpoint(run / "checkpoints").name == "step-0000006"
    ckpt.read_checkpoint(run / "checkpoints" / "step-0000006")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_anywhere_is_one_line_from_the_cli(tmp_path, monkeypatch, capsys, code):
    from ganforge.engine import Trainer

    def full(self, *a, **k):  # e.g. the stats log's append, which no guard wraps
        raise OSError(code, os.strerror(code), str(self.run_dir / "stats.jsonl"))

    monkeypatch.setattr(Trainer, "run", full)
    assert main(["train", "--out", str(tmp_path / "r"), *RING]) == 1
    err = capsys.readouterr().err
    assert _error_lines(err) == [
        f"ganforge: error: disk full while writing {tmp_path / 'r' / 'stats.jsonl'} ({os.strerror(code)}); "
        "free some space, then `ganforge train --resume RUN` continues a run from its last complete checkpoint"]
    assert "Traceback" not in err


def test_pictures_and_metrics_on_a_full_disk_leave_the_old_file(tmp_path, monkeypatch):
    from ganforge import viz
    from ganforge.metrics import record

    stats = tmp_path / "stats.jsonl"
    stats.write_text('{"step": 1, "d_loss": 1.0, "g_loss": 2.0, "d_real": 0.6, "d_fake": 0.4}\n')
    plot = viz.plot_training_curves(stats, tmp_path / "loss.png")
    before = plot.read_bytes()

    import matplotlib.figure

    def savefig(self, fname, **kwargs):
        Path(fname).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    with pytest.raises(DiskFullError, match=f"disk full while writing the loss plot loss.png in {tmp_path}"):
        viz.plot_training_curves(stats, tmp_path / "loss.png")
    assert plot.read_bytes() == before and _temps(tmp_path) == []

    from PIL import Image

    def save(self, fp, *a, **k):
        Path(fp).write_bytes(b"half")
        raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))

    monkeypatch.setattr(Image.Image, "save", save)
    with pytest.raises(DiskFullError, match="the image grid step-0000001.png"):
        viz.save_image_grid(torch.zeros(4, 1, 8, 8), tmp_path / "samples" / "step-0000001.png")
    assert list((tmp_path / "samples").iterdir()) == []

    # metrics.jsonl: a failed append is cut back off, so no torn line is left for the next one
    record.append_metrics(tmp_path, [{"step": 1, "metric": "fid", "value": 3.0}])
    good = (tmp_path / "metrics.jsonl").read_bytes()
    real_open = open

    class HalfWriter:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(bytes(data[:10]))
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(record, "open", lambda *a, **k: HalfWriter(real_open(*a, **k)), raising=False)
    with pytest.raises(DiskFullError, match="metrics.jsonl"):
        record.append_metrics(tmp_path, [{"step": 2, "metric": "fid", "value": float("nan")}])
    assert (tmp_path / "metrics.jsonl").read_bytes() == good


def test_report_on_a_full_disk_is_one_line_and_leaves_no_temp(tmp_path, monkeypatch):
    from ganforge import fileio
    from ganforge.report import html

    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setattr(html, "build_report", lambda *a, **k: "<html>" + "x" * 1000)
    real_open = open

    def failing_open(path, mode="r", *a, **k):
        f = real_open(path, mode, *a, **k)
        if "w" in mode and Path(path).name.startswith(".tmp-report.html"):
            f.write(b"<ht")
            f.close()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return f

    monkeypatch.setattr(fileio, "open", failing_open, raising=False)
    with pytest.raises(DiskFullError, match=f"the report report.html in {tmp_path}") as err:
        html.write_report(tmp_path)
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def _mount_tmpfs(folder: Path, size: str) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    folder.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")


def _fill(folder: Path, leave: int) -> Path:
    """Fill the file system of ``folder`` until about ``leave`` bytes are free."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    filler = folder / "filler"
    with open(filler, "wb") as f:
        try:
            f.write(b"\0" * max(0, free - leave))
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return filler


def test_real_full_disk_during_resume_is_one_line_and_resumable(tmp_path, capsys):
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "8m")
    try:
        run = disk / "run"
        small = ["--set", "model.g_width=64", "--set", "model.d_width=64"]
        assert main(["train", "--out", str(run), *RING, *small, "--set", "train.steps=3"]) == 0
        size = sum(f.stat().st_size for f in (run / "checkpoints" / "step-0000003").iterdir())
        assert 300_000 < size < 2_000_000  # G, D (maxout), G_ema and the Adam moments
        filler = _fill(disk, leave=size // 2)  # room for the lock, config and stats, not a checkpoint
        capsys.readouterr()
        assert main(["train", "--resume", str(run), "--steps", "6"]) == 1
        err = capsys.readouterr().err
        lines = _error_lines(err)
        assert len(lines) == 1 and "Traceback" not in err, err
        assert lines[0].startswith("ganforge: error: disk full while writing checkpoint step-0000006 in "), lines
        assert _temps(run) == [] and not (run / LOCK_NAME).exists()
        assert ckpt.latest_checkpoint(run / "checkpoints").name == "step-0000003"

        filler.unlink()
        assert main(["train", "--resume", str(run), "--steps", "6"]) == 0
        assert ckpt.latest_checkpoint(run / "checkpoints").name == "step-0000006"
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


# ---------------------------------------------------------------------------- leftovers of kills


def test_stale_temps_of_dead_processes_go_and_live_ones_stay(tmp_path, live_process):
    dead, live = _dead_pid(), live_process.pid
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    stale_dir = folder / f".tmp-step-0000010.{dead}"
    stale_dir.mkdir()
    (stale_dir / "G.safetensors").write_bytes(b"x" * 100)
    old_style = folder / f".tmp-step-0000011-{dead}"  # earlier versions' checkpoint temp folders
    old_style.mkdir()
    live_dir = folder / f".tmp-step-0000012.{live}"
    live_dir.mkdir()
    reused = folder / f".tmp-latest.{live}"  # a live pid, but untouched for longer than any write takes
    reused.write_text("step-0000010\n")
    old = time.time() - STALE_AGE_S - 10
    os.utime(reused, (old, old))
    legacy_old, legacy_new = folder / ".latest.abc.tmp", folder / ".latest.def.tmp"
    legacy_old.write_text("x")
    legacy_new.write_text("x")
    os.utime(legacy_old, (old, old))
    removed = remove_stale_temps(folder, legacy=(".*.tmp",))
    assert sorted(p.name for p in removed) == sorted([stale_dir.name, old_style.name, reused.name, legacy_old.name])
    assert sorted(p.name for p in folder.iterdir()) == sorted([live_dir.name, legacy_new.name])


def test_temp_names_carry_their_owner(tmp_path):
    for dest in ("loss.png", "step-0000100", "foo.123", "latest", "x.safetensors", "a.tar.gz"):
        assert temp_owner_pid(temp_name(tmp_path / dest).name) == os.getpid(), dest
    assert temp_owner_pid(".tmp-step-0000100-77") == 77
    assert temp_owner_pid(".tmp-no-pid") is None and temp_owner_pid("step-0000100") is None


def test_train_resume_removes_a_killed_runs_leftovers(tmp_path, live_process, capsys):
    run = tmp_path / "ring"
    assert main(["train", "--out", str(run), *RING]) == 0
    dead = _dead_pid()
    leftovers = [run / "checkpoints" / f".tmp-step-0000009.{dead}", run / f".tmp-loss.png.{dead}.png",
                 run / "samples" / f".tmp-step-0000009.png.{dead}.png"]
    kept = run / "checkpoints" / f".tmp-step-0000009.{live_process.pid}"
    leftovers[0].mkdir()
    (leftovers[0] / "G.safetensors").write_bytes(b"partial")
    kept.mkdir()
    for f in leftovers[1:]:
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(b"partial")
    assert main(["train", "--resume", str(run), "--steps", "9"]) == 0
    assert not any(p.exists() for p in leftovers) and kept.is_dir()
    assert ckpt.latest_checkpoint(run / "checkpoints").name == "step-0000009"
    assert remove_run_leftovers(run) == []  # the live one is still not touched


def test_decode_cache_temp_of_a_killed_decode_is_removed_on_next_load(tmp_path, live_process):
    from ganforge.config import DataConfig
    from ganforge.data import cache
    from ganforge.data.images import load_image_dataset

    folder = cache.cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dead = folder / f".tmp-mnist-train-r0-c0-l0-0123456789abcdef.safetensors.{_dead_pid()}.safetensors"
    live = folder / f".tmp-mnist-train-r0-c0-l0-0123456789abcdef.safetensors.{live_process.pid}.safetensors"
    dead.write_bytes(b"\0" * 4096)
    live.write_bytes(b"\0" * 4096)
    load_image_dataset(DataConfig(name="digits", limit=10))
    assert not dead.exists() and live.exists()
    assert _temps(folder) == [live.name]  # and the digits entry itself was written without a leftover


# ------------------------------------------------------------------------------ pruning and steps


def _modules(seed: int) -> dict[str, torch.nn.Module]:
    torch.manual_seed(seed)
    return {"G": torch.nn.Linear(3, 2), "D": torch.nn.Linear(2, 1)}


def _save(root: Path, step: int, keep: int = 0) -> Path:
    return ckpt.save_checkpoint(root, step, _modules(step), {"step": step, "t": torch.arange(3)}, keep=keep)


def test_saving_at_a_lower_step_keeps_the_new_checkpoint_and_latest(tmp_path):
    root = tmp_path / "checkpoints"
    for step in (10, 20, 30):
        _save(root, step, keep=2)
    assert [p.name for p in ckpt.list_checkpoints(root)] == ["step-0000020", "step-0000030"]
    new = _save(root, 5, keep=2)  # the lab after a reset
    assert new.is_dir() and (root / "latest").read_text().strip() == "step-0000005"
    assert ckpt.latest_checkpoint(root) == new
    assert [p.name for p in ckpt.list_checkpoints(root)] == ["step-0000005", "step-0000030"]
    meta, weights, state = ckpt.read_checkpoint(ckpt.latest_checkpoint(root))
    assert meta["step"] == 5 and torch.equal(weights["G"]["weight"], _modules(5)["G"].weight)
    assert [p.name for p in ckpt.list_checkpoints(root) if p.name != new.name] == ["step-0000030"]
    _save(root, 6, keep=1)
    assert [p.name for p in ckpt.list_checkpoints(root)] == ["step-0000006"]
    assert _temps(root) == []


def test_half_pruned_and_half_written_folders_are_skipped_by_readers(tmp_path):
    root = tmp_path / "checkpoints"
    for step in (1, 2, 3, 4):
        _save(root, step)
    (root / "step-0000001" / "G.safetensors").unlink()  # a delete cut short: state.json still there
    (root / "step-0000003" / "state.json").unlink()  # ... or state.json already gone
    (root / "step-0000004" / "state.json").write_text('{"format": "ganforge-checkpoint/1"}')
    (root / "latest").write_text("step-0000004\n")
    assert [p.name for p in ckpt.list_checkpoints(root)] == ["step-0000002"]
    assert ckpt.latest_checkpoint(root).name == "step-0000002"
    for step in range(8, 11):  # steps past 9999999 would sort wrongly by name; by number they do not
        _save(root, step * 1_000_000)
    assert [p.name for p in ckpt.list_checkpoints(root)][-2:] == ["step-9000000", "step-10000000"]


def test_pruning_moves_a_checkpoint_out_of_sight_before_deleting_it(tmp_path, monkeypatch):
    root = tmp_path / "checkpoints"
    _save(root, 1)
    seen = []

    def interrupted_rmtree(path, ignore_errors=False):  # a kill in the middle of the delete
        seen.append(Path(path).name)
        next(Path(path).iterdir()).unlink()

    monkeypatch.setattr(ckpt.shutil, "rmtree", interrupted_rmtree)
    _save(root, 2, keep=1)
    assert seen == [f".tmp-trash-step-0000001.{os.getpid()}"]
    assert [p.name for p in ckpt.list_checkpoints(root)] == ["step-0000002"]
    assert not (root / "step-0000001").exists()
    monkeypatch.undo()
    # the next start of another process sweeps the trash once its owner is gone
    trash = root / seen[0]
    trash.rename(root / f".tmp-trash-step-0000001.{_dead_pid()}")
    _save(root, 3, keep=1)
    assert _temps(root) == []


# ------------------------------------------------------------------------ hand-made checkpoints


def _meta(path: Path) -> dict:
    return json.loads((path / "state.json").read_text())


def _rewrite(path: Path, meta: dict) -> None:
    (path / "state.json").write_text(json.dumps(meta))


def _file_info(data: bytes) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


MALFORMED = {
    "missing step": (lambda m, p: m.pop("step"), "missing step"),
    "missing files": (lambda m, p: m.pop("files"), "missing files"),
    "negative step": (lambda m, p: m.update(step=-5), "step is -5, expected an integer >= 0"),
    "step as text": (lambda m, p: m.update(step="12"), "step is '12'"),
    "step as bool": (lambda m, p: m.update(step=True), "step is True"),
    "files a list": (lambda m, p: m.update(files=["G.safetensors"]), "files is not an object"),
    "entry not a dict": (lambda m, p: m["files"].update({"G.safetensors": "abc"}), "files['G.safetensors'] should be"),
    "entry without bytes": (lambda m, p: m["files"]["G.safetensors"].pop("bytes"), "should be"),
    "negative bytes": (lambda m, p: m["files"]["G.safetensors"].update(bytes=-1), "should be"),
    "sha256 not hex": (lambda m, p: m["files"]["G.safetensors"].update(sha256="zz" * 32), "should be"),
    "modules not a list": (lambda m, p: m.update(modules="G"), "modules is not a list"),
    "module without file": (lambda m, p: m.update(modules=["G", "D", "H"]), "module 'H' has no H.safetensors"),
    "state not a dict": (lambda m, p: m.update(state=[1]), "state is not an object"),
    "no state file": (lambda m, p: m["files"].pop("state.safetensors"), "files lacks state.safetensors"),
    "dangling tensor": (lambda m, p: m["state"].update(extra={"__tensor__": "state.nothing"}),
                        "refers to tensor 'state.nothing'"),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_each_malformed_state_json_is_one_line(tmp_path, kind):
    path = _save(tmp_path / "checkpoints", 7)
    change, message = MALFORMED[kind]
    meta = _meta(path)
    change(meta, path)
    _rewrite(path, meta)
    with pytest.raises(CheckpointError) as err:
        ckpt.read_checkpoint(path)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("name", ["../outside.safetensors", "/tmp/outside.safetensors", "..", "sub/G.safetensors",
                                  "..\\outside.safetensors", ".hidden.safetensors", "state.json"])
def test_state_json_may_name_only_files_in_its_own_folder(tmp_path, name):
    path = _save(tmp_path / "checkpoints", 7)
    outside = tmp_path / "checkpoints" / "outside.safetensors"
    outside.write_bytes((path / "G.safetensors").read_bytes())  # a valid file, and its true hash
    meta = _meta(path)
    meta["files"][name] = _file_info(outside.read_bytes())
    _rewrite(path, meta)
    with pytest.raises(CheckpointError, match="only plain .safetensors names inside the checkpoint's own folder"):
        ckpt.read_checkpoint(path)
    assert not ckpt.is_complete(path)


def _safetensors_bytes(header: dict, data: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


@pytest.mark.parametrize("blob, why", [
    (_safetensors_bytes({"weight": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}, b"\0" * 8),
     "Error while deserializing"),  # the header claims data the file does not have
    (_safetensors_bytes({"weight": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 8]}}, b"\0" * 8),
     "invalid shape"),  # offsets and shape disagree
    (struct.pack("<Q", 10 ** 12), "header too large"),
    (b"garbage", "header too small"),
])
def test_hand_made_safetensors_that_safetensors_refuses_is_one_line(tmp_path, blob, why):
    path = _save(tmp_path / "checkpoints", 7)
    (path / "G.safetensors").write_bytes(blob)
    meta = _meta(path)
    meta["files"]["G.safetensors"] = _file_info(blob)  # the hashes agree: only the parser can refuse it
    _rewrite(path, meta)
    with pytest.raises(CheckpointError, match=f"G.safetensors is not a valid safetensors file .*{why}") as err:
        ckpt.read_checkpoint(path)
    assert "\n" not in str(err.value)


def test_a_refused_checkpoint_through_the_cli_is_one_line(tmp_path, capsys):
    run = tmp_path / "ring"
    assert main(["train", "--out", str(run), *RING]) == 0
    latest = ckpt.latest_checkpoint(run / "checkpoints")
    blob = _safetensors_bytes({"weight": {"dtype": "F32", "shape": [9], "data_offsets": [0, 8]}}, b"\0" * 8)
    (latest / "D.safetensors").write_bytes(blob)
    meta = _meta(latest)
    meta["files"]["D.safetensors"] = _file_info(blob)
    _rewrite(latest, meta)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--steps", "9"]) == 1
    err = capsys.readouterr().err
    lines = _error_lines(err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"ganforge: error: checkpoint {latest}: D.safetensors is not a valid safetensors file (")
    assert "invalid shape, data type, or offset" in lines[0]


# -------------------------------------------------------------------------------------- run lock

_HOLDER = """
import sys, time
from ganforge.engine.rundir import RunLock
RunLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(120)
"""


def _hold(run: Path) -> subprocess.Popen:
    """A real second process that takes the lock of ``run`` and keeps it."""
    p = subprocess.Popen([sys.executable, "-c", _HOLDER, str(run)], env=_env(), stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_lock_refuses_a_second_live_process_and_takes_over_a_dead_ones(tmp_path):
    run = tmp_path / "run"
    holder = _hold(run)
    try:
        with pytest.raises(RunInUseError, match=f"run {run} is in use by process {holder.pid}"):
            RunLock(run).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)  # killed: the lock file stays, naming a dead process
        holder.wait()
    assert (run / LOCK_NAME).read_text().strip() == str(holder.pid)
    with RunLock(run) as lock:
        assert lock.held and (run / LOCK_NAME).read_text().strip() == str(os.getpid())
    assert not (run / LOCK_NAME).exists()


def test_without_flock_the_pid_in_the_lock_file_decides(tmp_path, monkeypatch, live_process):
    monkeypatch.setitem(sys.modules, "fcntl", None)  # as on a platform without flock
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_NAME).write_text(f"{live_process.pid}\n")
    with pytest.raises(RunInUseError, match=f"in use by process {live_process.pid}"):
        RunLock(run).acquire()
    (run / LOCK_NAME).write_text(f"{_dead_pid()}\n")  # stale: taken over
    lock = RunLock(run).acquire()
    assert (run / LOCK_NAME).read_text().strip() == str(os.getpid())
    lock.release()
    assert not (run / LOCK_NAME).exists()


def test_train_into_a_run_in_use_is_one_line_and_touches_nothing(tmp_path, capsys):
    run = tmp_path / "ring"
    assert main(["train", "--out", str(run), *RING]) == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    holder = _hold(run)
    try:
        capsys.readouterr()
        for args in (["--resume", str(run), "--steps", "9"], ["--out", str(run), "--overwrite", *RING]):
            assert main(["train", *args]) == 1
            err = capsys.readouterr().err
            assert _error_lines(err) == [
                f"ganforge: error: run {run} is in use by process {holder.pid}; wait for it to finish or stop it "
                f"(the lock is {run / LOCK_NAME}, released when that process exits)"], args
            after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file() and p.name != LOCK_NAME}
            assert after == before  # neither resumed into it nor overwrote it
    finally:
        holder.kill()
        holder.wait()


def test_eval_all_and_report_skip_a_half_pruned_checkpoint(tmp_path, capsys):
    run = tmp_path / "ring"
    assert main(["train", "--out", str(run), *RING]) == 0
    (run / "checkpoints" / "step-0000003" / "D.safetensors").unlink()  # a delete cut short
    assert main(["eval", str(run), "--checkpoint", "all", "--metrics", "modes", "-n", "200"]) == 0
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert {x["step"] for x in lines} == {6}
    assert main(["report", str(run)]) == 0
    assert (run / "report.html").is_file() and _temps(run) == []
