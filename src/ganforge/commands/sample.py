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
                   help="image sheet of -n latent walks, each STEPS images from one random z to another "
                        "(a StyleGAN G walks in w, on a straight line, as StyleGAN's perceptual path length)")
    p.add_argument("--truncation", type=float, metavar="PSI",
                   help="truncation trick (StyleGAN generators): w = w_avg + PSI (w - w_avg), PSI in [0, 1]; "
                        "0 gives the average image, 1 (default) none")
    p.add_argument("--mix", type=int, nargs="?", const=5, metavar="N",
                   help="style-mixing sheet (StyleGAN generators): N rows and N columns of random samples "
                        "(default 5); cell (i, j) takes the coarse styles of row i and the fine styles of column j")
    p.add_argument("--crossover", type=int, metavar="LAYER",
                   help="with --mix: the first layer whose style comes from the column (default: half the "
                        "layers; lower keeps less of the row)")
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
    p.add_argument("--correct", action="store_true",
                   help="molecule runs: repair over-valent atoms and keep the largest fragment before writing "
                        "(MoFlow's valency correction; the line says the validity with and without it)")
    p.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    p.set_defaults(func=run)


MAX_SAMPLES = 1_000_000  # per call: 10^6 28x28 images are 3 GB of floats; larger needs several calls
MAX_MIX = 32  # --mix: samples per side of the sheet ((n + 1)^2 images)


def run(args) -> int:
    if _game_of(args.run) == "molgan":  # molecule runs write SMILES files (ganforge.molecules.sample)
        from ganforge.molecules.sample import run_sample

        return run_sample(args)
    if args.valid_only or args.correct:
        raise ConfigError("--valid-only and --correct apply to molecule runs (model.game molgan) only")
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
    if args.truncation is not None and not 0 <= args.truncation <= 1:
        raise ConfigError(f"--truncation must be between 0 and 1 (1 = no truncation), got {args.truncation}")
    if args.mix is not None and not 1 <= args.mix <= MAX_MIX:
        raise ConfigError(f"--mix takes 1 to {MAX_MIX} samples per side, got {args.mix}")
    if args.mix is not None and (args.interpolate is not None or args.sheet):
        raise ConfigError("--mix cannot be combined with --interpolate or --sheet")
    if args.crossover is not None and args.mix is None:
        raise ConfigError("--crossover goes with --mix")
    if args.drs is not None and (args.truncation is not None or args.mix is not None):
        raise ConfigError("--drs cannot be combined with --truncation or --mix")
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
    psi = 1.0 if args.truncation is None else args.truncation
    if (args.truncation is not None or args.mix is not None) and not getattr(G.net, "supports_truncation", False):
        what = "--truncation" if args.truncation is not None else "--mix"
        raise ConfigError(f"{what} needs a StyleGAN generator (mapping network and styles); this run's G is "
                          f"model.arch {cfg.model.arch if cfg else 'of another family'!s}")
    if args.mix is not None:
        samples, nrow = mixing_sheet(G, args.mix, args.crossover, args.label, gen, psi)
    elif args.interpolate is not None:
        samples, nrow = interpolation_sheet(G, args.n, args.interpolate, args.label, gen, psi)
    elif args.sheet:
        samples, nrow = class_sheet(G, args.n, gen, psi)
    else:
        samples = G.generate(args.n, labels=args.label, generator=gen, truncation=psi)
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


def interpolation_sheet(G: Generator, walks: int, steps: int, label, gen, truncation: float = 1.0
                        ) -> tuple[torch.Tensor, int]:
    """(walks * steps) images: row i walks from one random latent to another in ``steps`` steps.

    A StyleGAN G walks on the straight line between the two w's (its intermediate latent space,
    where StyleGAN measures perceptual path length: Karras et al. 2019 sec. 4.2); other generators
    walk in z (slerp for Gaussian noise, a straight line for uniform noise).
    """
    if steps < 2:
        raise ConfigError(f"--interpolate needs at least 2 steps, got {steps}")
    a, b = G.sample_z(walks, gen), G.sample_z(walks, gen)
    t = torch.linspace(0, 1, steps, device=a.device)
    labels = None
    if G.conditional:
        labels = (torch.full((walks,), label) if label is not None else G.sample_labels(walks, gen).cpu())
    elif label is not None:
        raise ConfigError("this model is not conditional; sample without a class")
    if getattr(G.net, "supports_truncation", False):
        with _eval(G.net):
            la = labels.to(G.device) if labels is not None else None
            w_a, w_b = G.net.mapping(a, la, truncation), G.net.mapping(b, la, truncation)  # (walks, w_dim)
            w = lerp(w_a, w_b, t).reshape(walks * steps, -1)  # (walks * steps, w_dim), one walk per row
            return _synthesise(G.net, w), steps
    walk = lerp if G.noise == "uniform" else slerp
    z = walk(a, b, t).reshape(walks * steps, -1)  # (walks * steps, z_dim), row-major: one walk per row
    if labels is not None:
        labels = labels.repeat_interleave(steps)  # each walk keeps its class
    return G.generate(len(z), labels=labels, z=z, truncation=truncation), steps


def mixing_sheet(G: Generator, n: int, crossover: int | None, label, gen, truncation: float = 1.0
                 ) -> tuple[torch.Tensor, int]:
    """StyleGAN's style-mixing figure (Karras et al. 2019, fig. 3): an (n + 1) x (n + 1) sheet.

    The first row shows n column samples B_j, the first column n row samples A_i (the corner is
    blank); cell (i, j) takes A_i's styles on layers before ``crossover`` (coarse: pose, shape) and
    B_j's from there on (fine: stroke, texture). A conditional model draws the whole sheet in one
    class (``label``, else one drawn with the training frequencies).
    """
    net = G.net
    k = net.num_ws // 2 if crossover is None else crossover
    if not 1 <= k <= net.num_ws - 1:
        raise ConfigError(f"--crossover must be between 1 and {net.num_ws - 1} (this G has {net.num_ws} style "
                          f"layers), got {crossover}")
    z_rows, z_cols = G.sample_z(n, gen), G.sample_z(n, gen)  # (n, z_dim) each
    labels = None
    if G.conditional:
        c = label if label is not None else int(G.sample_labels(1, gen)[0])
        labels = G.check_labels(c, n)  # (n,) all of class c; checks the range
    elif label is not None:
        raise ConfigError("this model is not conditional; sample without a class")
    with _eval(net):
        w_rows, w_cols = net.mapping(z_rows, labels, truncation), net.mapping(z_cols, labels, truncation)  # (n, w_dim)
        first = (torch.arange(net.num_ws, device=w_rows.device) < k)[None, None, :, None]  # (1, 1, num_ws, 1)
        cells = torch.where(first, w_rows[:, None, None, :], w_cols[None, :, None, :])  # (n, n, num_ws, w_dim)
        rows, cols = _synthesise(net, w_rows), _synthesise(net, w_cols)  # (n, C, H, W) each
        grid = _synthesise(net, cells.reshape(n * n, net.num_ws, -1)).view(n, n, *rows.shape[1:])
    top = torch.cat([torch.full_like(rows[:1], -1.0), cols])  # (n + 1, C, H, W): a black corner, then B_j
    body = torch.cat([rows[:, None], grid], dim=1).flatten(0, 1)  # (n (n + 1), C, H, W): A_i, then its cells
    return torch.cat([top, body]), n + 1


TRUNCATION_PSIS = (1.0, 0.85, 0.7, 0.5, 0.25, 0.0)


def truncation_sheet(G: Generator, n: int, psis=TRUNCATION_PSIS, label=None, gen=None) -> tuple[torch.Tensor, int]:
    """The truncation trick's figure (Karras et al. 2019, fig. 8): n rows, one latent each, and one
    column per psi in ``psis``: w = w_avg + psi (w - w_avg), from the sample itself (psi 1) to the
    average image (psi 0). A conditional model draws each row's class unless ``label`` is given."""
    z = G.sample_z(n, gen)  # (n, z_dim)
    labels = G.check_labels(label, n) if label is not None else G.sample_labels(n, gen)  # (n,) or None
    with _eval(G.net):
        ws = torch.stack([G.net.mapping(z, labels, psi) for psi in psis], dim=1)  # (n, len(psis), w_dim)
        return _synthesise(G.net, ws.flatten(0, 1)), len(psis)


class _eval:
    """Run a network in eval mode without gradients, restoring its mode afterwards."""

    def __init__(self, net):
        self.net, self.grad = net, torch.no_grad()

    def __enter__(self):
        self.was_training = self.net.training
        self.net.eval()
        self.grad.__enter__()

    def __exit__(self, *exc):
        self.grad.__exit__(*exc)
        self.net.train(self.was_training)


def _synthesise(net, ws: torch.Tensor, batch: int = 500) -> torch.Tensor:
    """Images (N, C, H, W) on the CPU from per-layer styles ws (N, num_ws, w_dim), or one w (N, w_dim)
    for every layer, in batches."""
    if ws.ndim == 2:
        ws = ws[:, None, :].expand(-1, net.num_ws, -1)  # (N, num_ws, w_dim)
    return torch.cat([net.synthesis(ws[i : i + batch]).float().cpu() for i in range(0, len(ws), batch)])


def class_sheet(G: Generator, per_class: int, gen, truncation: float = 1.0) -> tuple[torch.Tensor, int]:
    """One row per class with ``per_class`` samples each."""
    if not G.conditional:
        raise ConfigError("--sheet needs a conditional model (model.conditional=true)")
    labels = torch.arange(G.n_classes).repeat_interleave(per_class)
    return G.generate(len(labels), labels=labels, generator=gen, truncation=truncation), per_class


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
