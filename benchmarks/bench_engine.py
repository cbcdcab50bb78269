"""Engine overhead: ganforge's training round vs a plain PyTorch loop, side by side in one run.

Both loops train the same networks (the preset's DCGAN G and D, built by ganforge.nets) with the
same batch size, optimizer and non-saturating loss on the same data. They are measured in
alternating blocks so that machine noise hits both alike; the table gives the median time per
round over the blocks and the ratio engine / plain.

    python benchmarks/bench_engine.py --preset mnist-dcgan --data-dir DIR --blocks 5 --rounds 20
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
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_preset(args.preset).with_overrides({"train.progress": False, "train.device": "cpu"})
    if args.data_dir:
        cfg = cfg.with_overrides({"data.data_dir": args.data_dir})
    data = load_dataset(cfg.data)
    engine = Trainer(cfg, dataset=data)
    plain = PlainLoop(cfg, data)
    for step in (engine.step, plain.step):  # warm-up: allocator, first-call costs
        time_block(step, 3)
    engine_t, plain_t = [], []
    for _ in range(args.blocks):
        engine_t.append(time_block(engine.step, args.rounds))
        plain_t.append(time_block(plain.step, args.rounds))
    e, p = statistics.median(engine_t), statistics.median(plain_t)
    B = cfg.train.batch_size
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"preset {args.preset}: batch {B}, {args.blocks} blocks x {args.rounds} rounds, medians")
    print(f"{'loop':<10}{'s/round':>10}{'rounds/s':>10}{'images/s':>10}")
    for name, t in (("ganforge", e), ("plain", p)):
        # images/s: real training images consumed per second (one batch of B per round)
        print(f"{name:<10}{t:>10.4f}{1 / t:>10.2f}{B / t:>10.0f}")
    print(f"overhead ratio ganforge / plain: {e / p:.3f}")


if __name__ == "__main__":
    main()
