"""``ganforge tabular fit|sample|evaluate``: synthetic tables from a CSV.

    ganforge tabular fit data.csv --out runs/adult [--target income] [--metadata meta.json] [--epochs N]
    ganforge tabular sample runs/adult -n 10000 --out synth.csv [--condition workclass=Private]
"""

from __future__ import annotations

import sys
from pathlib import Path

from ganforge.errors import ConfigError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("tabular", help="fit a tabular GAN on a CSV, sample synthetic rows, evaluate them")
    sub = p.add_subparsers(dest="tabular_command", metavar="ACTION", parser_class=type(p))
    sub.required = True

    f = sub.add_parser("fit", help="infer column kinds, fit the transformer and train the GAN into a run directory")
    f.add_argument("csv", nargs="?", help="the table (CSV with a header line)")
    f.add_argument("--out", help="run directory to create (default runs/<csv name>)")
    f.add_argument("--target", help="the column a downstream model predicts (kept, and kept categorical)")
    f.add_argument("--metadata", help="JSON file of column kinds that overrides the inferred ones")
    f.add_argument("--epochs", type=int, help="passes over the rows (default 25)")
    f.add_argument("--seed", type=int, default=0, help="seed of the transformer and of training (default 0)")
    f.add_argument("--max-rows", type=int, default=None, help="fit on a random sample of at most this many rows "
                                                                "(default 1000000)")
    f.add_argument("--encoding", help="the CSV's text encoding (default UTF-8, Latin-1 with a warning)")
    f.add_argument("--continuous", choices=("bgm", "quantile"), help="how numbers are encoded (default bgm)")
    f.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="change a training setting, e.g. --set train.batch_size=1000 (repeatable)")
    f.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    f.add_argument("--resume", metavar="RUN", help="continue RUN from its last checkpoint (give the same CSV or none)")
    f.set_defaults(func=run_fit)

    s = sub.add_parser("sample", help="write synthetic rows of a fitted run to a CSV")
    s.add_argument("run", help="run directory written by `ganforge tabular fit`")
    s.add_argument("-n", type=int, default=1000, help="rows to write (default 1000)")
    s.add_argument("--out", required=True, help="CSV file to write")
    s.add_argument("--condition", help="column=value: every row has this value (categorical or boolean column)")
    s.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    s.set_defaults(func=run_sample)

    from ganforge.commands.tabular_evaluate import add_evaluate_parser

    add_evaluate_parser(sub)


def _overrides(items: list[str]) -> dict:
    from ganforge.config import _parse_set_args

    return dict(_parse_set_args(items))


def run_fit(args) -> int:
    from ganforge.tabular.csv import MAX_ROWS, read_csv
    from ganforge.tabular.fit import fit

    settings = _overrides(args.overrides)
    if args.continuous:
        settings["continuous"] = args.continuous
    max_rows = args.max_rows if args.max_rows is not None else MAX_ROWS
    if max_rows < 1:
        raise ConfigError(f"--max-rows must be >= 1, got {max_rows}")
    if args.resume:
        from ganforge.engine.rundir import read_run_config

        source = args.csv or read_run_config(args.resume).data.path
        if not source:
            raise ConfigError(f"give the CSV {args.resume} was fitted on: ganforge tabular fit data.csv --resume RUN")
        df = read_csv(source, max_rows=max_rows, seed=args.seed, encoding=args.encoding)
        out = fit(df, args.resume, epochs=args.epochs, resume=True, **settings)
    else:
        if not args.csv:
            raise ConfigError("tabular fit needs a CSV file: ganforge tabular fit data.csv --out runs/NAME")
        df = read_csv(args.csv, max_rows=max_rows, seed=args.seed, encoding=args.encoding)
        out = args.out or f"runs/{Path(args.csv).stem}"
        out = fit(df, out, target=args.target, metadata=args.metadata, epochs=args.epochs, seed=args.seed,
                  overwrite=args.overwrite, source=str(Path(args.csv).resolve()), **settings)
    print(f"run directory: {out}\nsample with:   ganforge tabular sample {out} -n 1000 --out synth.csv")
    return 0


def run_sample(args) -> int:
    from ganforge.fileio import atomic_path, disk_full_as_error
    from ganforge.tabular.sample import TabularModel

    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise ConfigError(f"{out} already exists; use --overwrite to replace it")
    if out.suffix.lower() != ".csv":
        raise ConfigError(f"--out must name a .csv file, got {out}")
    model = TabularModel(args.run)
    rows = model.sample(args.n, condition=args.condition, seed=args.seed)
    with disk_full_as_error(str(out), out.parent), atomic_path(out) as tmp:
        rows.to_csv(tmp, index=False)
    what = f" with {args.condition}" if args.condition else ""
    print(f"wrote {len(rows)} rows{what} of {args.run} (round {model.step}) to {out}", file=sys.stderr)
    return 0
