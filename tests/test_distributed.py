"""Two processes with torchrun (gloo on CPU) train exactly like one process with the same global batch."""

import os
import subprocess
import sys
from pathlib import Path

import torch

from ganforge.engine.checkpoint import latest_checkpoint, read_checkpoint

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ["--set", "train.steps=8", "--set", "train.batch_size=32", "--set", "train.log_every=4",
            "--set", "train.checkpoint_every=4", "--set", "train.sample_every=0", "--set", "train.progress=false",
            "--set", "model.g_width=16", "--set", "model.d_width=16", "--set", "model.z_dim=4",
            "--set", "optim.ema=0.9", "--set", "train.device=cpu", "--set", "train.threads=1", "--no-report"]


def launch(nproc, *args, timeout=240):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    env.pop("WORLD_SIZE", None)
    if nproc == 1:
        cmd = [sys.executable, "-m", "ganforge", *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "ganforge", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-3000:]
    return p


def weights(run):
    _, blobs, state = read_checkpoint(latest_checkpoint(run / "checkpoints"))
    return blobs, state


def test_two_processes_match_one_process_and_resume(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    launch(1, "train", "--preset", "ring8", "--out", str(one), *SETTINGS)
    launch(2, "train", "--preset", "ring8", "--out", str(two), *SETTINGS)
    (w1, s1), (w2, s2) = weights(one), weights(two)
    assert s1["step"] == s2["step"] == 8
    for net in ("G", "D", "G_ema"):
        for k in w1[net]:
            assert torch.allclose(w1[net][k], w2[net][k], rtol=1e-4, atol=1e-5), f"{net}.{k}"
    # only rank 0 wrote: one stats line per logged step, not two
    assert [line.count('"step"') for line in (two / "stats.jsonl").read_text().splitlines()] == [1, 1]

    launch(2, "train", "--resume", str(two), "--steps", "12")  # with the end-of-run report this time
    _, s3 = weights(two)
    assert s3["step"] == 12
    assert (two / "report.html").is_file()


def test_ranks_hold_identical_weights(tmp_path):
    script = tmp_path / "ranks.py"
    script.write_text(f"""
import os, torch
from safetensors.torch import save_file
from ganforge.engine import Trainer
from ganforge.presets import load_preset
cfg = load_preset("grid25").with_overrides({{"train.batch_size": 16, "model.g_width": 8, "model.d_width": 8,
    "loss.name": "wgan-gp", "model.spectral_norm": True, "train.device": "cpu"}})
t = Trainer(cfg, distributed=True)
for _ in range(5):
    t.step()
save_file({{k: v.contiguous() for k, v in {{**t.G.state_dict(), **{{"D." + k: v for k, v in t.D.state_dict().items()}}}}.items()}},
          os.path.join({str(tmp_path)!r}, f"rank{{t.dist.rank}}.safetensors"))
""")
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script)],
                       capture_output=True, text=True, env=env, timeout=240)
    assert p.returncode == 0, p.stderr[-3000:]
    from safetensors.torch import load_file

    r0, r1 = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert r0.keys() == r1.keys()
    for k in r0:
        assert torch.equal(r0[k], r1[k]), k
