"""The Trainer: one engine for the CLI, the lab and notebooks.

It builds the data, G, D, EMA, optimizers and regularisers from a :class:`Config`, and gives
them to the jobs that live in their own modules: the round (:mod:`ganforge.engine.round`), the run
loop with its files (:mod:`ganforge.engine.loop`), checkpoints and resume
(:mod:`ganforge.engine.state`), optimizers and schedules (:mod:`ganforge.engine.optim`).

    trainer = Trainer(load_preset("ring8"))
    for _ in range(100):
        stats = trainer.step()          # {"d_loss": ..., "g_loss": ..., "value": ..., ...}
    points = trainer.generate(1000)     # (1000, 2)
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path

import torch

from ganforge.config import Config
from ganforge.data import is_point_data, load_dataset
from ganforge.engine import loop, round, state
from ganforge.engine.augment_pipe import AugmentPipe
from ganforge.engine.batches import make_stream
from ganforge.engine.device import select_device
from ganforge.engine.distributed import DistInfo, wrap
from ganforge.engine.distributed import setup as dist_setup
from ganforge.engine.generator import Discriminator, Generator
from ganforge.engine.optim import lr_factor, make_optimizer, set_lr
from ganforge.engine.regularizers import build_regularizers, due
from ganforge.engine.stats import StatsCollector
from ganforge.errors import ConfigError, TrainingDiverged
from ganforge.games import make_game
from ganforge.objectives import get_objective


def thread_count(cfg: Config, device: torch.device) -> int:
    """Torch CPU threads to train with: ``train.threads`` when set; otherwise 1 for the small MLPs
    of point data on a CPU (their matrices are too small to share, and with anything else running
    two threads were measured 5-10x slower than one), else torch's default."""
    if cfg.train.threads > 0:
        return cfg.train.threads
    if device.type == "cpu" and cfg.model.arch == "mlp":
        return 1
    return torch.get_num_threads()


class Trainer:
    """Builds data, G, D, objective and optimizers from a :class:`Config` and trains them.

    ``run_dir`` None keeps everything in memory (the lab, notebooks); otherwise ``run()`` writes
    stats, samples and checkpoints there. ``dataset`` replaces the one ``cfg.data`` names (for
    example points a user drew). ``callbacks`` are objects with optional ``on_round(trainer,
    stats)``, ``on_log(trainer, line)`` and ``on_end(trainer)`` methods. ``distributed`` joins the
    process group of a ``torchrun`` launch (see :mod:`ganforge.engine.distributed`).

    Counters: ``step_count`` rounds, ``d_updates`` and ``g_updates`` single updates; a G update
    ends a round. All three are saved in checkpoints.
    """

    def __init__(self, cfg: Config, run_dir: str | Path | None = None, callbacks=(), dataset=None,
                 distributed: bool = False):
        self.cfg = cfg
        t = cfg.train
        self.device = select_device(t.device)
        torch.set_num_threads(thread_count(cfg, self.device))
        # multi-process training is opt-in: a trainer built only to evaluate must not join the
        # process group of a torchrun launch
        self.dist = dist_setup(self.device) if distributed else DistInfo()
        self.callbacks = list(callbacks) if self.dist.is_main else []
        if self.dist.world > 1 and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        cfg.validate()  # configurations built or changed by hand are checked like --set ones
        if self.dist.world > 1 and t.batch_size % (cfg.model.pack * self.dist.world):
            raise ConfigError(f"train.batch_size ({t.batch_size}) must be divisible by model.pack ({cfg.model.pack})"
                              f" times the number of processes ({self.dist.world})")
        if self.dist.world > 1 and cfg.model.d_norm == "batch":
            raise ConfigError(f"model.d_norm batch trains in one process only ({self.dist.world} were started): each "
                              f"would normalise D by its own slice of the batch; set model.d_norm=none")
        self.run_dir = Path(run_dir) if run_dir is not None else None

        self.data = dataset if dataset is not None else load_dataset(cfg.data)
        self.game = make_game(cfg, self.data)
        # the networks' description, saved in every checkpoint so G loads without the data
        self.spec = self.game.spec()
        with torch.random.fork_rng(devices=[]):  # seeded initialisation, the same whatever ran before
            torch.manual_seed(t.seed)
            self.nets = self.game.build(self.spec)
        if cfg.model.init_from:  # fine-tuning: the G side starts from another run's trained weights
            from ganforge.engine.generator import init_from_run

            init_from_run(self.nets, self.game.g_side, cfg.model.init_from)
        # train.seed also seeds the process: two identical runs save identical checkpoints, RNG included
        torch.manual_seed(t.seed)
        for net in self.nets.values():
            net.to(self.device)
        # exponential moving averages of the game's chosen networks (G_ema for the GAN game)
        self.ema_nets = ({name: copy.deepcopy(self.nets[name]).eval().requires_grad_(False) for name in self.game.ema}
                         if cfg.optim.ema > 0 else {})
        # the modules that take training steps: DDP wrappers when several processes train together
        self.train_nets = {name: wrap(net, self.dist, self.device) for name, net in self.nets.items()}
        if t.compile:
            self.train_nets = {name: torch.compile(net) for name, net in self.train_nets.items()}
        if t.tensorboard:
            loop.tensorboard_writer_class()  # fail now, before any file is written, if it is missing
        self.objective = get_objective(cfg.loss.name)
        self.regularizers = build_regularizers(cfg.loss, self.objective)
        o = cfg.optim
        self.opt_g = make_optimizer(o.g, self._side_params(self.game.g_side), o.lr_g, o)
        # a game without a D side (an L1-only baseline) has no D optimizer and no D updates
        self.opt_d = make_optimizer(o.d, self._side_params(self.game.d_side), o.lr_d, o) if self.game.d_side else None
        self.noise_gen = torch.Generator(self.device).manual_seed(t.seed + 1)  # z, labels, GP mixing
        self.stream = make_stream(self.game.data, t.seed + 2)  # the game may reshape the data (CycleGAN)
        # DiffAugment / ADA on what D sees (tr.augment(x) is x when off); its draws have their own generator
        self.augment_gen = torch.Generator(self.device).manual_seed(t.seed + 8)
        self.augment = AugmentPipe.from_config(t, self.augment_gen, self.dist)
        if self.augment.active and is_point_data(self.data):
            raise ConfigError("train.diffaugment and train.ada_target augment images; this run trains on points: "
                              "set train.diffaugment= and train.ada_target=0")
        self.step_count = self.d_updates = self.g_updates = 0
        self.last_checkpoint: Path | None = None
        self._start = time.perf_counter()

    def _side_params(self, names) -> list[torch.nn.Parameter]:
        return [p for name in names for p in self.nets[name].parameters()]

    # ------------------------------------------------------------------ networks
    @property
    def G(self) -> torch.nn.Module | None:
        """The generator of a one-generator game (the GAN game, pix2pix)."""
        return self.nets.get("G")

    @property
    def D(self) -> torch.nn.Module | None:
        return self.nets.get("D")

    @property
    def G_ema(self) -> torch.nn.Module | None:
        """G's exponential moving average, when optim.ema > 0."""
        return self.ema_nets.get("G")

    @property
    def G_train(self) -> torch.nn.Module | None:
        """G as it takes training steps (wrapped for several processes or compiled)."""
        return self.train_nets.get("G")

    @property
    def D_train(self) -> torch.nn.Module | None:
        return self.train_nets.get("D")

    def regularizers_due(self):
        """D's regularisers that apply at this D update (lazy ones every k updates)."""
        return due(self.regularizers, self.d_updates)

    # ------------------------------------------------------------------ sampling
    @property
    def z_dim(self) -> int:
        return self.cfg.model.z_dim

    @property
    def n_classes(self) -> int:
        return self.spec.n_classes

    @property
    def data_shape(self) -> tuple[int, ...]:
        """One sample's shape: (dim,) for points, (C, H, W) for images."""
        return self.spec.data_shape

    @property
    def class_prior(self) -> torch.Tensor | None:
        """Class frequencies of the training data (n_classes,) for a conditional model, else None."""
        return torch.tensor(self.spec.class_prior, dtype=torch.float64) if self.spec.class_prior else None

    def generator(self, ema: bool = True) -> Generator:
        """G (or G_ema when ``ema`` and EMA is on) with its latent distribution: see
        :class:`~ganforge.engine.generator.Generator`."""
        net = self.G_ema if (ema and self.G_ema is not None) else self.G
        return Generator(net, self.z_dim, self.cfg.model.noise, self.spec, self.cfg.model.conditional)

    def discriminator(self) -> Discriminator:
        """D returning one logit per sample (packing handled), without gradients."""
        return Discriminator(self.D, self.cfg.model.pack)

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Latent noise (n, z_dim): N(0, I) or U[-1, 1] as ``model.noise`` says."""
        return self.generator(ema=False).sample_z(n, generator or self.noise_gen)

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """Random classes (n,) with the training data's frequencies for a conditional G, else None."""
        return self.generator(ema=False).sample_labels(n, generator or self.noise_gen)

    def generate(self, n: int, labels=None, ema: bool = True, z: torch.Tensor | None = None,
                 generator: torch.Generator | None = None, batch: int = 1000) -> torch.Tensor:
        """``n`` samples from G (or G_ema when ``ema`` and EMA is on), on the CPU.

        Points come back as (n, dim); images as (n, C, H, W) in [-1, 1]. ``labels`` is an int (every
        sample of that class), a tensor (n,), or None (random classes for a conditional G).
        """
        return self.generator(ema).generate(n, labels, z, generator or self.noise_gen, batch)

    def real_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next ``n`` real examples and labels from the data stream, on the training device."""
        x, y = self.stream.next(n)
        return x.to(self.device), (y.to(self.device) if y is not None else None)

    def d_logits(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """D's raw output for each of ``x`` (n, ...) -> (n,) on the CPU, without gradients."""
        return self.discriminator()(x, labels)

    def device_description(self) -> str:
        """Where training runs, e.g. "cpu (1 thread)" or "cuda:0"."""
        if self.device.type != "cpu":
            return str(self.device)
        n = torch.get_num_threads()
        return f"cpu ({n} thread{'s' if n > 1 else ''})"

    # ------------------------------------------------------------------ the round
    def autocast(self):
        """bfloat16 autocast for forward passes when train.precision is bf16 (weights stay fp32)."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.train.precision == "bf16")

    def d_step(self) -> dict[str, float]:
        """One D update (see :func:`ganforge.engine.round.d_step`)."""
        return round.d_step(self)

    def g_step(self) -> dict[str, float]:
        """One G update, which ends a round (see :func:`ganforge.engine.round.g_step`)."""
        return round.g_step(self)

    def step(self) -> dict[str, float]:
        """Train one round: ``d_steps`` D updates then one G update. Returns the round's mean statistics."""
        factor = lr_factor(self.cfg.optim.schedule, self.step_count, self.cfg.train.steps, self.cfg.optim.decay_start)
        if self.cfg.optim.schedule != "constant":
            set_lr(self.opt_g, self.cfg.optim.lr_g * factor)
            if self.opt_d is not None:
                set_lr(self.opt_d, self.cfg.optim.lr_d * factor)
        with StatsCollector() as col:
            for _ in range(self.cfg.train.d_steps if self.game.d_side else 0):
                self.d_step()
            self.g_step()
        stats = col.means()
        if self.dist.world > 1:  # every rank logs (and checks) the mean over all ranks
            keys = sorted(stats)
            stats = dict(zip(keys, self.dist.mean([stats[k] for k in keys], self.device)))
        stats.update(step=self.step_count, lr_g=self.opt_g.param_groups[0]["lr"], time=time.perf_counter() - self._start)
        if self.opt_d is not None:
            stats["lr_d"] = self.opt_d.param_groups[0]["lr"]
        for key in ("d_loss", "g_loss", "l1"):
            if key in stats and not math.isfinite(stats[key]):
                last = str(self.last_checkpoint) if self.last_checkpoint else "none written yet"
                raise TrainingDiverged(
                    f"{key} became {stats[key]} at round {self.step_count}; last good checkpoint: {last} "
                    f"(try a lower learning rate, gradient clipping or a gradient penalty)"
                )
        for cb in self.callbacks:
            if hasattr(cb, "on_round"):
                cb.on_round(self, stats)
        return stats

    # ------------------------------------------------------------------ live changes (the lab)
    def set_objective(self, name: str) -> None:
        """Switch the objective now, keeping the networks and optimizer states."""
        self.objective = get_objective(name)
        self.cfg.loss.name = name
        self.regularizers = build_regularizers(self.cfg.loss, self.objective)

    def set_lr(self, g: float | None = None, d: float | None = None) -> None:
        for value, opt, key in ((g, self.opt_g, "lr_g"), (d, self.opt_d, "lr_d")):
            if value is not None and opt is not None:
                if not (math.isfinite(value) and value > 0):
                    raise ConfigError(f"optim.{key} must be a finite number > 0, got {value}")
                set_lr(opt, value)
                setattr(self.cfg.optim, key, float(value))

    def set_d_steps(self, k: int) -> None:
        if k < 1:
            raise ConfigError(f"train.d_steps must be >= 1, got {k}")
        if k > 1 and self.cfg.model.reuse_fakes and self.cfg.model.game == "gan":
            raise ConfigError(f"train.d_steps {k}: model.reuse_fakes needs one D update per round (its G update "
                              f"reuses that update's fakes)")
        self.cfg.train.d_steps = int(k)

    def set_loss_weights(self, gp: float | None = None, r1: float | None = None) -> None:
        for value, key in ((gp, "gp_weight"), (r1, "r1_weight")):
            if value is not None:
                if not (math.isfinite(value) and value >= 0):
                    raise ConfigError(f"loss.{key} must be a finite number >= 0, got {value}")
                setattr(self.cfg.loss, key, float(value))
        self.regularizers = build_regularizers(self.cfg.loss, self.objective)

    # ------------------------------------------------------------------ checkpoints
    def modules(self) -> dict[str, torch.nn.Module]:
        """The networks a checkpoint stores, by name: G, D and G_ema when EMA is on."""
        return state.modules_of(self)

    def state(self) -> dict:
        """Everything besides the network weights needed to continue bit-exactly."""
        return state.training_state(self)

    def save_checkpoint(self, root: str | Path | None = None) -> Path:
        """Write a checkpoint of the current round under ``root`` (default: RUN/checkpoints)."""
        if root is None:
            if self.run_dir is None:
                raise ConfigError("this trainer has no run directory; give save_checkpoint a folder")
            root = self.run_dir / "checkpoints"
        self.last_checkpoint = state.save(self, Path(root))
        return self.last_checkpoint

    def load_checkpoint(self, path: str | Path) -> None:
        """Load weights and the full training state from checkpoint directory ``path``."""
        state.restore(self, Path(path))

    @classmethod
    def from_checkpoint(cls, path: str | Path, run_dir=None, callbacks=(), dataset=None, overrides=None,
                        distributed: bool = False) -> "Trainer":
        """A trainer rebuilt from a checkpoint directory's own configuration, with its state loaded."""
        from ganforge.engine import checkpoint as ckpt

        _, _, saved = ckpt.read_checkpoint(Path(path))
        cfg = Config.from_dict(saved["config"])
        if overrides:
            cfg = cfg.with_overrides(overrides)
        trainer = cls(cfg, run_dir=run_dir, callbacks=callbacks, dataset=dataset, distributed=distributed)
        trainer.load_checkpoint(path)
        return trainer

    # ------------------------------------------------------------------ the whole run
    def run(self, steps: int | None = None) -> dict[str, float]:
        """Train until ``steps`` rounds in total (default ``train.steps``), writing the run directory
        (see :func:`ganforge.engine.loop.run`). Returns the last stats line."""
        return loop.run(self, steps)
