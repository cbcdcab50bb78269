"""Benchmark: StyleGAN-lite against DCGAN on MNIST at an equal time budget, and a truncation curve.

Usage:
    GANFORGE_DATA=/path/to/data nice -n 10 python benchmarks/bench_stylegan.py [--seconds 480]
        [--clock cpu|wall] [--n 10000] [--out /tmp/bench_stylegan] [--presets mnist-dcgan,mnist-stylegan]
        [--set section.key=value ...]

Each preset trains on one thread (``train.threads=1``), one after the other, until the budget is
spent: ``--clock cpu`` (default) counts this process's CPU seconds, which stays fair when other jobs
share the machine; ``--clock wall`` counts wall seconds. The wall time is printed either way. The
trained G_ema is written as a checkpoint, then scored by FID on the MNIST classifier's features
(what ``ganforge eval RUN --metrics fid --features mnist`` computes) with ``--n`` generated images
against as many training images (seed 0), with precision and recall (k = 5) on the same features.
For StyleGAN generators they are also computed with the truncation trick at psi 0.7 and 0.5.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ganforge.data import load_dataset  # noqa: E402
from ganforge.engine import Trainer  # noqa: E402
from ganforge.engine.generator import load_generator  # noqa: E402
from ganforge.engine.rundir import create_run_dir  # noqa: E402
from ganforge.metrics.evaluate import evaluate_samples  # noqa: E402
from ganforge.presets import load_preset  # noqa: E402

PSIS = (1.0, 0.7, 0.5)


def train_for(preset: str, seconds: float, clock: str, out: Path, overrides: list[str]) -> dict:
    """Train ``preset`` (with ``--set`` overrides) on one thread until ``seconds`` of the clock pass;
    checkpoint; return timings."""
    cfg = load_preset(preset).with_overrides(overrides).with_overrides({
        "train.threads": 1, "train.progress": False, "train.device": "cpu", "train.steps": 10**7,
        "train.checkpoint_every": 0, "train.sample_every": 0, "train.seed": 0,
    })
    run = out / preset
    trainer = Trainer(cfg, run_dir=create_run_dir(run, cfg, overwrite=True))
    now = time.process_time if clock == "cpu" else time.perf_counter
    start, wall0, cpu0 = now(), time.perf_counter(), time.process_time()
    while now() - start < seconds:
        trainer.step()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    trainer.save_checkpoint()
    return {"rounds": trainer.step_count, "wall_s": wall, "cpu_s": cpu, "run": run, "data": cfg.data}


def scores(run: Path, data, n: int, psi: float) -> dict:
    """FID, precision and recall on MNIST classifier features of ``n`` G_ema samples (seed 0) against
    ``n`` training images (Kynkaanniemi et al. 2019 precision/recall, k = 5)."""
    G = load_generator(run)
    fake = G.generate(n, generator=torch.Generator().manual_seed(0), truncation=psi)
    lines = evaluate_samples(fake, data, ["fid", "prdc"], n_real=n, features=["mnist"], seed=0, ema=True)
    by_name = {line["metric"]: line["value"] for line in lines}
    return {k: float(by_name[f"{k}_mnist"]) for k in ("fid", "precision", "recall")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=480.0, help="training budget per preset (default 480)")
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu", help="what the budget counts (default cpu)")
    p.add_argument("--n", type=int, default=10000, help="generated and real images for FID (default 10000)")
    p.add_argument("--presets", default="mnist-dcgan,mnist-stylegan")
    p.add_argument("--out", default="/tmp/bench_stylegan", help="where the runs are written")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="a setting changed in every preset, e.g. model.pack=1")
    args = p.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; budget {args.seconds:g} s "
          f"of {args.clock} time per preset, one thread, one after the other")
    rows = []
    for preset in [s.strip() for s in args.presets.split(",") if s.strip()]:
        t = train_for(preset, args.seconds, args.clock, out, args.overrides)
        data = load_dataset(t["data"])
        styled = getattr(load_generator(t["run"]).net, "supports_truncation", False)
        for psi in PSIS if styled else (1.0,):
            rows.append((preset, t, psi, scores(t["run"], data, args.n, psi)))
            print(f"{preset} psi {psi}: {rows[-1][3]}", flush=True)
        print(f"{preset}: {t['rounds']} rounds, {t['cpu_s']:.0f} CPU s, {t['wall_s']:.0f} wall s "
              f"(load average now {os.getloadavg()[0]:.2f})", flush=True)
    print()
    print("| preset | rounds | CPU s | wall s | CPU ms / round | psi | FID (MNIST features) | precision | recall |")
    print("|---|---|---|---|---|---|---|---|---|")
    for preset, t, psi, s in rows:
        print(f"| {preset} | {t['rounds']} | {t['cpu_s']:.0f} | {t['wall_s']:.0f} | "
              f"{1000 * t['cpu_s'] / max(1, t['rounds']):.0f} | {psi:g} | {s['fid']:.2f} | {s['precision']:.3f} | "
              f"{s['recall']:.3f} |")


if __name__ == "__main__":
    main()
