"""``ganforge sample``: draw samples from a trained run as a PNG grid, .npy or .pt file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganforge.engine import Trainer
from ganforge.engine.generator import Generator, load_generator
from ganforge.engine.latent import lerp, slerp
from ganforge.engine.rejection import fit_density_ratio, rejection_sample
from ganforge.engine.rundir import read_run_config, run_checkpoint
from ganforge.errors import ConfigError, RunDirError
from ganforge.fileio import atomic_path

FORMATS = (".png", ".npy", ".pt")


def add_parser(sub) -> None:
    p = sub.add_parser("sample", help="draw samples from a trained run",
                       description="Draw samples from a run's latest checkpoint (EMA generator when it has one).")
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("-n", type=int, default=64, help="number of samples (default 64)")
    p.add_argument("--out", required=True, help="output file: .png (grid or scatter), .npy or .pt (raw samples)")
    p.add_argument("--class", dest="label", type=int, help="class to sample (conditional models)")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent noise and classes (default 0)")
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
    p.add_argument("--valid-only", action="store_true",
                   help="molecule runs: leave out the graphs that are not molecules (otherwise INVALID lines)")
    p.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    p.set_defaults(func=run)


MAX_SAMPLES = 1_000_000  # per call: 10^6 28x28 images are 3 GB of floats; larger needs several calls


def run(args) -> int:
    if _game_of(args.run) == "molgan":  # molecule runs write SMILES files (ganforge.molecules.sample)
        from ganforge.molecules.sample import run_sample

        return run_sample(args)
    out = Path(args.out)
    if out.suffix.lower() not in FORMATS:
        raise ConfigError(f"--out {out.name!r}: unsupported format; accepted: {', '.join(FORMATS)}")
    if out.exists() and not args.overwrite:
        raise RunDirError(f"{out} already exists; use --overwrite to replace it")
    if not 1 <= args.n <= MAX_SAMPLES:
        raise ConfigError(f"-n must be between 1 and {MAX_SAMPLES}, got {args.n}")
    if args.interpolate is not None and not 2 <= args.interpolate <= 1000:
        raise ConfigError(f"--interpolate takes 2 to 1000 steps, got {args.interpolate}")
    if args.n * (args.interpolate or 1) > MAX_SAMPLES:
        raise ConfigError(f"-n x --interpolate must be at most {MAX_SAMPLES}, got {args.n * args.interpolate}")
    if not 0 <= args.seed < 2**63:
        raise ConfigError(f"--seed must be between 0 and 2**63 - 1, got {args.seed}")
    if args.drs is not None and (not 0 < args.drs <= 3600 or args.interpolate is not None or args.sheet
                                 or args.label is not None):
        raise ConfigError("--drs takes 0 to 3600 seconds and cannot be combined with "
                          "--interpolate, --sheet or --class")
    if not 0 < args.drs_quantile <= 1:
        raise ConfigError(f"--drs-quantile must be in (0, 1], got {args.drs_quantile}")
    gen = torch.Generator().manual_seed(args.seed)
    if args.drs is not None:
        # DRS fits a density ratio against real data: the one use of sample that needs the dataset
        read_run_config(args.run)
        trainer = Trainer.from_checkpoint(run_checkpoint(args.run), overrides={"train.progress": False})
        D_ratio = fit_density_ratio(trainer, seconds=args.drs, ema=not args.no_ema)
        result = rejection_sample(trainer, D_ratio, args.n, quantile=args.drs_quantile, ema=not args.no_ema,
                                  generator=torch.Generator(trainer.device).manual_seed(args.seed))
        print(f"rejection sampling kept {100 * result.acceptance:.1f}% of {result.proposed} proposals")
        save_samples(result.samples, out, trainer.cfg.data)
        print(f"wrote {len(result.samples)} samples to {out}")
        return 0
    G = load_generator(args.run, ema=not args.no_ema)
    cfg = read_run_config(args.run) if (Path(args.run) / "config.json").is_file() else None
    nrow = None
    if args.interpolate is not None:
        samples, nrow = interpolation_sheet(G, args.n, args.interpolate, args.label, gen)
    elif args.sheet:
        samples, nrow = class_sheet(G, args.n, gen)
    else:
        samples = G.generate(args.n, labels=args.label, generator=gen)
    save_samples(samples, out, cfg.data if cfg else None, nrow)
    print(f"wrote {len(samples)} samples to {out}")
    return 0


def _game_of(run: str) -> str | None:
    """The model.game of a run or checkpoint directory (from its config.json, else its latest
    checkpoint's state.json), or None when neither is readable (the loaders then say why)."""
    import json

    from ganforge.engine.generator import resolve_checkpoint

    try:
        if (Path(run) / "config.json").is_file():
            return read_run_config(run).model.game
        state = json.loads((resolve_checkpoint(run) / "state.json").read_text())["state"]
        return str(state["config"]["model"].get("game", "gan"))
    except (RunDirError, ConfigError, OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def interpolation_sheet(G: Generator, walks: int, steps: int, label, gen) -> tuple[torch.Tensor, int]:
    """(walks * steps) images: row i walks from one random latent to another in ``steps`` steps."""
    if steps < 2:
        raise ConfigError(f"--interpolate needs at least 2 steps, got {steps}")
    a, b = G.sample_z(walks, gen), G.sample_z(walks, gen)
    t = torch.linspace(0, 1, steps, device=a.device)
    walk = lerp if G.noise == "uniform" else slerp
    z = walk(a, b, t).reshape(walks * steps, -1)  # (walks * steps, z_dim), row-major: one walk per row
    labels = None
    if G.conditional:
        labels = (torch.full((walks,), label) if label is not None else G.sample_labels(walks, gen).cpu())
        labels = labels.repeat_interleave(steps)  # each walk keeps its class
    elif label is not None:
        raise ConfigError("this model is not conditional; sample without a class")
    return G.generate(len(z), labels=labels, z=z), steps


def class_sheet(G: Generator, per_class: int, gen) -> tuple[torch.Tensor, int]:
    """One row per class with ``per_class`` samples each."""
    if not G.conditional:
        raise ConfigError("--sheet needs a conditional model (model.conditional=true)")
    labels = torch.arange(G.n_classes).repeat_interleave(per_class)
    return G.generate(len(labels), labels=labels, generator=gen), per_class


def save_samples(samples: torch.Tensor, out: Path, data_cfg=None, nrow: int | None = None) -> None:
    """Write samples atomically in the format the file extension names.

    Points are drawn over the real distribution when the run's data is a built-in mixture
    (``data_cfg``); a user's points file is not needed (only the samples are drawn then).
    """
    from ganforge.viz import save_image_grid, save_scatter

    suffix = out.suffix.lower()
    if suffix == ".npy":
        with atomic_path(out) as tmp:
            np.save(tmp, samples.numpy())
    elif suffix == ".pt":
        # a plain tensor file, for torch.load(weights_only=True); never a pickle of objects
        with atomic_path(out) as tmp:
            torch.save(samples.contiguous(), tmp)
    elif samples.ndim == 2:
        real, centers = reference_points(data_cfg, len(samples))
        save_scatter(real if real is not None else samples[:0], samples, out,
                     title=f"{data_cfg.name if data_cfg else 'points'}: {len(samples)} samples", centers=centers)
    else:
        save_image_grid(samples, out, nrow=nrow)


def reference_points(data_cfg, n: int):
    """(real points, mode centres) of a built-in mixture to draw beside samples, else (None, None)."""
    from ganforge.data.mixtures import POINT_DATASETS, make_distribution

    if data_cfg is None or data_cfg.name not in POINT_DATASETS or data_cfg.name == "points":
        return None, None
    dist = make_distribution(data_cfg.name, None, data_cfg.noise_std)
    return dist.sample(n, torch.Generator().manual_seed(0)), dist.centers
