"""``ganforge presets``: list the named configurations."""

from __future__ import annotations

from ganforge.presets import PRESETS


def add_parser(sub) -> None:
    p = sub.add_parser("presets", help="list presets with one-line descriptions")
    p.set_defaults(func=run)


def run(args) -> int:
    width = max(len(name) for name in PRESETS)
    for name, (description, _) in PRESETS.items():
        print(f"{name:<{width}}  {description}")
    return 0
