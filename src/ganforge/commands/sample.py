"""``ganforge sample``: draw samples from a trained run as a PNG grid, .npy or .pt file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ganforge.data import PointDistribution
from ganforge.engine import Trainer
from ganforge.engine.latent import lerp, slerp
from ganforge.engine.rejection import fit_density_ratio, rejection_sample
from ganforge.engine.rundir import read_run_config, run_checkpoint
from ganforge.errors import ConfigError, RunDirError

FORMATS = (".png", ".npy", ".pt")


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained run",
                       description="Draw samples from a run's latest checkpoint (EMA generator when it has one).")
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--out", required=True, help="output file: .png (grid or scatter), .npy or .pt (raw samples)")
    p.add_argument("--class", dest="label", type=int, help="class to sample (conditional models)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent noise (default 0)")
    p.add_argument("--no-ema", action="store_true", help="use G itself rather than its moving average")
    p.add_argument("--interpolate", type=int, metavar="STEPS",
                   help="image sheet of -n latent walks, each STEPS images from one random z to another")
    p.add_argument("--sheet", action="store_true",
                   help="class-conditional sheet: one row per class, -n samples per row (conditional models)")
    p.add_argument("--drs", type=float, metavar="SECONDS",
                   help="discriminator rejection sampling (Azadi et al. 2019): fit a density-ratio D against "
                        "the generator for SECONDS, then keep each sample with probability exp(logit - max)")
    p.add_argument("--drs-quantile", type=float, default=0.99, metavar="Q",
                   help="with --drs: the rejection threshold as a quantile of the logits (default 0.99; 1 is "
                        "exact rejection; lower keeps more samples and corrects less)")
    p.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    p.set_defaults(func=run)


def run(args) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(f"--out {out.name!r}: unsupported format; accepted: {', '.join(FORMATS)}")
    if out.exists() and not args.overwrite:
        raise RunDirError(f"{out} already exists; use --overwrite to replace it")
    if args.n < 1:
        raise ConfigError(f"-n must be >= 1, got {args.n}")
    if args.drs is not None and (args.drs <= 0 or args.interpolate is not None or args.sheet or args.label is not None):
        raise ConfigError("--drs takes a positive number of seconds and cannot be combined with "
                          "--interpolate, --sheet or --class")
    read_run_config(args.run)  # a clear error when RUN is not a run directory
    trainer = Trainer.from_checkpoint(run_checkpoint(args.run), overrides={"train.progress": False})
    gen = torch.Generator(trainer.device).manual_seed(args.seed)
    nrow = None
    if args.interpolate is not None:
        samples, nrow = interpolation_sheet(trainer, args.n, args.interpolate, args.label, not args.no_ema, gen)
    elif args.sheet:
        samples, nrow = class_sheet(trainer, args.n, not args.no_ema, gen)
    elif args.drs is not None:
        D_ratio = fit_density_ratio(trainer, seconds=args.drs, ema=not args.no_ema)
        result = rejection_sample(trainer, D_ratio, args.n, quantile=args.drs_quantile, ema=not args.no_ema,
                                  generator=gen)
        samples = result.samples
        print(f"rejection sampling kept {100 * result.acceptance:.1f}% of {result.proposed} proposals")
    else:
        samples = trainer.generate(args.n, labels=args.label, ema=not args.no_ema, generator=gen)
    save_samples(samples, out, trainer, nrow)
    print(f"wrote {len(samples)} samples to {out}")
    return 0


def interpolation_sheet(trainer: Trainer, walks: int, steps: int, label, ema: bool, gen) -> tuple[torch.Tensor, int]:
    """(walks * steps) images: row i walks from one random latent to another in ``steps`` steps."""
    if steps < 2:
        raise ConfigError(f"--interpolate needs at least 2 steps, got {steps}")
    a, b = trainer.sample_z(walks, gen), trainer.sample_z(walks, gen)
    t = torch.linspace(0, 1, steps, device=a.device)
    walk = lerp if trainer.cfg.model.noise == "uniform" else slerp
    z = walk(a, b, t).reshape(walks * steps, -1)  # (walks * steps, z_dim), row-major: one walk per row
    labels = None
    if trainer.cfg.model.conditional:
        labels = (torch.full((walks,), label) if label is not None else trainer.sample_labels(walks, gen).cpu())
        labels = labels.repeat_interleave(steps)  # each walk keeps its class
    return trainer.generate(len(z), labels=labels, ema=ema, z=z), steps


def class_sheet(trainer: Trainer, per_class: int, ema: bool, gen) -> tuple[torch.Tensor, int]:
    """One row per class with ``per_class`` samples each."""
    if not trainer.cfg.model.conditional:
        raise ConfigError("--sheet needs a conditional model (model.conditional=true)")
    labels = torch.arange(trainer.n_classes).repeat_interleave(per_class)
    return trainer.generate(len(labels), labels=labels, ema=ema, generator=gen), per_class


def save_samples(samples: torch.Tensor, out: Path, trainer: Trainer, nrow: int | None = None) -> None:
    """Write samples atomically in the format the file extension names."""
    from ganforge.viz import save_image_grid, save_scatter

    out.parent.mkdir(parents=True, exist_ok=True)
    suffix = out.suffix.lower()
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp{suffix}")
    if suffix == ".npy":
        np.save(tmp, samples.numpy())
    elif suffix == ".pt":
        torch.save(samples, tmp)
    elif isinstance(trainer.data, PointDistribution):
        real = trainer.data.sample(len(samples), torch.Generator().manual_seed(0))
        save_scatter(real, samples, tmp, title=f"{trainer.cfg.data.name}: {len(samples)} samples",
                     centers=trainer.data.centers)
    else:
        save_image_grid(samples, tmp, nrow=nrow)
    os.replace(tmp, out)
