"""``ganforge lab``: watch and steer a GAN learning, live in the browser."""

from __future__ import annotations

from pathlib import Path


def add_parser(subparsers) -> None:
    """Add the ``lab`` subcommand."""
    p = subparsers.add_parser(
        "lab",
        help="open the lab: train a 2D/1D GAN and watch it learn, live in the browser",
        description=(
            "Start a local web server with one page that trains a small GAN on a 2D or 1D target and "
            "streams what happens: samples, D's decision surface, G's latent mesh, gradients, losses "
            "and diagnostics. Every setting can be changed while it trains."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free port)")
    p.add_argument("--no-browser", action="store_true", help="print the address instead of opening a browser")
    p.add_argument("--workspace", type=Path, default=None,
                   help="folder for saved experiments (default $GANFORGE_CACHE/lab or ~/.cache/ganforge/lab)")
    p.add_argument("--max-sessions", type=int, default=4, help="most pages training at once (default 4)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Serve the lab until Ctrl+C."""
    from ganforge.errors import ConfigError
    from ganforge.lab.server import serve

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {args.port}")
    if not 1 <= args.max_sessions <= 64:
        raise ConfigError(f"--max-sessions must be in 1..64, got {args.max_sessions}")
    try:
        return serve(args.host, args.port, open_browser=not args.no_browser, workspace=args.workspace,
                     max_sessions=args.max_sessions)
    except OSError as e:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}") from None
