"""``ganforge tabular evaluate``: score a synthetic table against the real one.

    ganforge tabular evaluate data.csv synth.csv [--test test.csv --target income] [--out report.html]

Prints the headline figures (quality, efficacy, privacy; see :mod:`ganforge.tabular.evaluate`),
and writes the HTML report (``--out``) and the full result as JSON (``--json``). The parser is
added under ``ganforge tabular`` by :mod:`ganforge.commands.tabular`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganforge.errors import ConfigError


def add_evaluate_parser(subparsers) -> None:
    """Add ``evaluate`` to the ``ganforge tabular`` subcommands."""
    from ganforge.tabular.efficacy import DEFAULT_MODELS, MODELS

    p = subparsers.add_parser(
        "evaluate", help="score a synthetic table against the real one (quality, efficacy, privacy)",
        description="Column shapes, column-pair trends and overall quality as SDMetrics' Quality Report "
                    "defines them; with --test and --target, classifiers trained on the synthetic rows and "
                    "on the real rows, tested on the real hold-out rows; distance to closest record and "
                    "exact copies of training rows.")
    p.add_argument("data", help="the real training table (CSV) the synthetic rows imitate")
    p.add_argument("synth", help="the synthetic table (CSV) with the same columns")
    p.add_argument("--test", help="real hold-out rows (CSV) the generator never saw: efficacy and the DCR baseline")
    p.add_argument("--target", help="the column classifiers predict (needs --test)")
    p.add_argument("--metadata", help="JSON of the column kinds (as `tabular fit` writes it); default: inferred")
    p.add_argument("--out", help="write the HTML report here")
    p.add_argument("--json", help="write every figure as JSON here")
    p.add_argument("--classifiers", default=",".join(DEFAULT_MODELS),
                   help=f"comma-separated, from {', '.join(MODELS)} (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="classifiers' seed and the DCR row sample (default 0)")
    p.add_argument("--privacy-rows", type=int, default=5000,
                   help="synthetic and hold-out rows whose distance to closest record is computed (0: all)")
    p.set_defaults(func=run_evaluate)


def _read(path: str):
    from ganforge.tabular.csv import read_csv

    return read_csv(path)


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate ``args.synth`` against ``args.data``; print, and write the report and JSON if asked."""
    from ganforge.fileio import atomic_write_text, disk_full_as_error, to_json
    from ganforge.tabular.efficacy import MODELS
    from ganforge.tabular.evaluate import evaluate, summary_lines

    models = tuple(m.strip() for m in args.classifiers.split(",") if m.strip())
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise ConfigError(f"--classifiers {args.classifiers!r}: unknown {', '.join(unknown) or '(none given)'}; "
                          f"valid classifiers: {', '.join(MODELS)}")
    if args.privacy_rows < 0:
        raise ConfigError(f"--privacy-rows must be >= 0 (0: all rows), got {args.privacy_rows}")
    if args.target is not None and args.test is None:
        raise ConfigError("--target needs --test: classifiers train on the synthetic rows and are tested on real "
                          "hold-out rows")
    for flag, out in (("--out", args.out), ("--json", args.json)):
        if out and not Path(out).expanduser().parent.is_dir():  # checked before minutes of scoring
            raise ConfigError(f"{flag} {out}: the folder {Path(out).parent} does not exist")
    metadata = None
    if args.metadata:
        from ganforge.tabular.columns import load_metadata

        metadata = load_metadata(args.metadata)
    real, synth = _read(args.data), _read(args.synth)
    test = _read(args.test) if args.test else None
    result = evaluate(real, synth, test, args.target, metadata, models=models, seed=args.seed,
                      privacy_rows=args.privacy_rows, keep_distances=bool(args.out))
    for line in summary_lines(result):
        print(line)
    if args.out:
        from ganforge.tabular.report import write_report

        path = write_report(args.out, result, real, synth, title=f"Synthetic table report: {args.synth}")
        print(f"report: {path}")
    if args.json:
        result["privacy"].pop("distances", None)
        with disk_full_as_error(f"the result {args.json}", Path(args.json).parent):
            atomic_write_text(args.json, to_json(result, indent=2) + "\n")
        print(f"figures: {args.json}")
    return 0
