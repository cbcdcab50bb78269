"""Engine overhead: ganforge's training round vs a plain PyTorch loop, side by side in one run.

Both loops train the same networks (the preset's DCGAN G and D, built by ganforge.nets) with the
same batch size, optimizer and non-saturating loss on the same data. They are measured in
alternating blocks so that machine noise hits both alike; the table gives the median time per
round over the blocks and the ratio engine / plain.

    python benchmarks/bench_engine.py --preset mnist-dcgan --data-dir DIR --blocks 5 --rounds 20

``--variant NAME:section.key=value[,section.key=value]`` adds engine configurations to the same
alternating blocks, e.g. ``--variant bf16:train.precision=bf16 --variant compiled:train.compile=true``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from ganforge.data import load_dataset
from ganforge.engine import Trainer
from ganforge.nets import build_networks
from ganforge.presets import load_preset


class PlainLoop:
    """The textbook GAN loop with nothing else: no stats, no EMA, no checks."""

    def __init__(self, cfg, data):
        torch.manual_seed(cfg.train.seed)
        self.cfg = cfg
        self.images = data.images  # (N, C, H, W) uint8
        self.G, self.D = build_networks(cfg.model, tuple(data.shape), data.n_classes)
        o = cfg.optim
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=o.lr_g, betas=(o.beta1, o.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=o.lr_d, betas=(o.beta1, o.beta2))
        self.gen = torch.Generator().manual_seed(0)

    def step(self):
        B, z_dim = self.cfg.train.batch_size, self.cfg.model.z_dim
        idx = torch.randint(0, len(self.images), (B,), generator=self.gen)
        real = self.images[idx].float() / 127.5 - 1
        z = torch.randn(B, z_dim, generator=self.gen)
        with torch.no_grad():
            fake = self.G(z)
        d_loss = F.softplus(-self.D(real)).mean() + F.softplus(self.D(fake)).mean()
        self.opt_d.zero_grad()
        d_loss.backward()
        self.opt_d.step()
        z = torch.randn(B, z_dim, generator=self.gen)
        g_loss = F.softplus(-self.D(self.G(z))).mean()
        self.opt_g.zero_grad()
        g_loss.backward()
        self.opt_g.step()


def time_block(step, rounds: int) -> float:
    t0 = time.perf_counter()
    for _ in range(rounds):
        step()
    return (time.perf_counter() - t0) / rounds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="mnist-dcgan")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--blocks", type=int, default=5, help="alternating measurement blocks")
    ap.add_argument("--rounds", type=int, default=20, help="rounds per block")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=VALUE[,KEY=VALUE]",
                    help="another engine configuration to time alongside (repeatable)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_preset(args.preset).with_overrides({"train.progress": False, "train.device": "cpu"})
    if args.data_dir:
        cfg = cfg.with_overrides({"data.data_dir": args.data_dir})
    data = load_dataset(cfg.data)
    engine = Trainer(cfg, dataset=data)
    loops = {"ganforge": engine.step, "plain": PlainLoop(cfg, data).step}
    for spec in args.variant:
        name, _, settings = spec.partition(":")
        loops[name] = Trainer(cfg.with_overrides(settings.split(",")), dataset=data).step
    for step in loops.values():  # warm-up: allocator, first-call costs, compilation
        time_block(step, 3)
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.blocks):
        for name, step in loops.items():
            times[name].append(time_block(step, args.rounds))
    med = {name: statistics.median(t) for name, t in times.items()}
    B = cfg.train.batch_size
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"preset {args.preset}: batch {B}, {args.blocks} blocks x {args.rounds} rounds, medians")
    print(f"{'loop':<12}{'s/round':>10}{'rounds/s':>10}{'images/s':>10}{'vs plain':>10}")
    for name, t in med.items():
        # images/s: real training images consumed per second (one batch of B per round)
        print(f"{name:<12}{t:>10.4f}{1 / t:>10.2f}{B / t:>10.0f}{t / med['plain']:>10.3f}")
    e = med["ganforge"]
    # data loading: the engine's whole input path (index the decoded uint8 tensor, convert to float)
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        engine.real_batch(B)
    load = (time.perf_counter() - t0) / n
    print(f"data loading: {load * 1e3:.3f} ms per batch = {100 * load / e:.2f}% of a round")


if __name__ == "__main__":
    main()
