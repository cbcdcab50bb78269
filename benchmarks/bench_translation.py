"""Image-to-image translation on facades: pix2pix against the same U-Net trained on L1 alone.

Trains the presets side by side (one process and one torch thread each, so neither slows the other
more than the machine does), then scores every run's latest checkpoint on the 106 test pairs
through ``ganforge eval``'s code (L1, PSNR, SSIM per pair on [0, 1]; FID and KID of Inception
features against the test photos), and prints one table with the training time beside a trivial
answer: the mean of the training targets given for every test input (high PSNR, no realism).

    python benchmarks/bench_translation.py --train facades-pix2pix facades-l1
    python benchmarks/bench_translation.py runs/bench-facades-pix2pix runs/bench-facades-l1   # score only
    python benchmarks/bench_translation.py --train facades-cyclegan

Needs the facades data (``GANFORGE_DATA``) and the Inception weights for FID/KID.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from ganforge.engine.rundir import read_run_config, run_checkpoint
from ganforge.metrics.features import get_extractor
from ganforge.metrics.translation import evaluate_translator_checkpoints, load_test_sets, score_test_set


def train_side_by_side(presets: list[str], out_root: Path, overrides: list[str]) -> dict[str, float]:
    """Train each preset in its own process with one thread; return wall seconds per run directory."""
    procs, started = {}, {}
    for preset in presets:
        run = out_root / f"bench-{preset}"
        cmd = [sys.executable, "-m", "ganforge", "train", "--preset", preset, "--out", str(run), "--overwrite",
               "--set", "train.threads=1", "--set", "train.progress=false", *sum((["--set", o] for o in overrides), [])]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        procs[run] = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=open(f"{run}.log", "w"))
        started[run] = time.perf_counter()
    seconds = {}
    for run, proc in procs.items():
        if proc.wait() != 0:
            sys.exit(f"training {run} failed; see {run}.log")
        seconds[str(run)] = time.perf_counter() - started[run]
    return seconds


def training_seconds(run: Path) -> float | None:
    """The run's own training time: the ``time`` of its last stats line (resumes not counted)."""
    lines = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines() if x.strip()]
    return lines[-1].get("time") if lines else None


def mean_target_baseline(run: Path) -> dict[str, float]:
    """The mean training target as the answer for every test input, scored like a model."""
    from ganforge.data import load_dataset

    cfg = read_run_config(run)
    train = load_dataset(cfg.data)
    scores = {}
    for test in load_test_sets(cfg):
        targets = train.targets if hasattr(train, "targets") else (train.b if test.direction == "AtoB" else train.a)
        mean = targets.float().mean(0, keepdim=True).div(127.5).sub(1)  # (1, C, H, W) in [-1, 1]
        outputs = mean.expand(len(test.inputs), -1, -1, -1).contiguous()
        ext = get_extractor("inception", channels=outputs.shape[1])
        for line in score_test_set(outputs, test, ("l1", "psnr", "ssim", "fid", "kid"), extractors=[ext]):
            scores[line["metric"].rsplit("_", 1)[0]] = line["value"]
        break
    return scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="*", help="run directories to score (after --train: the trained ones too)")
    ap.add_argument("--train", nargs="+", metavar="PRESET", default=[], help="presets to train side by side first")
    ap.add_argument("--out-root", default="runs", help="where --train puts bench-PRESET run directories")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="section.key=value for every run")
    args = ap.parse_args()
    torch.set_num_threads(1)
    runs = [Path(r) for r in args.runs]
    wall = {}
    if args.train:
        wall = train_side_by_side(args.train, Path(args.out_root), args.overrides)
        runs += [Path(r) for r in wall]
    rows = []
    for run in runs:
        cfg = read_run_config(run)
        lines = evaluate_translator_checkpoints(run, cfg, [run_checkpoint(run)], write=True)
        for direction in sorted({line["provenance"]["direction"] for line in lines}):
            got = {line["metric"].rsplit("_", 1)[0]: line["value"] for line in lines
                   if line["provenance"]["direction"] == direction}
            rows.append((f"{run.name} ({direction})", cfg.train.steps, training_seconds(run), got))
    if runs:
        rows.append(("mean training target", 0, None, mean_target_baseline(runs[0])))
    print("| run | rounds | train min | L1 | PSNR dB | SSIM | FID | KID |")
    print("|---|---|---|---|---|---|---|---|")
    for name, steps, secs, m in rows:
        minutes = f"{secs / 60:.1f}" if secs else "-"
        print(f"| {name} | {steps} | {minutes} | {m['l1']:.4f} | {m['psnr']:.2f} | {m['ssim']:.3f} | "
              f"{m['fid']:.1f} | {m['kid']:.4f} |")


if __name__ == "__main__":
    main()
