"""The ``ganforge`` command: argument parsing only.

Each subcommand lives in its own module under :mod:`ganforge.commands`, which exposes
``add_parser(subparsers)``; the parser it adds sets ``func`` to a function taking the parsed
arguments and returning an exit code. User mistakes raise :class:`~ganforge.errors.GanforgeError`
and are printed here on one line, without a traceback; so is a full disk met anywhere (ENOSPC or
EDQUOT), and so are warnings.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from ganforge.errors import GanforgeError
from ganforge.fileio import is_disk_full

# One line per subcommand module, in the order `ganforge --help` lists them.
COMMAND_MODULES = [
    "ganforge.commands.train",
    "ganforge.commands.sample",
    "ganforge.commands.translate",
    "ganforge.commands.upscale",
    "ganforge.commands.tabular",
    "ganforge.commands.inpaint",
    "ganforge.commands.export",
    "ganforge.commands.augment",
    "ganforge.commands.presets",
    "ganforge.commands.lab",
    "ganforge.commands.data",
    "ganforge.commands.eval",
    "ganforge.commands.report",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as argparse does, but naming the program
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ganforge", description="Train, watch, trust and use GANs.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings as the CLI shows them: one line, no source location (they are for users)."""
    return f"ganforge: warning: {' '.join(str(message).split())}\n"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    previous_format = warnings.formatwarning
    warnings.formatwarning = _one_line_warning
    try:
        return int(args.func(args) or 0)
    except GanforgeError as e:
        print(f"ganforge: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        if not is_disk_full(e):
            raise
        # a write outside the guarded ones (stats.jsonl, a log); every writer cleans up after itself
        where = f" while writing {e.filename}" if e.filename else ""
        print(f"ganforge: error: disk full{where} ({e.strerror}); free some space, then "
              f"`ganforge train --resume RUN` continues a run from its last complete checkpoint", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ganforge: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = previous_format


if __name__ == "__main__":
    sys.exit(main())
