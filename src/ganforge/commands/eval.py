"""``ganforge eval``: compute metrics for a run's checkpoint(s) and append them to metrics.jsonl."""

from __future__ import annotations

import sys

from ganforge.errors import ConfigError


def add_parser(sub) -> None:
    from ganforge.metrics.evaluate import METRICS

    listing = "; ".join(f"{k}: {v}" for k, v in METRICS.items())
    p = sub.add_parser(
        "eval", help="compute metrics (FID, KID, precision/recall, mode coverage, ...) for a run",
        description="Evaluate a run's generator and append each metric, with its provenance (sample "
                    "counts, feature extractor and hash, reference data and hash, resizing, seed), to "
                    f"RUN/metrics.jsonl. Metrics: {listing}.")
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("--metrics", default="", help="comma-separated metric names (default: all that apply to the data)")
    p.add_argument("-n", "--n", dest="n", type=int, default=None,
                   help="generated samples (default 2500 for points, 10000 for images)")
    p.add_argument("--n-real", type=int, default=None, help="real samples for the reference (default: as -n)")
    p.add_argument("--features", default="",
                   help="feature extractors for fid/kid/prdc on images: inception, mnist or both "
                        "comma-separated (default: mnist for 28x28 digits, inception otherwise)")
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
    from ganforge.metrics.evaluate import evaluate_run

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
