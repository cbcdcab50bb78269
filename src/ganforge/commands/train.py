"""``ganforge train``: start a run from a preset, or resume one.

The run directory is locked for the whole run (:class:`~ganforge.engine.rundir.RunLock`; with
several processes only rank 0 holds it), so a second ``train`` into the same run stops with one
line naming the process that has it, and what a killed run left half-written is removed first.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ganforge.config import Config
from ganforge.engine import Trainer
from ganforge.engine.rundir import (
    RunLock,
    create_run_dir,
    read_run_config,
    remove_run_leftovers,
    run_checkpoint,
    write_config,
)
from ganforge.errors import ConfigError, DiskFullError
from ganforge.presets import load_preset


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a GAN (from a preset, or resume a run)",
                       description="Train a GAN from a preset, or continue a run with --resume.")
    p.add_argument("--preset", help="starting configuration (see `ganforge presets`)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in directory RUN from its latest checkpoint")
    p.add_argument("--out", metavar="RUN", help="run directory to create (default runs/PRESET)")
    p.add_argument("--steps", type=int, help="train to this many rounds in total (same as --set train.steps=N)")
    p.add_argument("--seed", type=int, help="random seed of the run (same as --set train.seed=N)")
    p.add_argument("--data-dir", help="where to look for datasets (same as --set data.data_dir=DIR)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one setting, e.g. --set optim.lr_d=4e-4 (repeatable)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    p.add_argument("--dry-run", action="store_true", help="print the resolved configuration and do nothing")
    p.add_argument("--no-report", action="store_true", help="do not write report.html at the end")
    p.set_defaults(func=run)


def resolve_config(args) -> Config:
    """The configuration the arguments describe (preset or resumed run, then overrides)."""
    if args.resume and args.preset:
        raise ConfigError("give either --preset (a new run) or --resume RUN, not both")
    if args.resume:
        cfg = read_run_config(args.resume)
    elif args.preset:
        cfg = load_preset(args.preset)
    else:
        raise ConfigError("train needs --preset NAME or --resume RUN (see `ganforge presets`)")
    overrides = list(args.overrides)
    if args.steps is not None:
        overrides.append(f"train.steps={args.steps}")
    if args.seed is not None:
        overrides.append(f"train.seed={args.seed}")
    if args.data_dir:
        overrides.append(f"data.data_dir={args.data_dir}")
    return cfg.with_overrides(overrides) if overrides else cfg


def _callbacks(run_dir, cfg: Config, report: bool) -> list:
    """Callbacks every CLI run gets: the diagnostics monitor, then the end-of-run report."""
    from ganforge.report import run_callbacks

    return run_callbacks(run_dir, cfg, report=report)


def run(args) -> int:
    cfg = resolve_config(args)
    if args.dry_run:
        print(cfg.to_json())
        return 0
    lock = None
    try:
        if args.resume:
            run_dir = Path(args.resume)
            run_checkpoint(run_dir)  # fail early, before building anything, when there is none
            trainer = Trainer(cfg, run_dir=run_dir, distributed=True)
            if trainer.dist.is_main:  # claim the run before anything in it is read or written
                lock = RunLock(run_dir).acquire()
                remove_run_leftovers(run_dir)
                trainer.callbacks = _callbacks(run_dir, cfg, not args.no_report)
            trainer.load_checkpoint(run_checkpoint(run_dir))
            if trainer.step_count >= cfg.train.steps:
                print(f"run {run_dir} is already at round {trainer.step_count} (>= {cfg.train.steps}); "
                      f"give --steps N with N larger to continue", file=sys.stderr)
                return 0
            if trainer.dist.is_main:
                write_config(trainer.run_dir, cfg)
                print(f"resuming {run_dir} from round {trainer.step_count} to {cfg.train.steps}", file=sys.stderr)
        else:
            run_dir = args.out or f"runs/{cfg.preset or 'run'}"
            # build everything before touching the disk, so a bad setting leaves no directory behind
            trainer = Trainer(cfg, run_dir=None, distributed=True)
            if trainer.dist.is_main:
                lock = RunLock(run_dir)
                create_run_dir(run_dir, cfg, overwrite=args.overwrite, lock=lock)
                trainer.callbacks = _callbacks(run_dir, cfg, not args.no_report)
                procs = f" x {trainer.dist.world} processes" if trainer.dist.world > 1 else ""
                print(f"training {cfg.preset or 'custom'} on {trainer.device_description()}{procs} for {cfg.train.steps} rounds "
                      f"into {run_dir}", file=sys.stderr)
            trainer.dist.barrier()  # the other ranks wait until the run directory exists
            trainer.run_dir = Path(run_dir)
        try:
            trainer.run()
        except DiskFullError as e:
            raise DiskFullError(f"{e} (the run continues from its last complete checkpoint with "
                                f"`ganforge train --resume {run_dir}`)") from None
    finally:
        if lock is not None:
            lock.release()
    if trainer.dist.is_main:
        print(summary(trainer))
    return 0


def summary(trainer: Trainer) -> str:
    run_dir = trainer.run_dir
    lines = [f"run directory: {run_dir}",
             f"checkpoint:    {trainer.last_checkpoint}",
             f"samples:       {sorted((run_dir / 'samples').glob('*.png'))[-1]}",
             f"loss plot:     {run_dir / 'loss.png'}"]
    if (run_dir / "report.html").is_file():
        lines.append(f"report:        {run_dir / 'report.html'}")
    return "\n".join(lines)
