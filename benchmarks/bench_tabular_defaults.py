"""Choosing the tabular GAN's defaults: one candidate setting on UCI Adult, scored along its training.

Trains ganforge's tabular GAN on ``adult.data`` in this process (the transformer fitted as
``ganforge tabular fit`` fits it), and at each epoch milestone draws as many rows as the training
table from G and from its moving average G_ema and scores them with
:func:`ganforge.tabular.evaluate.evaluate` (the code `ganforge tabular evaluate` and
``bench_tabular.py`` use): quality, column shapes, column-pair trends, and at the last milestone
the F1 of ``>50K`` of classifiers trained on the synthetic rows and tested on ``adult.test``
(G_ema only: it is what ``tabular sample`` draws from). Training time is the process's CPU time
(``train_cpu_s``, transformer fit included) and the wall-clock time (``train_wall_s``); evaluation
time is not counted. ``--f1 all`` scores the F1 at every milestone. One JSON line per milestone and network goes to ``--results`` and stdout.

    OMP_NUM_THREADS=1 python benchmarks/bench_tabular_defaults.py NAME --seed 0 --epochs 10,25 \\
        [transformer setting=value ...] [section.key=value ...]

e.g. ``continuous=quantile``, ``train.precision=bf16``, ``model.reuse_fakes=true``, ``optim.ema=0``.
Every setting not given is ``ganforge tabular fit``'s default. The data come from
``$GANFORGE_DATA`` (or ``--data-dir``); ``ganforge data fetch adult`` downloads them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse_value(text: str):
    """A command-line value as bool, int, float or text."""
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def main() -> None:
    import torch

    from ganforge.engine.trainer import Trainer
    from ganforge.games.tabular import generate_rows
    from ganforge.tabular.adult import ADULT_TARGET, load_adult
    from ganforge.tabular.evaluate import evaluate
    from ganforge.tabular.fit import (
        resolve_metadata,
        split_settings,
        steps_for,
        tabular_config,
    )
    from ganforge.tabular.transform import (
        TableTransformer,
        TransformSettings,
        encode_table,
    )

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="the candidate's name in the results")
    p.add_argument("settings", nargs="*", help="setting=value: transformer settings or section.key overrides")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", default="10,25", help="comma-separated epoch milestones (default 10,25)")
    p.add_argument("--f1", choices=("last", "all"), default="last",
                   help="score G_ema's F1 at the last milestone only (default) or at every one")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--results", default=str(ROOT / "runs" / "bench_tabular_defaults" / "results.jsonl"))
    args = p.parse_intermixed_args()
    milestones = sorted({int(e) for e in args.epochs.split(",")})
    transform_settings, overrides = split_settings(
        {k: parse_value(v) for k, v in (s.split("=", 1) for s in args.settings)})

    train, test = load_adult("train", args.data_dir), load_adult("test", args.data_dir)
    meta = resolve_metadata(train, None, ADULT_TARGET)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    transformer = TableTransformer.fit(train, meta, TransformSettings(seed=args.seed, **transform_settings))
    table = encode_table(train[meta.names], transformer)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    cfg = tabular_config({"train.seed": args.seed, "train.progress": False, **overrides})
    cfg = cfg.with_overrides({"train.steps": steps_for(milestones[-1], len(table), cfg.train.batch_size)})
    tr = Trainer(cfg, dataset=table)
    results = Path(args.results)
    results.parent.mkdir(parents=True, exist_ok=True)
    for epochs in milestones:
        target = steps_for(epochs, len(table), cfg.train.batch_size)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        while tr.step_count < target:
            tr.step()
        cpu, wall = cpu + time.process_time() - cpu0, wall + time.perf_counter() - wall0
        tr.game._ready(tr)
        nets = [("G_ema", tr.G_ema)] if tr.G_ema is not None else []
        for which, G in nets + [("G", tr.G)]:
            rows = generate_rows(G, tr.game.layout, tr.game.cond, len(train), cfg.model.z_dim,
                                 torch.Generator().manual_seed(args.seed + 10))
            synth = transformer.inverse(rows)
            last = (epochs == milestones[-1] or args.f1 == "all") and which == (nets[0][0] if nets else "G")
            r = evaluate(train, synth, test=test if last else None, target=ADULT_TARGET if last else None,
                         privacy_rows=2000)
            q, e = r["quality"], r["efficacy"]
            line = {"name": args.name, "seed": args.seed, "epochs": epochs, "net": which, "settings": args.settings,
                    "quality": round(q["quality"], 4), "shapes": round(q["column_shapes"], 4),
                    "trends": round(q["column_pair_trends"], 4), "train_cpu_s": round(cpu, 1),
                    "train_wall_s": round(wall, 1)}
            if e is not None:
                line.update(f1=round(e["f1_synthetic"], 4), f1_real=round(e["f1_real"], 4))
            print(json.dumps(line), flush=True)
            with results.open("a") as f:
                f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
