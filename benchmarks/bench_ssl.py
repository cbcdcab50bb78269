"""Semi-supervised GAN on few labels: test error against rounds and CPU time, over seeds.

    GANFORGE_DATA=../shared/data OMP_NUM_THREADS=1 python benchmarks/bench_ssl.py \
        --preset mnist-ssl-100 --steps 600 --seeds 0 --every 200

For each seed it trains ``ganforge train --preset P --steps N --seed S`` (1 thread, a checkpoint
every ``--every`` rounds, all kept), then scores every checkpoint's D on the whole test split
(``ganforge eval RUN --metrics accuracy --checkpoint all``), and prints the test error at each
checkpoint with the training process's CPU time, then the mean ± std over seeds at the last one.
``--supervised`` also trains the same small classifier on the labelled images alone (the baseline
the issue asks for), over the same seeds. ``--set`` passes settings to training, e.g. the paper's
MLP networks: ``--set model.arch=mlp --set model.noise=uniform --set optim.schedule=linear``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path


def cpu_seconds_of(cmd: list[str]) -> float:
    """Run ``cmd``; return the CPU seconds (user + system) it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def train_and_score(preset: str, steps: int, seed: int, every: int, root: Path, extra: list[str]) -> dict:
    run = root / f"{preset}-seed{seed}"
    ganforge = [sys.executable, "-m", "ganforge"]
    cpu = cpu_seconds_of(ganforge + [
        "train", "--preset", preset, "--out", str(run), "--overwrite", "--steps", str(steps), "--seed", str(seed),
        "--no-report", "--set", "train.threads=1", "--set", "train.progress=false",
        "--set", f"train.checkpoint_every={every}", "--set", "train.keep_checkpoints=0", *extra])
    subprocess.run(ganforge + ["eval", str(run), "--metrics", "accuracy", "--checkpoint", "all"], check=True,
                   stdout=subprocess.DEVNULL)
    lines = [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]
    errors = {line["step"]: 1 - line["value"] for line in lines if line["metric"] == "accuracy"}
    return {"seed": seed, "cpu_s": cpu, "errors": dict(sorted(errors.items()))}


def supervised_baseline(preset: str, seed: int, steps: int) -> float:
    """Test error of the small CNN trained on the preset's labelled images alone."""
    import dataclasses

    import torch

    from ganforge.data import load_dataset
    from ganforge.data.labelled import labelled_subset
    from ganforge.metrics.accuracy import classifier_accuracy, train_classifier
    from ganforge.metrics.evaluate import reference_dataset
    from ganforge.presets import load_preset

    cfg = load_preset(preset)
    train = load_dataset(dataclasses.replace(cfg.data, split="train"))
    test = reference_dataset(cfg.data, "test")
    lab = labelled_subset(train, cfg.data.labels_per_class, cfg.data.label_seed)
    net = train_classifier(*lab.batch(torch.arange(len(lab))), train.n_classes, seed, steps)
    return 1 - classifier_accuracy(net, *test.batch(torch.arange(len(test))))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="mnist-ssl-100")
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated seeds")
    p.add_argument("--every", type=int, default=1000, help="checkpoint (and score) every this many rounds")
    p.add_argument("--root", default="runs/bench-ssl")
    p.add_argument("--supervised", type=int, default=0, metavar="STEPS",
                   help="also the supervised baseline: the small CNN, this many updates, labelled images only")
    p.add_argument("--set", dest="extra", action="append", default=[], help="extra --set for training")
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    extra = [x for s in args.extra for x in ("--set", s)]
    load_before = os.getloadavg()[0]
    results = [train_and_score(args.preset, args.steps, s, args.every, Path(args.root), extra) for s in seeds]
    print(f"machine load average (1 min): {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
          f"1 torch thread; extra settings: {' '.join(args.extra) or 'none'}")
    print(f"| {args.preset} seed | CPU s | " + " | ".join(f"error @ {k}" for k in results[0]["errors"]) + " |")
    print("|---|---|" + "---|" * len(results[0]["errors"]))
    for r in results:
        print(f"| {r['seed']} | {r['cpu_s']:.0f} | " + " | ".join(f"{100 * e:.2f}%" for e in r["errors"].values()) + " |")
    last = [list(r["errors"].values())[-1] for r in results]
    spread = f" ± {100 * statistics.stdev(last):.2f}" if len(last) > 1 else " (one seed: no spread)"
    print(f"test error at round {args.steps}: {100 * statistics.fmean(last):.2f}%{spread} over {len(last)} seed(s)")
    if args.supervised:
        sup = [supervised_baseline(args.preset, s, args.supervised) for s in seeds]
        spread = f" ± {100 * statistics.stdev(sup):.2f}" if len(sup) > 1 else ""
        print(f"supervised baseline (labelled images only, {args.supervised} updates): "
              f"{100 * statistics.fmean(sup):.2f}%{spread}")


if __name__ == "__main__":
    main()
