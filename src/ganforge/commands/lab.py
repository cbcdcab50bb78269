"""``ganforge lab``: watch and steer a GAN learning, live in the browser."""

from __future__ import annotations

from pathlib import Path

from ganforge.lab import DEFAULT_MAX_BYTES, DEFAULT_MAX_EXPERIMENTS


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
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the "
                        "network, guarded by the token in the printed address)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free port)")
    p.add_argument("--no-browser", action="store_true", help="print the address instead of opening a browser")
    p.add_argument("--workspace", type=Path, default=None,
                   help="folder for saved experiments (default $GANFORGE_CACHE/lab or ~/.cache/ganforge/lab)")
    p.add_argument("--max-sessions", type=int, default=4, help="most pages training at once (default 4)")
    p.add_argument("--max-experiments", type=int, default=DEFAULT_MAX_EXPERIMENTS,
                   help=f"most saved experiments in the workspace (default {DEFAULT_MAX_EXPERIMENTS})")
    p.add_argument("--max-workspace-mb", type=float, default=DEFAULT_MAX_BYTES / 2**20,
                   help=f"most megabytes the workspace may hold; saves beyond are refused "
                        f"(default {DEFAULT_MAX_BYTES // 2**20})")
    p.set_defaults(func=run)


def run(args) -> int:
    """Serve the lab until Ctrl+C."""
    from ganforge.errors import ConfigError
    from ganforge.lab.experiments import Quota
    from ganforge.lab.server import serve

    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {args.port}")
    if not 1 <= args.max_sessions <= 64:
        raise ConfigError(f"--max-sessions must be in 1..64, got {args.max_sessions}")
    if not 1 <= args.max_experiments <= 100_000:
        raise ConfigError(f"--max-experiments must be in 1..100000, got {args.max_experiments}")
    if not 1 <= args.max_workspace_mb <= 10**7:
        raise ConfigError(f"--max-workspace-mb must be in 1..10000000, got {args.max_workspace_mb}")
    quota = Quota(max_experiments=args.max_experiments, max_bytes=int(args.max_workspace_mb * 2**20))
    try:
        return serve(args.host, args.port, open_browser=not args.no_browser, workspace=args.workspace,
                     max_sessions=args.max_sessions, quota=quota)
    except OSError as e:
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {e.strerror or e}") from None
