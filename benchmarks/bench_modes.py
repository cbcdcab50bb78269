"""Mode coverage on the PacGAN mixtures under a wall-clock training budget.

For each preset and seed: train for ``--budget`` seconds of wall time (or a fixed number of rounds,
``--budget 0 --steps N``: fair when the machine is shared), then draw 2,500 samples and apply the
PacGAN/VEEGAN protocol (nearest mode, 3-std rule): modes captured, high-quality fraction, reverse
KL. Both the raw generator and its EMA are reported, with the rounds per second each run got and
the machine's load average when the runs started; the summary gives worst / median / best over
the seeds (the worst seed named).

With ``--drs-seconds S`` the last S seconds of the budget fit a density-ratio discriminator for
discriminator rejection sampling (Azadi et al. 2019), and the corrected samples of G_ema are
reported beside the raw ones (same G, same total training time).

    python benchmarks/bench_modes.py --presets ring8 grid25 --seeds 0 1 2 3 4 --budget 60
    python benchmarks/bench_modes.py --presets ring8 grid25 --seeds 0 1 2 3 4 --budget 60 --drs-seconds 10
    python benchmarks/bench_modes.py --presets grid25 --seeds 0 1 2 --budget 0 --steps 10000 \
        --set data.clusters=25 --set model.conditional=true --set model.pack=1
    python benchmarks/bench_modes.py --presets ring8 --seeds 9 --budget 0 --steps 2800 --trace 50 \
        --set data.clusters=8 --set model.conditional=true --set model.pack=1

With ``--trace N`` a run also prints, every N rounds, the coverage of G and G_ema and the largest
|D logit| and gradient norms of the last N rounds: how a run got where it ends.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from ganforge.engine import Trainer
from ganforge.engine.rejection import fit_density_ratio, rejection_sample
from ganforge.metrics.modes import mode_coverage
from ganforge.presets import load_preset

TRACED = ("real_logit", "fake_logit", "d_grad_norm", "g_grad_norm")  # round statistics --trace follows


def run_one(preset: str, seed: int, budget: float, steps: int, overrides: list[str],
            drs_seconds: float = 0.0, drs_quantile: float = 1.0, trace: int = 0) -> dict:
    cfg = load_preset(preset).with_overrides([f"train.seed={seed}", "train.device=cpu", *overrides])
    trainer = Trainer(cfg)
    t0 = time.perf_counter()
    gan_budget = budget - drs_seconds
    peak: dict[str, float] = {}
    while (time.perf_counter() - t0 < gan_budget) if budget else trainer.step_count < steps:
        stats = trainer.step()
        if trace:
            for k in TRACED:
                if k in stats:
                    peak[k] = max(peak.get(k, 0.0), abs(float(stats[k])))
            if trainer.step_count % trace == 0:
                print(trace_line(trainer, seed, peak), flush=True)
                peak = {}
    if drs_seconds:
        D_ratio = fit_density_ratio(trainer, seconds=drs_seconds)
    elapsed = time.perf_counter() - t0
    out = {"preset": preset, "seed": seed, "rounds": trainer.step_count, "seconds": elapsed}
    for ema in (False, True):
        if ema and trainer.G_ema is None:
            continue
        x = trainer.generate(2500, ema=ema, generator=torch.Generator().manual_seed(1000 + seed))
        out["ema" if ema else "raw"] = mode_coverage(x, trainer.data.centers, trainer.data.std)
    if drs_seconds:
        res = rejection_sample(trainer, D_ratio, 2500, quantile=drs_quantile, generator=torch.Generator().manual_seed(2000 + seed))
        out["drs"] = mode_coverage(res.samples, trainer.data.centers, trainer.data.std)
        out["acceptance"] = res.acceptance
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", nargs="+", default=["ring8", "grid25"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--budget", type=float, default=60.0, help="training seconds per run (0: use --steps)")
    ap.add_argument("--steps", type=int, default=0, help="rounds per run when --budget is 0")
    ap.add_argument("--drs-seconds", type=float, default=0.0,
                    help="seconds of the budget spent fitting the rejection-sampling D (0: no DRS)")
    ap.add_argument("--drs-quantile", type=float, default=0.99,
                    help="rejection threshold M as a quantile of the logits (default 0.99; 1: the maximum, exact "
                         "DRS, which can keep almost nothing when a few samples get extreme logits)")
    ap.add_argument("--trace", type=int, default=0,
                    help="every this many rounds print G's and G_ema's coverage and the largest |D logit| and "
                         "gradient norms of those rounds (0: off; the samples drawn do not touch training)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="extra section.key=value")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    keys = ("raw", "ema", "drs") if args.drs_seconds else ("raw", "ema")
    head = {"raw": "G: modes  HQ%  revKL", "ema": "G_ema: modes  HQ%  revKL", "drs": "G_ema+DRS (accept)"}
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    print(f"{args.threads} thread(s), load average at start {load}, overrides {args.overrides or 'none'}")
    print(f"{'preset':<8}{'seed':>5}{'rounds':>8}{'s':>6}{'r/s':>6}  " + "".join(f"{head[k]:<26}" for k in keys))
    rows = []
    for preset in args.presets:
        for seed in args.seeds:
            r = run_one(preset, seed, args.budget, args.steps, args.overrides, args.drs_seconds,
                        args.drs_quantile, args.trace)
            rows.append(r)
            cells = []
            for key in keys:
                m = r.get(key)
                cell = f"{m.modes_captured:>3}/{m.n_modes:<3}{100 * m.hq_fraction:6.1f} {m.reverse_kl:7.3f}" if m else "-"
                if key == "drs":
                    cell += f" ({100 * r['acceptance']:.0f}%)"
                cells.append(f"{cell:<26}")
            rate = r["rounds"] / max(r["seconds"], 1e-9)
            print(f"{preset:<8}{seed:>5}{r['rounds']:>8}{r['seconds']:>6.0f}{rate:>6.0f}  " + "".join(cells), flush=True)
    for preset in args.presets:
        for key in keys:
            runs = [r for r in rows if r["preset"] == preset and key in r]
            if runs:
                print(f"{preset} {key}: " + spread(runs, key))


def trace_line(trainer: Trainer, seed: int, peak: dict[str, float]) -> str:
    """One --trace line: the round, modes / HQ% / rev-KL of G and G_ema on 2,500 samples drawn with
    the final evaluation's seed, then the peaks of ``TRACED`` since the last line."""
    cells = [f"  round {trainer.step_count:>6}"]
    for ema in (False, True):
        if ema and trainer.G_ema is None:
            continue
        x = trainer.generate(2500, ema=ema, generator=torch.Generator().manual_seed(1000 + seed))  # (2500, 2)
        m = mode_coverage(x, trainer.data.centers, trainer.data.std)
        cells.append(f"{'G_ema' if ema else 'G'} {m.modes_captured}/{m.n_modes} {100 * m.hq_fraction:5.1f} "
                     f"{m.reverse_kl:.3f}")
    cells.append("max " + " ".join(f"|{k}| {v:.3g}" for k, v in peak.items()))
    return " | ".join(cells)


def spread(runs: list[dict], key: str) -> str:
    """Worst / median / best of modes, HQ and reverse KL over ``runs`` (worst seed named)."""
    ms = [r[key] for r in runs]
    hq = sorted((100 * m.hq_fraction, r["seed"]) for r, m in zip(runs, ms))
    kl = sorted(((m.reverse_kl, r["seed"]) for r, m in zip(runs, ms)), reverse=True)
    modes = sorted((m.modes_captured, r["seed"]) for r, m in zip(runs, ms))
    return (f"modes worst {modes[0][0]}/{ms[0].n_modes} (seed {modes[0][1]}), all on "
            f"{sum(m.modes_captured == m.n_modes for m in ms)}/{len(ms)} seeds; "
            f"HQ% worst/median/best {hq[0][0]:.1f} (seed {hq[0][1]}) / {statistics.median(h for h, _ in hq):.1f} / "
            f"{hq[-1][0]:.1f}; rev-KL worst/median/best {kl[0][0]:.3f} (seed {kl[0][1]}) / "
            f"{statistics.median(k for k, _ in kl):.3f} / {kl[-1][0]:.3f}")


if __name__ == "__main__":
    main()
