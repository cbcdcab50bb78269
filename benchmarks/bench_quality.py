"""Train an image preset end to end, then evaluate it as the quality targets ask.

Training goes through ``ganforge train`` (run directory, checkpoints, alerts) and is timed by wall
clock; evaluation goes through ``ganforge.commands.eval.evaluate_run`` (lines appended to the run's
metrics.jsonl with provenance). Prints one table with the training time, rounds and every metric.

    python benchmarks/bench_quality.py --preset stacked-mnist --out runs/bench-stacked \\
        --metrics stacked -n 26000
    python benchmarks/bench_quality.py --preset mnist-dcgan --out runs/bench-mnist \\
        --metrics fid,prdc --features mnist,inception -n 10000 --reference-split test

``--skip-train`` evaluates an existing run again; ``--set`` adjusts the preset as in ``ganforge train``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from ganforge.cli import main as ganforge
from ganforge.commands.eval import evaluate_run


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", required=True)
    ap.add_argument("--out", required=True, help="run directory")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="section.key=value")
    ap.add_argument("--skip-train", action="store_true", help="evaluate the existing run only")
    ap.add_argument("--metrics", default="", help="comma-separated metric names (default: all that apply)")
    ap.add_argument("--features", default="", help="comma-separated feature extractors: mnist, inception")
    ap.add_argument("-n", type=int, default=10000, help="generated samples")
    ap.add_argument("--n-real", type=int, default=None, help="real samples (default: as -n)")
    ap.add_argument("--reference-split", choices=("train", "test"), default=None)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for training and evaluation")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    train_s = None
    if not args.skip_train:
        sets = [x for o in [f"train.threads={args.threads}", *args.overrides] for x in ("--set", o)]
        t0 = time.perf_counter()
        code = ganforge(["train", "--preset", args.preset, "--out", str(out), *sets])
        train_s = time.perf_counter() - t0
        if code:
            raise SystemExit(code)
    config = json.loads((out / "config.json").read_text())
    t0 = time.perf_counter()
    lines = evaluate_run(
        out, [m for m in args.metrics.split(",") if m] or None, n=args.n, n_real=args.n_real,
        features=[f for f in args.features.split(",") if f] or None, reference_split=args.reference_split,
    )
    eval_s = time.perf_counter() - t0
    print(f"\npreset {args.preset}, {config['train']['steps']} rounds, machine: {machine()}")
    if train_s is not None:
        print(f"training wall time: {train_s:.0f} s ({train_s / 60:.1f} min); evaluation: {eval_s:.0f} s")
    print("| metric | value | features | fake / real | reference |")
    print("|---|---|---|---|---|")
    for line in lines:
        p = line["provenance"]
        print(f"| {line['metric']} | {line['value']:.4g} | {str(p.get('features')).split(' ')[0]} | "
              f"{p.get('n_fake')} / {p.get('n_real')} | {p.get('reference')} |")


if __name__ == "__main__":
    main()
