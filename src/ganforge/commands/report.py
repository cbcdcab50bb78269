"""``ganforge report``: write a run's self-contained report.html."""

from __future__ import annotations


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report", help="write a run's report.html (plots, samples, metrics, alerts)",
        description="Write RUN/report.html: one self-contained page (pictures embedded, opens offline) "
                    "with the losses, D(x) and D(G(z)) against 0.5, V(D,G) against -log 4, metrics over "
                    "time with provenance, samples over time, D's decision surface for 2D data, and the "
                    "alerts with their explanations.")
    p.add_argument("run", metavar="RUN", help="run directory")
    p.add_argument("--out", default=None, help="output file (default RUN/report.html)")
    p.add_argument("--no-surfaces", action="store_true",
                   help="skip the 2D decision-surface plots (they load the kept checkpoints)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ganforge.report import write_report

    path = write_report(args.run, out=args.out, surfaces=not args.no_surfaces)
    print(f"wrote {path}")
    return 0
