"""The run loop: train to a number of rounds, writing the run directory through callbacks.

:func:`run` calls ``trainer.step()`` until the target round, and after each round gives the
round's statistics to a list of run callbacks, each with one job: the stats log (stats.jsonl,
TensorBoard, the user's ``on_log`` callbacks), sample pictures, checkpoints and the progress bar.
Each has ``on_round(trainer, stats)`` and ``on_end(trainer)``. Only rank 0 writes files.
"""

from __future__ import annotations

import sys
from pathlib import Path


from ganforge.engine import checkpoint as ckpt
from ganforge.engine.stats import RunningMeans
from ganforge.errors import ConfigError
from ganforge.fileio import append_json_line, atomic_write_text, to_json


def run(tr, steps: int | None = None) -> dict[str, float]:
    """Train ``tr`` until ``steps`` rounds in total (default ``train.steps``), writing its run directory.

    Returns the last stats line written.
    """
    if tr.run_dir is None:
        raise ConfigError("Trainer.run() needs a run directory; use step() to train in memory")
    target = steps or tr.cfg.train.steps
    main = tr.dist.is_main
    if main:
        tr.run_dir.mkdir(parents=True, exist_ok=True)
    log = StatsLog(tr, main)
    callbacks = [Progress(tr, target, main, log), log, Checkpoints(tr)] + ([Samples(tr)] if main else [])
    try:
        while tr.step_count < target:
            stats = tr.step()
            for cb in callbacks:
                cb.on_round(tr, stats, target)
    finally:
        for cb in callbacks:
            cb.close()
    for cb in callbacks:
        cb.on_end(tr)
    if main:
        for cb in tr.callbacks:
            if hasattr(cb, "on_end"):
                cb.on_end(tr)
    return log.last_line


class RunCallback:
    """A job of the run loop: ``on_round`` after every round, ``on_end`` after the last, ``close``
    in every case (also when training fails)."""

    def on_round(self, tr, stats: dict, target: int) -> None:
        pass

    def on_end(self, tr) -> None:
        pass

    def close(self) -> None:
        pass


class StatsLog(RunCallback):
    """stats.jsonl: one line of mean statistics every ``train.log_every`` rounds (and at the end);
    also TensorBoard and the user's ``on_log`` callbacks. A resumed run first drops the lines past
    its checkpoint, so the file always describes one trajectory."""

    def __init__(self, tr, main: bool):
        self.every = tr.cfg.train.log_every
        self.main = main
        self.path = tr.run_dir / "stats.jsonl"
        self.running = RunningMeans()
        self.last_line: dict = {}
        self.listeners: list = []  # called with each line: the progress bar's postfix
        self.tb = None
        if main:
            truncate_stats(self.path, tr.step_count)
            if tr.cfg.train.tensorboard:
                self.tb = tensorboard_writer_class()(str(tr.run_dir / "tensorboard"))

    def on_round(self, tr, stats, target) -> None:
        self.running.add(stats)
        s = tr.step_count
        if s % self.every and s != target:
            return
        self.last_line = {"step": s, **self.running.pop()}
        if not self.main:
            return
        append_json_line(self.path, self.last_line)
        for listener in self.listeners:
            listener(self.last_line)
        if self.tb is not None:
            for k, v in self.last_line.items():
                if k != "step" and isinstance(v, (int, float)):
                    self.tb.add_scalar(k, v, s)
        for cb in tr.callbacks:
            if hasattr(cb, "on_log"):
                cb.on_log(tr, self.last_line)

    def on_end(self, tr) -> None:
        if self.main:
            from ganforge.viz import plot_training_curves

            plot_training_curves(self.path, tr.run_dir / "loss.png")

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
            self.tb = None


class Samples(RunCallback):
    """A picture of G's samples every ``train.sample_every`` rounds and at the end (rank 0)."""

    def __init__(self, tr):
        self.every = tr.cfg.train.sample_every

    def on_round(self, tr, stats, target) -> None:
        if self.every and tr.step_count % self.every == 0:
            save_samples(tr)

    def on_end(self, tr) -> None:
        save_samples(tr)


class Checkpoints(RunCallback):
    """A checkpoint every ``train.checkpoint_every`` rounds and at the end. Rank 0 writes it; the
    other ranks wait for it and remember its path."""

    def __init__(self, tr):
        self.every = tr.cfg.train.checkpoint_every

    def on_round(self, tr, stats, target) -> None:
        if self.every and tr.step_count % self.every == 0:
            self.write(tr)

    def on_end(self, tr) -> None:
        if tr.last_checkpoint is None or tr.last_checkpoint.name != ckpt.step_dir_name(tr.step_count):
            self.write(tr)

    @staticmethod
    def write(tr) -> None:
        if tr.dist.is_main:
            tr.save_checkpoint()
        else:
            tr.last_checkpoint = tr.run_dir / "checkpoints" / ckpt.step_dir_name(tr.step_count)
        tr.dist.barrier()


class Progress(RunCallback):
    """A tqdm bar with rate and ETA, the last losses and the number of CPU threads training."""

    def __init__(self, tr, target: int, main: bool, log: StatsLog):
        from tqdm import tqdm

        # on a terminal the bar redraws in place; in a log file a line every 30 s is plenty
        interval = 0.1 if sys.stderr.isatty() else 30.0
        desc = tr.device_description()
        self.bar = tqdm(total=target, initial=tr.step_count, disable=not (tr.cfg.train.progress and main),
                        unit="round", dynamic_ncols=True, leave=False, mininterval=interval, desc=desc)
        log.listeners.append(self.show)

    def show(self, line: dict) -> None:
        post = {k: f"{line[k]:.3f}" for k in ("d_loss", "g_loss") if isinstance(line.get(k), float)}
        self.bar.set_postfix(post, refresh=False)

    def on_round(self, tr, stats, target) -> None:
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def save_samples(tr) -> Path:
    """The game's picture of this round in RUN/samples/ (a sample grid, a scatter, or translations)."""
    path = tr.run_dir / "samples" / f"{ckpt.step_dir_name(tr.step_count)}.png"
    return tr.game.save_samples(tr, path)


def truncate_stats(path: Path, step: int) -> None:
    """Drop stats lines past ``step``: a resumed run rewrites what came after its checkpoint."""
    from ganforge.viz import read_jsonl

    if not path.is_file():
        return
    rows = read_jsonl(path)
    keep = [r for r in rows if isinstance(r.get("step"), int) and r["step"] <= step]
    if len(keep) != len(rows) or not path.read_text().endswith("\n") and path.stat().st_size:
        atomic_write_text(path, "".join(to_json(r) + "\n" for r in keep))


def tensorboard_writer_class():
    """TensorBoard's SummaryWriter, or a one-line error when the package is missing."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("train.tensorboard needs the tensorboard package: pip install tensorboard") from None
    return SummaryWriter
