"""Training on little data: a preset on a fraction of its images, with and without augmentation.

Trains the same preset on the same seeded, class-stratified subset (``data.fraction``) for the
same number of rounds, once plainly, once with DiffAugment (``train.diffaugment``) and once with
ADA (``train.ada_target``), one after the other on ``--threads`` torch threads, then evaluates
each run's last checkpoint (G_ema) with FID against the test split. Prints one table.

    GANFORGE_DATA=../shared/data nice -n 10 .venv/bin/python benchmarks/bench_little_data.py \\
        --preset mnist-dcgan --fraction 0.01 --rounds 2000 --out runs/bench-little

``--variants`` picks which of plain, diffaugment, ada to run; ``--skip-train`` evaluates
existing runs again; ``--set`` adjusts all of them as in ``ganforge train``.
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

VARIANTS = {
    "plain": [],
    "diffaugment": ["train.diffaugment=color,translation,cutout"],
    "ada": ["train.ada_target=0.6"],  # the ops: all three (train.diffaugment empty); speed: --ada-kimg
}


def last_stats(run: Path) -> dict:
    lines = (run / "stats.jsonl").read_text().splitlines()
    return json.loads(lines[-1]) if lines else {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="mnist-dcgan")
    ap.add_argument("--fraction", type=float, default=0.01, help="data.fraction of the training images")
    ap.add_argument("--rounds", type=int, default=2000, help="train.steps of every run")
    ap.add_argument("--out", required=True, help="folder of the run directories (one per variant)")
    ap.add_argument("--variants", default="plain,diffaugment,ada", help=f"comma-separated: {', '.join(VARIANTS)}")
    ap.add_argument("--ada-kimg", type=int, default=100, help="train.ada_kimg of the ada run")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="section.key=value, every run")
    ap.add_argument("--features", default="mnist", help="FID feature extractor")
    ap.add_argument("-n", type=int, default=5000, help="generated and test images for FID")
    ap.add_argument("--seed", type=int, default=0, help="train.seed")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-train", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    names = [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; valid: {', '.join(VARIANTS)}")
    rows = []
    for name in names:
        run = Path(args.out) / name
        extra = VARIANTS[name] + ([f"train.ada_kimg={args.ada_kimg}"] if name == "ada" else [])
        train_s = None
        if not args.skip_train:
            sets = [f"train.threads={args.threads}", f"train.steps={args.rounds}", f"train.seed={args.seed}",
                    f"data.fraction={args.fraction}", "train.progress=false", *extra, *args.overrides]
            t0 = time.perf_counter()
            code = ganforge(["train", "--preset", args.preset, "--out", str(run),
                             *[x for s in sets for x in ("--set", s)]])
            train_s = time.perf_counter() - t0
            if code:
                raise SystemExit(code)
        t0 = time.perf_counter()
        lines = evaluate_run(run, ["fid"], n=args.n, features=[args.features], reference_split="test")
        eval_s = time.perf_counter() - t0
        stats = last_stats(run)
        rows.append((name, train_s, eval_s, lines[0], stats))
        print(f"{name}: FID {lines[0]['value']:.2f} (train {train_s or 0:.0f} s, eval {eval_s:.0f} s)", flush=True)

    config = json.loads((Path(args.out) / names[0] / "config.json").read_text())
    n_images = round(args.fraction * 60000) if config["data"]["name"] in ("mnist", "fashion-mnist") else "?"
    print(f"\npreset {args.preset}, data.fraction {args.fraction} ({n_images} training images), "
          f"{config['train']['steps']} rounds of batch {config['train']['batch_size']}, seed {args.seed}; "
          f"{platform.processor() or platform.machine()}, {args.threads} torch thread(s), torch {torch.__version__}")
    print(f"| run | FID ({args.features} features, {args.n} vs test) | training | D(x) / D(G(z)) at the end | ada_p |")
    print("|---|---|---|---|---|")
    for name, train_s, _, line, stats in rows:
        ada = f"{stats['ada_p']:.3f}" if "ada_p" in stats else "-"
        took = f"{train_s / 60:.1f} min" if train_s is not None else "-"
        print(f"| {name} | {line['value']:.2f} | {took} | {stats.get('d_real', float('nan')):.2f} / "
              f"{stats.get('d_fake', float('nan')):.2f} | {ada} |")


if __name__ == "__main__":
    main()
