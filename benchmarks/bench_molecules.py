"""The molecule GAN on QM9: validity, uniqueness, novelty, diversity and property distances over training.

Trains the ``qm9-molgan`` preset (plus any ``section.key=value`` overrides) in this process and at
each milestone (``--steps``, rounds) draws ``--n`` graphs from G (and from G_ema when the run keeps
one) exactly as ``ganforge sample`` does, and scores them with
:func:`ganforge.molecules.metrics.molecule_metrics`: validity, uniqueness among valid, novelty
against the whole training set, internal diversity, the Wasserstein distances of QED, logP and SA
against 10,000 training molecules, FCD when ``fcd_torch`` is installed; and validity, uniqueness
and novelty of the same graphs after MoFlow's valency correction (``corrected_*``, as
``ganforge sample --correct`` writes them). At each milestone the
training callback's mode-collapse check runs too (``collapse_alert``: whether it fired). Training
time is the process's CPU time (``train_cpu_s``, the data reading excluded) and the wall-clock
time; scoring is not counted. One JSON line per milestone goes to ``--results`` and stdout, and a
table at the end.

    OMP_NUM_THREADS=1 python benchmarks/bench_molecules.py --seed 0 --steps 2000,4000 [section.key=value ...]

The data come from ``$GANFORGE_DATA`` (``qm9/qm9_smiles.csv.gz``) or the canonical archive.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("overrides", nargs="*", help="section.key=value settings on top of qm9-molgan")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", default="2000", help="comma-separated milestones, in rounds")
    p.add_argument("--n", type=int, default=10000, help="graphs drawn at each milestone (default 10,000)")
    p.add_argument("--results", default="", help="append the JSON lines to this file")
    p.add_argument("--save", default="", help="write G (and G_ema) at each milestone to DIR/STEP-NET.safetensors")
    args = p.parse_args()

    import torch

    from ganforge.diagnostics.monitor import Monitor
    from ganforge.engine import Trainer
    from ganforge.games.molgan import draw_graphs, graphs_to_smiles
    from ganforge.molecules.correct import correct_graphs
    from ganforge.molecules.metrics import molecule_metrics, novelty, uniqueness, validity
    from ganforge.presets import load_preset

    settings = {"train.seed": args.seed, "train.threads": 1, "train.progress": False}
    cfg = load_preset("qm9-molgan").with_overrides(settings).with_overrides(list(args.overrides))
    milestones = sorted(int(s) for s in args.steps.split(","))
    tr = Trainer(cfg.with_overrides({"train.steps": milestones[-1]}))
    training = set(tr.data.smiles)
    reference = random.Random(0).sample(tr.data.smiles, min(10000, len(tr.data.smiles)))
    monitor = Monitor(tr.objective.family, console=False)
    check = monitor.callback(n_images=500)
    rows, cpu, wall = [], 0.0, 0.0
    for target in milestones:
        c0, w0 = time.process_time(), time.perf_counter()
        while tr.step_count < target:
            check.on_round(tr, tr.step())
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
        before = len(monitor.alerts)
        check.check(tr, tr.step_count)
        collapse = any(a.name == "mode-collapse" for a in monitor.alerts[before:])
        for net_name, net in (("G", tr.G), ("G_ema", tr.G_ema)):
            if net is None:
                continue
            if args.save:
                from safetensors.torch import save_file

                Path(args.save).mkdir(parents=True, exist_ok=True)
                save_file({k: v.contiguous() for k, v in net.state_dict().items()},
                          str(Path(args.save) / f"{target}-{net_name}.safetensors"))
            adj, nodes = draw_graphs(net, args.n, cfg.model.z_dim, torch.Generator().manual_seed(1000 + args.seed))
            smiles = graphs_to_smiles(adj, nodes, tr.game.vocab)
            m = molecule_metrics(smiles, training, reference)
            # MoFlow's valency correction of the same graphs, reported beside the GAN's own figures
            fixed = graphs_to_smiles(*correct_graphs(adj, nodes, tr.game.vocab), tr.game.vocab)
            m.update({f"corrected_{k}": f(fixed) for k, f in
                      (("validity", validity), ("uniqueness", uniqueness), ("novelty", lambda s: novelty(s, training)))})
            row = {"seed": args.seed, "step": target, "net": net_name, "train_cpu_s": round(cpu, 1),
                   "train_wall_s": round(wall, 1), "collapse_alert": collapse,
                   "overrides": args.overrides, **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}}
            rows.append(row)
            line = json.dumps(row)
            print(line, flush=True)
            if args.results:
                with open(args.results, "a") as f:
                    f.write(line + "\n")
    print(f"\n{'step':>6} {'net':>5} {'cpu s':>6} {'valid':>6} {'unique':>6} {'novel':>6} {'IntDiv':>6} "
          f"{'QED':>5} {'W1 QED':>6} {'W1 logP':>7} {'W1 SA':>6} {'collapse':>8} {'corrected V/U/N':>18}")
    for r in rows:
        print(f"{r['step']:>6} {r['net']:>5} {r['train_cpu_s']:>6.0f} {r['validity']:>6.1%} {r['uniqueness']:>6.1%} "
              f"{r['novelty']:>6.1%} {r['internal_diversity']:>6.3f} {r['qed_mean']:>5.3f} {r['qed_w1']:>6.3f} "
              f"{r['logp_w1']:>7.3f} {r['sa_w1']:>6.3f} {r['collapse_alert']!s:>8} "
              f"{r['corrected_validity']:.1%}/{r['corrected_uniqueness']:.1%}/{r['corrected_novelty']:.1%}")


if __name__ == "__main__":
    main()
