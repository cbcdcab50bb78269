"""First rounds: the classic PyTorch DCGAN example loop beside ganforge's ``mnist-dcgan``, in one run.

The classic loop is written here plainly, as PyTorch's DCGAN example trains: N(0, 0.02)
initialisation (Radford et al. 2016), batch norm in D after every strided convolution but the first,
real and fake judged in two D forwards, one G forward per round whose fakes serve both updates, BCE,
Adam 2e-4 (0.5, 0.999). G is the preset's DCGAN G and D has the preset's widths, so the networks have
the sizes of ganforge's; the data order is the same (the engine's epoch stream with the same seed).

Beside it, ganforge's ``mnist-dcgan`` in its earlier configuration (``current``: fresh z for the G
update, PyTorch's default initialisation, no normalisation in D), with ``model.reuse_fakes`` and
``model.init=dcgan`` (``reuse-init``), and with batch norm in D as well (``proposed``:
``model.d_norm=batch``); ``--classic-no-bn`` adds the classic loop without batch norm in D (what
D's normalisation is worth on its own).

Every loop trains in alternating timed blocks of ``--block`` rounds, so machine noise hits all
alike; images/s is the batch over the median seconds per round of the blocks. At each round of
``--evals`` every loop is evaluated (untimed): FID on the MNIST classifier's features, ``-n``
generated images against the 10,000 test images (what ``ganforge eval --metrics fid --features
mnist --reference-split test`` computes), for G and, for ganforge, its EMA G_ema.

    GANFORGE_DATA=../shared/data nice -n 10 .venv/bin/python benchmarks/bench_first_rounds.py \\
        --seeds 0 1 --evals 500 5000 --block 50 --precision bf16 --classic-no-bn \
        --stop ganforge-current:500 ganforge-reuse-init:500 classic-no-bn:500
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data import load_dataset
from ganforge.data.streams import EpochStream
from ganforge.engine import Trainer
from ganforge.metrics.evaluate import reference_dataset, reference_features
from ganforge.metrics.features import get_extractor
from ganforge.metrics.frechet import fid_from_features
from ganforge.nets.dcgan import DCGANGenerator
from ganforge.nets.layers import resolution_levels
from ganforge.presets import load_preset

# the ganforge configurations compared (explicit, so they stay meaningful whatever the preset holds)
ENGINE = {
    "ganforge-current": {"model.reuse_fakes": False, "model.init": "default", "model.d_norm": "none"},
    "ganforge-reuse-init": {"model.reuse_fakes": True, "model.init": "dcgan", "model.d_norm": "none"},
    "ganforge-proposed": {"model.reuse_fakes": True, "model.init": "dcgan", "model.d_norm": "batch"},
}


def weights_init(m: nn.Module) -> None:
    """The DCGAN example's initialisation: conv N(0, 0.02), batch norm scale N(1, 0.02), shift 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def classic_discriminator(channels: int, resolution: int, width: int, batch_norm: bool) -> nn.Module:
    """The example's D at the preset's widths: strided 4x4 convolutions, LeakyReLU(0.2), batch norm
    after every convolution but the first, then one linear logit (the example's last 4x4 convolution)."""
    base, levels = resolution_levels(resolution)
    layers, c = [], channels
    for i in range(levels):
        w = width * 2**i
        norm = batch_norm and i > 0
        layers += [nn.Conv2d(c, w, 4, 2, 1, bias=not norm)] + ([nn.BatchNorm2d(w)] if norm else []) + [nn.LeakyReLU(0.2)]
        c = w
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * base * base, 1))  # (B, 1) logits


class ClassicLoop:
    """PyTorch's DCGAN example loop, one G forward per round."""

    def __init__(self, cfg, data, batch_norm: bool = True):
        m, o, t = cfg.model, cfg.optim, cfg.train
        c, r = data.shape[0], data.shape[1]
        torch.manual_seed(t.seed)
        self.G = DCGANGenerator(m.z_dim, c, r, m.g_channels)
        self.D = classic_discriminator(c, r, m.d_channels, batch_norm)
        self.G.apply(weights_init)
        self.D.apply(weights_init)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=o.lr_g, betas=(o.beta1, o.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=o.lr_d, betas=(o.beta1, o.beta2))
        self.stream = EpochStream(data, t.seed + 2)  # the engine's data order for this seed
        self.gen = torch.Generator().manual_seed(t.seed + 1)
        self.B, self.z_dim, self.bf16 = t.batch_size, m.z_dim, t.precision == "bf16"

    def step(self) -> None:
        real = self.stream.next(self.B)[0]  # (B, C, H, W) in [-1, 1]
        z = torch.randn(self.B, self.z_dim, generator=self.gen)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            fake = self.G(z)  # (B, C, H, W), the only G forward of the round
            out_real = self.D(real).float().view(-1)
            out_fake = self.D(fake.detach()).float().view(-1)
        err_d = (F.binary_cross_entropy_with_logits(out_real, torch.ones_like(out_real))
                 + F.binary_cross_entropy_with_logits(out_fake, torch.zeros_like(out_fake)))
        self.D.zero_grad()
        err_d.backward()
        self.opt_d.step()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            out = self.D(fake).float().view(-1)  # the updated D on the same fakes
        err_g = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
        self.G.zero_grad()
        err_g.backward()
        self.opt_g.step()

    @torch.no_grad()
    def samples(self, n: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        self.G.eval()  # batch norm on running statistics, as ganforge samples
        out = torch.cat([self.G(torch.randn(min(500, n - i), self.z_dim, generator=gen)) for i in range(0, n, 500)])
        self.G.train()
        return {"G": out}


class EngineLoop:
    """ganforge's Trainer on one configuration."""

    def __init__(self, cfg, data):
        self.trainer = Trainer(cfg, dataset=data)
        self.ema = cfg.optim.ema > 0

    def step(self) -> None:
        self.trainer.step()

    def samples(self, n: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        state = gen.get_state()
        out = {"G": self.trainer.generate(n, ema=False, generator=gen, batch=500)}
        if self.ema:
            gen.set_state(state)  # the same z for G_ema
            out["G_ema"] = self.trainer.generate(n, ema=True, generator=gen, batch=500)
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="mnist-dcgan")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--evals", type=int, nargs="+", default=[500, 5000], help="G updates at which to evaluate")
    ap.add_argument("--block", type=int, default=50, help="rounds per timed block")
    ap.add_argument("-n", type=int, default=5000, help="generated images per FID")
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32", help="of every loop's forwards")
    ap.add_argument("--classic-no-bn", action="store_true", help="also the classic loop without batch norm in D")
    ap.add_argument("--time-only", action="store_true", help="images/s only: no FID at the --evals rounds")
    ap.add_argument("--only", nargs="+", default=None, help="train only these loops (names as printed)")
    ap.add_argument("--stop", nargs="+", default=[], metavar="NAME:UPDATES",
                    help="train loop NAME only up to this many updates (its last evaluation)")
    ap.add_argument("--out", default=None, help="write all figures to this JSON file")
    args = ap.parse_args()
    torch.set_num_threads(1)
    base = load_preset(args.preset).with_overrides({"train.progress": False, "train.device": "cpu",
                                                    "train.threads": 1, "train.precision": args.precision})
    data = load_dataset(base.data)
    extractor = get_extractor("mnist")
    test = reference_dataset(base.data, "test")
    real_f = None if args.time_only else reference_features(test, extractor, 10000, 0)[0]
    evals, B = sorted(args.evals), base.train.batch_size
    stop = {name: int(upd) for name, _, upd in (s.partition(":") for s in args.stop)}
    results = []
    print(f"machine: {platform.processor() or platform.machine()}, 1 torch thread, torch {torch.__version__}, "
          f"preset {args.preset}, batch {B}, {args.precision}, blocks of {args.block} rounds, "
          f"FID: MNIST features, {args.n} generated vs {len(test)} test images", flush=True)
    for seed in args.seeds:
        cfg = base.with_overrides({"train.seed": seed})
        makers = {"classic": lambda cfg=cfg: ClassicLoop(cfg, data)}
        for name, settings in ENGINE.items():
            makers[name] = lambda cfg=cfg, settings=settings: EngineLoop(cfg.with_overrides(settings), data)
        if args.classic_no_bn:
            makers["classic-no-bn"] = lambda cfg=cfg: ClassicLoop(cfg, data, batch_norm=False)
        loops = {name: make() for name, make in makers.items() if not args.only or name in args.only}
        times: dict[str, list[float]] = {name: [] for name in loops}
        done, t_start = 0, time.perf_counter()
        for target in evals:
            loops = {name: loop for name, loop in loops.items() if stop.get(name, target) >= target}
            while done < target:
                rounds = min(args.block, target - done)
                for name, loop in loops.items():
                    t0 = time.perf_counter()
                    for _ in range(rounds):
                        loop.step()
                    times[name].append((time.perf_counter() - t0) / rounds)
                done += rounds
            for name, loop in loops.items():
                gen = torch.Generator().manual_seed(10_000 + seed)  # the same z for every loop
                samples = {"G": None} if args.time_only else loop.samples(args.n, gen)
                for which, images in samples.items():
                    fid = float("nan") if images is None else fid_from_features(real_f, extractor(images))
                    ips = B / statistics.median(times[name])
                    results.append({"seed": seed, "loop": name, "net": which, "updates": target, "fid": fid,
                                    "images_per_s": ips, "blocks": len(times[name])})
                    print(f"seed {seed}  {name:<20} {which:<6} {target:>6} updates  FID {fid:8.2f}  "
                          f"{ips:6.1f} images/s (median of {len(times[name])} blocks)  "
                          f"[{time.perf_counter() - t_start:.0f} s]", flush=True)
            if args.out:  # after every evaluation, so an interrupted run keeps what it measured
                with open(args.out, "w") as f:
                    json.dump({"args": vars(args), "results": results}, f, indent=1)
    print("\nmedian over seeds")
    print(f"{'loop':<20}{'net':<7}{'updates':>8}{'FID':>9}{'images/s':>10}{'vs classic':>12}")
    keys = sorted({(r["loop"], r["net"], r["updates"]) for r in results}, key=lambda k: (k[2], k[0], k[1]))
    med = {k: (statistics.median(r["fid"] for r in results if (r["loop"], r["net"], r["updates"]) == k),
               statistics.median(r["images_per_s"] for r in results if (r["loop"], r["net"], r["updates"]) == k))
           for k in keys}
    for (name, which, upd), (fid, ips) in med.items():
        ref = med.get(("classic", "G", upd))
        ratio = f"{ips / ref[1]:.3f}x" if ref else "-"
        print(f"{name:<20}{which:<7}{upd:>8}{fid:>9.2f}{ips:>10.1f}{ratio:>12}")


if __name__ == "__main__":
    main()
