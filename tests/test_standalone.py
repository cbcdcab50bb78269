"""A trained model stands on its own: sampling, export, evaluation and the report need only the
run directory; exported TorchScript loads without ganforge; identical runs give identical files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.config import Config
from ganforge.engine import Trainer
from ganforge.engine.generator import load_discriminator, load_generator
from ganforge.engine.rundir import create_run_dir
from ganforge.engine.trainer import thread_count
from ganforge.errors import ConfigError
from ganforge.presets import load_preset


def cli(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "ganforge", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})}, cwd=cwd)


def folder_of_images(root: Path, n: int = 24) -> Path:
    """A user's folder of 8x8 grayscale PNGs in two class sub-folders."""
    g = np.random.default_rng(0)
    for i in range(n):
        d = root / ("a" if i % 3 else "b")
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(g.integers(0, 256, (8, 8), dtype=np.uint8)).save(d / f"{i}.png")
    return root


def tiny_image_config(folder: Path, conditional: bool) -> Config:
    return load_preset("digits").with_overrides({
        "data.name": "folder", "data.path": str(folder), "data.channels": 1, "model.conditional": conditional,
        "model.z_dim": 4, "model.g_channels": 4, "model.d_channels": 4, "train.batch_size": 8, "train.steps": 3,
        "train.sample_every": 0, "train.progress": False, "optim.ema": 0.9, "train.device": "cpu",
    })


@pytest.fixture
def moved_run(tmp_path):
    """A conditional run trained on a user's folder; then the folder is deleted and the run moved."""
    data = folder_of_images(tmp_path / "photos")
    cfg = tiny_image_config(data, conditional=True)
    run = create_run_dir(tmp_path / "run", cfg)
    Trainer(cfg, run_dir=run).run()
    shutil.rmtree(data)  # the training data is gone
    moved = tmp_path / "elsewhere" / "run"
    moved.parent.mkdir()
    shutil.move(run, moved)
    return moved


def test_load_generator_needs_no_training_data(moved_run):
    G = load_generator(moved_run)
    assert isinstance(G, torch.nn.Module) and G.conditional and G.n_classes == 2
    x = G.generate(6, generator=torch.Generator().manual_seed(0))
    assert x.shape == (6, 1, 8, 8) and x.abs().max() <= 1
    # classes are drawn with the data's frequencies (16 of 24 images in "a", 8 in "b")
    assert G.spec.class_prior == [16.0, 8.0]
    assert torch.equal(G.generate(3, labels=1, z=torch.zeros(3, 4)), G(torch.zeros(3, 4), torch.ones(3, dtype=torch.long)))
    with pytest.raises(ConfigError, match="class 5 is out of range"):
        G.generate(2, labels=5)
    D = load_discriminator(moved_run)
    assert D(x, torch.zeros(6, dtype=torch.long)).shape == (6,)


def test_sample_export_and_report_from_a_moved_run_with_the_data_gone(moved_run, tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    env = {"GANFORGE_DATA": str(empty), "GANFORGE_CACHE": str(empty)}
    p = cli("sample", str(moved_run), "-n", "4", "--sheet", "--out", str(tmp_path / "s.png"), env=env)
    assert p.returncode == 0, p.stderr
    assert Image.open(tmp_path / "s.png").size[0] > 8
    p = cli("sample", str(moved_run), "-n", "5", "--class", "1", "--seed", "3", "--out", str(tmp_path / "s.npy"), env=env)
    assert p.returncode == 0, p.stderr
    assert np.load(tmp_path / "s.npy").shape == (5, 1, 8, 8)
    p = cli("export", str(moved_run), "--out", str(tmp_path / "g.pt"), env=env)
    assert p.returncode == 0, p.stderr
    p = cli("report", str(moved_run), env=env)
    assert p.returncode == 0, p.stderr
    assert (moved_run / "report.html").stat().st_size > 1000


def test_sample_of_points_without_the_dataset(tmp_path):
    cfg = load_preset("ring8").with_overrides({"train.steps": 3, "train.progress": False, "train.sample_every": 0})
    Trainer(cfg, run_dir=create_run_dir(tmp_path / "r", cfg)).run()
    p = cli("sample", str(tmp_path / "r"), "-n", "300", "--out", str(tmp_path / "pts.png"))
    assert p.returncode == 0, p.stderr
    assert Image.open(tmp_path / "pts.png").size == (500, 500)


def test_sample_rejects_absurd_counts(moved_run, tmp_path):
    p = cli("sample", str(moved_run), "-n", "1000000000", "--out", str(tmp_path / "x.npy"))
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "-n must be between 1 and" in p.stderr and len(p.stderr.strip().splitlines()) == 1


FRESH_PROCESS = r"""
import json, sys, torch
G = torch.jit.load(sys.argv[1])
meta = json.load(open(sys.argv[1] + ".json"))
z = torch.load(sys.argv[2], weights_only=True)
args = (z, torch.arange(z.shape[0]) % meta["classes"]) if meta["classes"] else (z,)
with torch.no_grad():
    torch.save(G(*args), sys.argv[3])
print("ganforge" in sys.modules)
"""


@pytest.mark.parametrize("conditional", [False, True])
def test_torchscript_export_matches_in_a_fresh_process(tmp_path, conditional):
    data = folder_of_images(tmp_path / "photos")
    cfg = tiny_image_config(data, conditional)
    run = create_run_dir(tmp_path / "run", cfg)
    Trainer(cfg, run_dir=run).run()
    p = cli("export", str(run), "--out", str(tmp_path / "g.pt"))
    assert p.returncode == 0, p.stderr
    meta = json.loads((tmp_path / "g.pt.json").read_text())
    assert meta["z_dim"] == 4 and meta["output_shape"] == [1, 8, 8] and meta["output_range"] == [-1.0, 1.0]
    assert meta["classes"] == (2 if conditional else 0)
    z = torch.randn(7, 4, generator=torch.Generator().manual_seed(5))  # another batch size than the trace
    torch.save(z, tmp_path / "z.pt")
    script = tmp_path / "use.py"
    script.write_text(FRESH_PROCESS)
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "g.pt"), str(tmp_path / "z.pt"),
                          str(tmp_path / "x.pt")], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", "the exported model must load without importing ganforge"
    G = load_generator(run)
    labels = torch.arange(7) % 2 if conditional else None
    expected = G.generate(7, labels=labels, z=z)
    assert torch.allclose(torch.load(tmp_path / "x.pt", weights_only=True), expected, atol=1e-6)
    p = cli("export", str(run), "--out", str(tmp_path / "g.pt"))
    assert p.returncode != 0 and "already exists" in p.stderr  # nothing overwritten by accident


def test_onnx_export_or_a_clear_message(tmp_path, monkeypatch):
    import importlib.util

    from ganforge.engine.export import export_generator

    cfg = load_preset("ring8").with_overrides({"train.steps": 2, "train.progress": False})
    trainer = Trainer(cfg)
    trainer.step()
    G = trainer.generator()
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real_find_spec(name, *a))
    with pytest.raises(ConfigError, match="ONNX export needs the onnx package"):
        export_generator(G, tmp_path / "g.onnx")
    assert not (tmp_path / "g.onnx").exists()
    monkeypatch.undo()
    onnx = pytest.importorskip("onnx")
    export_generator(G, tmp_path / "g.onnx")
    onnx.checker.check_model(onnx.load(str(tmp_path / "g.onnx")))
    ort = pytest.importorskip("onnxruntime")
    z = torch.randn(5, cfg.model.z_dim)
    session = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"z": z.numpy()})
    assert np.allclose(out, G.generate(5, z=z).numpy(), atol=1e-5)


def checkpoint_files(run: Path) -> dict[str, bytes]:
    return {f.relative_to(run).as_posix(): f.read_bytes() for f in sorted((run / "checkpoints").rglob("*")) if f.is_file()}


def test_two_identical_runs_save_identical_checkpoints(tmp_path):
    cfg = load_preset("ring8").with_overrides({"train.steps": 6, "train.progress": False, "train.sample_every": 0,
                                               "train.checkpoint_every": 3, "train.seed": 11})
    torch.manual_seed(1)
    Trainer(cfg, run_dir=tmp_path / "a").run()
    torch.manual_seed(2)  # whatever the process did before, the seed decides
    Trainer(cfg, run_dir=tmp_path / "b").run()
    a, b = checkpoint_files(tmp_path / "a"), checkpoint_files(tmp_path / "b")
    assert a.keys() == b.keys() and "checkpoints/step-0000006/state.safetensors" in a
    assert all(a[k] == b[k] for k in a), [k for k in a if a[k] != b[k]]


def test_seed_flag_on_train_and_sample(tmp_path):
    p = cli("train", "--preset", "ring8", "--seed", "7", "--dry-run")
    assert p.returncode == 0 and json.loads(p.stdout)["train"]["seed"] == 7


def test_checkpoint_without_a_network_description_loads_through_its_data(tmp_path):
    cfg = load_preset("ring8").with_overrides({"train.steps": 2, "train.progress": False, "train.sample_every": 0})
    trainer = Trainer(cfg, run_dir=tmp_path / "r")
    trainer.run()
    state = trainer.last_checkpoint / "state.json"
    meta = json.loads(state.read_text())
    del meta["state"]["networks"]  # as written before the description was saved
    state.write_text(json.dumps(meta))
    G = load_generator(tmp_path / "r")
    assert G.spec.data_shape == (2,)
    z = torch.randn(4, cfg.model.z_dim)
    assert torch.equal(G.generate(4, z=z), trainer.generate(4, z=z))


def test_small_networks_train_on_one_thread_unless_told():
    cfg = load_preset("ring8")
    assert thread_count(cfg, torch.device("cpu")) == 1
    assert thread_count(cfg.with_overrides({"train.threads": 2}), torch.device("cpu")) == 2
    images = load_preset("digits")
    assert thread_count(images, torch.device("cpu")) == torch.get_num_threads()


def test_progress_line_says_how_many_threads_train(tmp_path):
    p = cli("train", "--preset", "ring8", "--steps", "3", "--out", str(tmp_path / "r"), "--no-report",
            env={"COLUMNS": "200"})
    assert p.returncode == 0, p.stderr
    assert "on cpu (1 thread)" in p.stderr
