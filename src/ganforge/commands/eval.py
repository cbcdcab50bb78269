"""``ganforge eval``: compute metrics for a run's checkpoint(s) and append them to metrics.jsonl."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import torch

from ganforge.errors import ConfigError, RunDirError


def add_parser(sub) -> None:
    from ganforge.metrics.evaluate import METRICS
    from ganforge.metrics.translation import TRANSLATION_METRICS

    listing = "; ".join(f"{k}: {v}" for k, v in METRICS.items())
    translation = "; ".join(f"{k}: {v}" for k, v in TRANSLATION_METRICS.items())
    p = sub.add_parser(
        "eval", help="compute metrics (FID, KID, precision/recall, mode coverage, ...) for a run",
        description="Evaluate a run's generator and append each metric, with its provenance (sample "
                    "counts, feature extractor and hash, reference data and hash, resizing, seed), to "
                    f"RUN/metrics.jsonl. Metrics: {listing}. A pix2pix or CycleGAN run is scored on its "
                    f"dataset's test split, each output against its target: {translation}.")
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("--metrics", default="", help="comma-separated metric names (default: all that apply to the data)")
    p.add_argument("-n", "--n", dest="n", type=int, default=None,
                   help="generated samples (default 2500 for points, 10000 for images); translators: the "
                        "first N test pairs (default all)")
    p.add_argument("--n-real", type=int, default=None, help="real samples for the reference (default: as -n)")
    p.add_argument("--features", default="",
                   help="feature extractors for fid/kid/prdc on images: inception, mnist or both "
                        "comma-separated (default: mnist for 28x28 digits, inception otherwise); c2st runs "
                        "on pixels and, when this is given, on each extractor named (c2st_mnist, ...)")
    p.add_argument("--inception", metavar="PATH", default=None,
                   help="Inception TorchScript file (default: $GANFORGE_DATA/inception, the cache, else download)")
    p.add_argument("--no-download", action="store_true", help="never download the Inception weights")
    p.add_argument("--checkpoint", default="latest",
                   help="'latest' (default), 'all' (every kept checkpoint: metrics over time) or a checkpoint name")
    p.add_argument("--seed", type=int, default=0, help="seed of the latent noise and the real subset (default 0)")
    p.add_argument("--no-ema", action="store_true", help="evaluate G itself rather than its moving average")
    p.add_argument("--no-cache", action="store_true", help="recompute the real reference features")
    p.add_argument("--data-dir", default=None, help="where to find the run's dataset")
    p.add_argument("--reference-split", choices=("train", "test"), default=None,
                   help="compare images against this split of the run's dataset (FID protocol: test; "
                        "default: the split the run trained on)")
    p.set_defaults(func=run)


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def run(args) -> int:
    for name, value in (("-n", args.n), ("--n-real", args.n_real)):
        if value is not None and value < 10:
            raise ConfigError(f"{name} must be >= 10, got {value}")
    lines = evaluate_run(
        args.run, _split(args.metrics) or None, checkpoint=args.checkpoint, data_dir=args.data_dir,
        n=args.n, n_real=args.n_real, features=_split(args.features) or None, inception_path=args.inception,
        seed=args.seed, ema=not args.no_ema, download=not args.no_download, use_cache=not args.no_cache,
        progress=sys.stderr.isatty(), reference_split=args.reference_split,
    )
    print(format_lines(lines))
    print(f"appended {len(lines)} line(s) to {args.run}/metrics.jsonl")
    return 0


def evaluate_run(run_dir, metrics=None, checkpoint: str = "latest", write: bool = True, data_dir=None,
                 n: int | None = None, seed: int = 0, ema: bool = True, reference_split: str | None = None,
                 **kwargs) -> list[dict]:
    """Evaluate a run's checkpoint(s) and append the lines to ``run_dir/metrics.jsonl``.

    checkpoint: "latest", "all" (every kept checkpoint, oldest first: metrics over time) or a
    checkpoint name or directory. Each checkpoint's generator is loaded on its own
    (:func:`ganforge.load_generator`); the run's dataset is loaded once, as the reference
    (``reference_split``: another split of it, e.g. ``test`` for the usual FID protocol).
    n: generated samples (default 2,500 for points, as the mode-coverage protocol; 10,000 for
    images); the seed fixes the latent noise and the real subset. Other keyword arguments go to
    :func:`ganforge.metrics.evaluate.evaluate_samples`.
    """
    from ganforge.data import is_point_data, load_dataset
    from ganforge.engine.checkpoint import list_checkpoints
    from ganforge.engine.generator import checkpoint_step, load_generator
    from ganforge.engine.rundir import read_run_config, run_checkpoint
    from ganforge.metrics.evaluate import check_metrics, evaluate_samples, reference_dataset
    from ganforge.metrics.record import append_metrics

    run_dir = Path(run_dir)
    cfg = read_run_config(run_dir)  # a clear error when RUN is not a run directory
    if checkpoint == "latest":
        paths = [run_checkpoint(run_dir)]
    elif checkpoint == "all":
        paths = list_checkpoints(run_dir / "checkpoints")
        if not paths:
            raise RunDirError(f"run {run_dir} has no complete checkpoint to evaluate")
    else:
        p = Path(checkpoint)
        paths = [p if (p / "state.json").is_file() else run_dir / "checkpoints" / checkpoint]
        if not (paths[0] / "state.json").is_file():
            raise RunDirError(f"checkpoint {checkpoint} not found in {run_dir / 'checkpoints'}")
    if cfg.model.game in ("pix2pix", "cyclegan"):  # a translator: scored on its test split's pairs
        from ganforge.metrics.translation import evaluate_translator_checkpoints

        return evaluate_translator_checkpoints(run_dir, cfg, paths, metrics, write=write, data_dir=data_dir, n=n,
                                               seed=seed, ema=ema, reference_split=reference_split, **kwargs)
    if cfg.model.game == "tabular":  # rows of a table: scored by `ganforge tabular evaluate`
        from ganforge.engine.generator import tabular_refusal

        raise ConfigError(tabular_refusal(run_dir))
    if cfg.model.game == "molgan":  # molecules: scored with RDKit (ganforge.molecules.evaluate)
        from ganforge.molecules.evaluate import evaluate_molecule_checkpoints

        return evaluate_molecule_checkpoints(run_dir, cfg, paths, metrics, write=write, data_dir=data_dir, n=n,
                                             seed=seed, ema=ema, **kwargs)
    if metrics and {"accuracy", "cas"} & set(metrics):  # classification scores on the test split
        from ganforge.metrics.accuracy import evaluate_label_metrics

        return evaluate_label_metrics(run_dir, cfg, paths, metrics, write=write, data_dir=data_dir, n=n, seed=seed,
                                      ema=ema)
    data_cfg = cfg.data
    if data_dir:
        data_cfg = dataclasses.replace(data_cfg, data_dir=str(data_dir))
    if reference_split is not None and reference_split != data_cfg.split:
        data = reference_dataset(data_cfg, reference_split)
    else:
        data = load_dataset(dataclasses.replace(data_cfg, clusters=0))
    check_metrics(metrics, data)  # a bad name fails before any generator runs
    n = n or (2500 if is_point_data(data) else 10000)
    all_lines = []
    for path in paths:
        G = load_generator(path, ema=ema)
        fake = G.generate(n, generator=torch.Generator().manual_seed(seed))  # (n, dim) or (n, C, H, W)
        step = checkpoint_step(path)
        lines = evaluate_samples(fake, data, metrics, seed=seed, step=step, device=G.device,
                                 ema=ema and _has_ema(path), **kwargs)
        for line in lines:
            line["provenance"]["checkpoint"] = path.name
        if write:
            append_metrics(run_dir, lines)
        all_lines += lines
    return all_lines


def _has_ema(checkpoint: Path) -> bool:
    """Whether a checkpoint holds G_ema (so an EMA evaluation really used it)."""
    return (checkpoint / "G_ema.safetensors").is_file()


def format_lines(lines: list[dict]) -> str:
    """A small text table: checkpoint, metric, value, features, sample counts."""
    rows = [("checkpoint", "metric", "value", "features", "fake/real")]
    for line in lines:
        p = line["provenance"]
        v = line["value"]
        rows.append((str(p.get("checkpoint", line["step"])), line["metric"],
                     f"{v:.5g}" if isinstance(v, (int, float)) else str(v), str(p.get("features")).split(" ")[0],
                     f"{p.get('n_fake')}/{p.get('n_real')}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
