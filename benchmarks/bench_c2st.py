"""Benchmark the classifier two-sample test (C2ST): a fresh classifier's verdict on each preset at
the end of its run, over training beside FID or JS, and its cost in the lab.

    .venv/bin/python benchmarks/bench_c2st.py [--presets ring8,grid25,spiral,moons,digits]
        [--over-training ring8,digits] [--runs runs/c2st] [--lab]

For each preset it trains ``ganforge train --preset P --set train.threads=1`` into RUNS/P (or
reuses a finished run there), with a checkpoint every tenth of the run, all kept. Then it reads:

* the end of the run: ``ganforge eval --metrics c2st`` on the last checkpoint (2,500 generated
  points, or 10,000 images against the whole digits set; the C2ST uses at most 2,500 a side), and
  the game's D over the last tenth of the run (its equilibrium distance, as the report shows it);
* over training (``--over-training``): C2ST and JS (2D points) or FID on the MNIST classifier's
  features (digits) at every kept checkpoint;
* ``--lab``: the cost of the lab's three accuracies (D, D*, k-NN C2ST on 1,000 points a side) and
  of the slower numbers they are part of, in milliseconds, and, with Chromium, the lab's view
  updates per second while training (benchmarks/bench_lab.py's page measurement).

It prints markdown tables; the numbers in docs/benchmarks.md come from it.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from ganforge.commands.eval import evaluate_run
from ganforge.diagnostics.monitor import equilibrium_distance
from ganforge.engine.rundir import read_run_config
from ganforge.objectives import get_objective
from ganforge.viz import read_jsonl


def train(preset: str, out: Path) -> float:
    """Train ``preset`` into ``out`` on one thread unless a finished run is there; seconds taken.

    A run stopped part-way (checkpoints but no report) is resumed from its latest checkpoint, so
    a preset that needs hours of CPU can be trained over several sittings; the seconds returned
    are then those of this sitting only.
    """
    if (out / "report.html").is_file():
        return float("nan")
    if any((out / "checkpoints").glob("*")):
        cmd = [sys.executable, "-m", "ganforge", "train", "--resume", str(out)]
    else:
        steps = read_steps(preset)
        every = max(1, steps // 10)
        cmd = [sys.executable, "-m", "ganforge", "train", "--preset", preset, "--out", str(out), "--overwrite",
               "--set", "train.threads=1", "--set", f"train.checkpoint_every={every}",
               "--set", "train.keep_checkpoints=0", "--set", "train.progress=false"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    return time.perf_counter() - t0


def read_steps(preset: str) -> int:
    from ganforge.presets import load_preset

    return load_preset(preset).train.steps


def d_reading(run: Path) -> float:
    """The game's equilibrium distance over the last tenth of the run (what the report's summary says)."""
    cfg = read_run_config(run)
    rows = read_jsonl(run / "stats.jsonl")
    tail = rows[-max(1, len(rows) // 10):]
    return equilibrium_distance(tail, get_objective(cfg.loss.name).family)


def fmt_c2st(line: dict) -> str:
    v = line["values"]
    return f"{v['accuracy']:.1%} [{v['ci_low']:.1%}, {v['ci_high']:.1%}]"


def end_of_run(presets: list[str], runs: Path):
    """One table row per preset, yielded as soon as that preset is trained and judged."""
    for preset in presets:
        run = runs / preset
        secs = train(preset, run)
        (line,) = evaluate_run(run, ["c2st"], write=False)
        yield (preset, line["step"], fmt_c2st(line), f"{line['values']['p_value']:.2g}", line["values"]["n_test"],
               f"{d_reading(run):.3f}", f"{secs:.0f}" if math.isfinite(secs) else "reused")


def over_training(preset: str, runs: Path) -> list[tuple]:
    run = runs / preset
    train(preset, run)
    points = read_run_config(run).model.arch == "mlp"
    metrics = ["c2st", "js"] if points else ["c2st", "fid"]
    lines = evaluate_run(run, metrics, checkpoint="all", write=False,
                         **({} if points else {"features": ["mnist"]}))
    rows = []
    for step in sorted({x["step"] for x in lines}):
        at = {x["metric"]: x for x in lines if x["step"] == step}
        other = at.get("js") or at.get("fid_mnist")
        rows.append((preset, step, fmt_c2st(at["c2st"]), f"{other['metric']} {other['value']:.4g}"))
    return rows


def lab_cost(repeats: int = 20) -> dict:
    """Milliseconds of the lab's accuracies and of all its slower numbers, on the lab's defaults."""
    from ganforge.engine import Trainer
    from ganforge.lab.settings import LabSettings
    from ganforge.lab.snapshot import (
        Nets,
        accuracies,
        make_view,
        sample_metrics,
        take_snapshot,
    )

    s = LabSettings()
    trainer = Trainer(s.to_config(), dataset=s.distribution())
    for _ in range(200):
        trainer.step()
    view = make_view(trainer.data, s.z_dim, s.noise, trainer.sample_z, seed=0)
    nets = Nets(trainer.G, trainer.D, trainer.objective, s.pack)
    fake = nets.generate(view.z_metrics)

    def timed(fn):
        fn()
        out = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            out.append(1000 * (time.perf_counter() - t0))
        return statistics.median(out)

    return {"accuracies (D, D*, k-NN C2ST)": timed(lambda: accuracies(nets, view, fake)),
            "the other slower numbers (modes, HQ, JS), on frames of their own": timed(lambda: sample_metrics(nets, view)),
            "one snapshot (drawn every frame)": timed(lambda: take_snapshot(nets, view))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--presets", default="ring8,grid25,spiral,moons,digits")
    ap.add_argument("--over-training", default="ring8,digits")
    ap.add_argument("--runs", default="runs/c2st")
    ap.add_argument("--lab", action="store_true", help="also time the lab's accuracies and view rate")
    ap.add_argument("--lab-only", action="store_true", help="only the lab measurements")
    ap.add_argument("--chromium", default=os.environ.get("GANFORGE_CHROMIUM", "/usr/bin/chromium"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    runs = Path(args.runs)
    load = os.getloadavg()[0]
    print(f"\nganforge C2ST benchmark: {os.cpu_count()} CPU cores, 1 torch thread, torch {torch.__version__}, "
          f"{platform.python_implementation()} {platform.python_version()}, load average {load:.2f} at start\n")
    if args.lab_only:
        args.presets, args.over_training, args.lab = "", "", True
    presets = [p for p in args.presets.split(",") if p]
    if presets:
        print("| preset | round | C2ST accuracy [95% interval] | p-value | held-out | game's D: distance | train s |")
        print("|---|---|---|---|---|---|---|")
        for row in end_of_run(presets, runs):
            print("| " + " | ".join(str(c) for c in row) + " |", flush=True)
    for preset in [p for p in args.over_training.split(",") if p]:
        print(f"\n| preset | round | C2ST accuracy [95% interval] | {'JS (nats)' if preset != 'digits' else 'FID (MNIST features)'} |")
        print("|---|---|---|---|")
        for row in over_training(preset, runs):
            print("| " + " | ".join(str(c) for c in row) + " |")
    if args.lab:
        print("\n| lab, on the worker thread | median ms |\n|---|---|")
        for name, ms in lab_cost().items():
            print(f"| {name} | {ms:.1f} |")
        if Path(args.chromium).is_file():
            sys.path.insert(0, str(Path(__file__).parent))
            from bench_lab import page_run

            from ganforge.lab import worker

            pages = {}
            # side by side, without the accuracies first (computed once per run: the lab as it was),
            # then with them at their refresh rate
            every = worker.ACCURACY_EVERY_S
            for label, seconds in (("without the accuracies", float("inf")), ("with the accuracies", every)):
                worker.ACCURACY_EVERY_S = seconds
                try:
                    with tempfile.TemporaryDirectory() as ws:
                        pages[label] = page_run(10.0, 5, args.chromium, ws)
                finally:
                    worker.ACCURACY_EVERY_S = every
            for label, page in pages.items():
                print(f"| view updates/s drawn in the browser, {label} (target >= 20) | {page['views_per_s']:.1f} |")
                print(f"| lab rounds/s with the page attached, {label} | {page['rounds_per_s']:.0f} |")
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
