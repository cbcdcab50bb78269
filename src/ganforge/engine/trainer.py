"""The training loop: one engine for the CLI, the lab and notebooks.

One round is ``d_steps`` discriminator updates, each on a batch of real data and a batch of
detached fakes, then one generator update against the freshly updated D (Goodfellow et al. 2014,
Algorithm 1). Losses come from :mod:`ganforge.objectives` as pure functions of logits; this loop
owns ``zero_grad``, ``backward``, ``step``, clipping and EMA.

    trainer = Trainer(load_preset("ring8"))
    for _ in range(100):
        stats = trainer.step()          # {"d_loss": ..., "g_loss": ..., "value": ..., ...}
    points = trainer.generate(1000)     # (1000, 2)
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from pathlib import Path

import torch
from torch import nn

from ganforge.config import Config
from ganforge.data import ImageDataset, PointDistribution, load_dataset
from ganforge.engine import checkpoint as ckpt
from ganforge.engine.batches import make_stream
from ganforge.engine.device import select_device
from ganforge.engine.distributed import DistInfo, wrap
from ganforge.engine.distributed import setup as dist_setup
from ganforge.engine.stats import RunningMeans, StatsCollector, json_safe, report
from ganforge.errors import CheckpointError, ConfigError, TrainingDiverged, unknown_name
from ganforge.nets import build_networks
from ganforge.objectives import get_objective, gradient_penalty, minimax_value, r1_penalty

OPTIMIZERS = ("adam", "sgd", "rmsprop")


def make_optimizer(name: str, params, lr: float, cfg) -> torch.optim.Optimizer:
    """One of Adam, SGD or RMSprop with the hyper-parameters of ``cfg`` (an OptimConfig)."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2))
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    raise unknown_name("optimizer", name, OPTIMIZERS)


def _grad_norm(params, max_norm: float) -> torch.Tensor:
    """Total gradient norm (0-dim tensor); clips in place when ``max_norm`` > 0."""
    params = [p for p in params if p.grad is not None]
    if not params:
        return torch.zeros(())
    if max_norm > 0:
        return torch.nn.utils.clip_grad_norm_(params, max_norm)
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params]))


def _report_all(values: dict[str, torch.Tensor]) -> dict[str, float]:
    """Turn 0-dim tensors into floats with a single device sync, and report each."""
    numbers = torch.stack([v.detach().float().reshape(()) for v in values.values()]).tolist()
    out = dict(zip(values.keys(), numbers))
    for k, v in out.items():
        report(k, v)
    return out


class Trainer:
    """Builds data, G, D, objective and optimizers from a :class:`Config` and trains them.

    ``run_dir`` None keeps everything in memory (the lab, notebooks); otherwise ``run()`` writes
    stats, samples and checkpoints there. ``dataset`` replaces the one ``cfg.data`` names (for
    example points a user drew). ``callbacks`` are objects with optional ``on_round(trainer,
    stats)``, ``on_log(trainer, line)`` and ``on_end(trainer)`` methods. ``distributed`` joins the
    process group of a ``torchrun`` launch (see :mod:`ganforge.engine.distributed`).
    """

    def __init__(self, cfg: Config, run_dir: str | Path | None = None, callbacks=(), dataset=None,
                 distributed: bool = False):
        self.cfg = cfg
        t = cfg.train
        if t.threads > 0:
            torch.set_num_threads(t.threads)
        for key in ("steps", "batch_size", "d_steps"):
            if getattr(t, key) < 1:
                raise ConfigError(f"train.{key} must be >= 1, got {getattr(t, key)}")
        self.device = select_device(t.device)
        # multi-process training is opt-in: a trainer built only to evaluate or sample (the report,
        # `ganforge sample`) must not join the process group of a torchrun launch
        self.dist = dist_setup(self.device) if distributed else DistInfo()
        self.callbacks = list(callbacks) if self.dist.is_main else []
        if self.dist.world > 1 and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
        if t.batch_size % (cfg.model.pack * self.dist.world):
            raise ConfigError(f"train.batch_size ({t.batch_size}) must be divisible by model.pack ({cfg.model.pack})"
                              f" times the number of processes ({self.dist.world})")
        self.run_dir = Path(run_dir) if run_dir is not None else None

        self.data = dataset if dataset is not None else load_dataset(cfg.data)
        self.n_classes = cfg.model.n_classes or getattr(self.data, "n_classes", 0)
        if isinstance(self.data, ImageDataset):
            self.data_shape = tuple(self.data.shape)
        else:
            self.data_shape = (self.data.dim,)
        if cfg.model.conditional and getattr(self.data, "labels", None) is None:
            raise ConfigError(f"model.conditional needs a labelled dataset; {cfg.data.name!r} has no labels "
                              f"(data.clusters=K labels it by K clusters of its pixels)")
        if cfg.data.clusters and not cfg.model.conditional:
            raise ConfigError("data.clusters makes pseudo-labels for a conditional model; set model.conditional=true")
        # class frequencies of the training data (n_classes,): a conditional G is trained and sampled
        # with classes drawn as often as the data has them, so it generates the data's mixture
        self.class_prior = (torch.bincount(self.data.labels, minlength=self.n_classes).double()
                            if cfg.model.conditional else None)
        with torch.random.fork_rng(devices=[]):  # seeded initialisation without reseeding the process
            torch.manual_seed(t.seed)
            self.G, self.D = build_networks(cfg.model, self.data_shape, self.n_classes)
        self.G.to(self.device)
        self.D.to(self.device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False) if cfg.optim.ema > 0 else None
        # the modules that take training steps: DDP wrappers when several processes train together
        self.G_train = wrap(self.G, self.dist, self.device)
        self.D_train = wrap(self.D, self.dist, self.device)
        if cfg.optim.schedule not in ("constant", "linear"):
            raise ConfigError(f"unknown optim.schedule {cfg.optim.schedule!r}; valid: constant, linear")
        if t.precision not in ("fp32", "bf16"):
            raise ConfigError(f"unknown train.precision {t.precision!r}; valid: fp32, bf16")
        if t.compile:
            self.G_train, self.D_train = torch.compile(self.G_train), torch.compile(self.D_train)
        if t.tensorboard:
            _tensorboard_writer_class()  # fail now, before any file is written, if it is missing
        self.objective = get_objective(cfg.loss.name)
        o = cfg.optim
        self.opt_g = make_optimizer(o.g, self.G.parameters(), o.lr_g, o)
        self.opt_d = make_optimizer(o.d, self.D.parameters(), o.lr_d, o)
        self.noise_gen = torch.Generator(self.device).manual_seed(t.seed + 1)  # z, labels, GP mixing
        self.stream = make_stream(self.data, t.seed + 2)
        self.step_count = 0
        self.last_checkpoint: Path | None = None
        self._start = time.perf_counter()
        self._tb = None

    # ------------------------------------------------------------------ sampling
    @property
    def z_dim(self) -> int:
        return self.cfg.model.z_dim

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Latent noise (n, z_dim): N(0, I) or U[-1, 1] as ``model.noise`` says."""
        g = generator or self.noise_gen
        if self.cfg.model.noise == "uniform":
            return torch.rand(n, self.z_dim, generator=g, device=g.device).mul_(2).sub_(1).to(self.device)
        return torch.randn(n, self.z_dim, generator=g, device=g.device).to(self.device)

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """Random class labels (n,) drawn with the training data's class frequencies for a conditional
        G, else None."""
        if not self.cfg.model.conditional:
            return None
        g = generator or self.noise_gen
        prior = self.class_prior.to(g.device)
        return torch.multinomial(prior, n, replacement=True, generator=g).to(self.device)

    @torch.no_grad()
    def generate(self, n: int, labels=None, ema: bool = True, z: torch.Tensor | None = None,
                 generator: torch.Generator | None = None, batch: int = 1000) -> torch.Tensor:
        """``n`` samples from G (or G_ema when ``ema`` and EMA is on), on the CPU.

        Points come back as (n, dim); images as (n, C, H, W) in [-1, 1]. ``labels`` is an int (every
        sample of that class), a tensor (n,), or None (random classes for a conditional G).
        """
        net = self.G_ema if (ema and self.G_ema is not None) else self.G
        was_training = net.training
        net.eval()
        if z is None:
            z = self.sample_z(n, generator)
        if self.cfg.model.conditional:
            if labels is None:
                labels = self.sample_labels(n, generator)
            elif isinstance(labels, int):
                if not 0 <= labels < self.n_classes:
                    raise ConfigError(f"class {labels} is out of range; this model has classes 0..{self.n_classes - 1}")
                labels = torch.full((n,), labels, dtype=torch.long)
            labels = torch.as_tensor(labels, device=self.device)
        elif labels is not None:
            raise ConfigError("this model is not conditional; sample without a class")
        out = []
        for i in range(0, n, batch):
            zi = z[i : i + batch].to(self.device)
            li = labels[i : i + batch] if labels is not None else None
            out.append(net(zi, li).float().cpu())
        net.train(was_training)
        return torch.cat(out) if out else torch.empty(0, *self.data_shape)

    def real_batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The next ``n`` real examples and labels from the data stream, on the training device."""
        x, y = self.stream.next(n)
        return x.to(self.device), (y.to(self.device) if y is not None else None)

    @torch.no_grad()
    def d_logits(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """D's raw output for each of ``x`` (n, ...) -> (n,), without gradients.

        With packing, each sample is repeated ``pack`` times so D judges it on its own.
        """
        k = self.cfg.model.pack
        x = x.to(self.device)
        if k > 1:
            x = x.repeat_interleave(k, dim=0)  # (n * k, ...): k copies of each sample, packed together
        was_training = self.D.training
        self.D.eval()  # no side effects: spectral norm's power iteration only runs in training mode
        try:
            return self.D(x, labels).float().cpu()
        finally:
            self.D.train(was_training)

    # ------------------------------------------------------------------ updates
    def _autocast(self):
        """bfloat16 autocast for forward passes when train.precision is bf16 (weights stay fp32)."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.cfg.train.precision == "bf16")

    def _gp_weight(self) -> float:
        return self.cfg.loss.gp_weight or self.objective.default_gp_weight

    def d_step(self) -> dict[str, float]:
        """One D update on a real batch and a batch of detached fakes; returns its statistics.

        With several processes each rank takes its slice of the global batch (see
        :mod:`ganforge.engine.distributed`).
        """
        B, shard = self.cfg.train.batch_size, self.dist.shard
        real, labels = self.real_batch(B)
        real, labels, z = shard(real), shard(labels), shard(self.sample_z(B))
        with torch.no_grad(), self._autocast():
            fake = self.G(z, labels).float()  # fakes conditioned on the real batch's classes
        self.D.requires_grad_(True)
        with self._autocast():
            loss, values, real_logits, fake_logits = self._d_objective(real, fake, labels)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        values["d_grad_norm"] = _grad_norm(self.D.parameters(), self.cfg.optim.grad_clip)
        self.opt_d.step()
        if self.objective.clip_weights:
            with torch.no_grad():
                for p in self.D.parameters():
                    p.clamp_(-self.cfg.loss.clip, self.cfg.loss.clip)
        with torch.no_grad():
            values["value"] = minimax_value(real_logits, fake_logits)
            values["d_real"] = torch.sigmoid(real_logits).mean()
            values["d_fake"] = torch.sigmoid(fake_logits).mean()
            values["real_logit"] = real_logits.mean()
            values["fake_logit"] = fake_logits.mean()
            values["d_acc"] = 0.5 * ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean())
        return _report_all(values)

    def _d_objective(self, real, fake, labels):
        """D's loss with its regularisers: (loss, values to report, real_logits, fake_logits)."""
        # one forward over real and fake together: D has no batch norm, so this equals two calls,
        # and DDP sees a single forward per backward
        both_labels = torch.cat([labels, labels]) if labels is not None else None
        logits = self.D_train(torch.cat([real, fake]), both_labels).float()  # (2B / pack,)
        real_logits, fake_logits = logits.chunk(2)
        loss = self.objective.d_loss(real_logits, fake_logits)
        values = {"d_loss": loss}
        gp_weight = self._gp_weight()
        if gp_weight > 0:
            gp = gradient_penalty(lambda x: self.D(x, labels), real, fake,
                                  one_sided=self.cfg.loss.gp_mode == "one-sided", generator=self.noise_gen)
            loss = loss + gp_weight * gp
            values["gp"] = gp
        if self.cfg.loss.r1_weight > 0:
            r1 = r1_penalty(lambda x: self.D(x, labels), real)
            loss = loss + 0.5 * self.cfg.loss.r1_weight * r1
            values["r1"] = r1
        return loss, values, real_logits, fake_logits

    def g_step(self) -> dict[str, float]:
        """One G update against the current D; returns its statistics."""
        B, shard = self.cfg.train.batch_size, self.dist.shard
        z = self.sample_z(B)
        labels = self.sample_labels(B)
        z, labels = shard(z), shard(labels)
        self.D.requires_grad_(False)  # G's loss needs D's input gradients, not its weight gradients
        with self._autocast():
            fake_logits = self.D(self.G_train(z, labels), labels).float()
            loss = self.objective.g_loss(fake_logits)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.D.requires_grad_(True)
        g_norm = _grad_norm(self.G.parameters(), self.cfg.optim.grad_clip)
        self.opt_g.step()
        if self.G_ema is not None:
            self._update_ema()
        return _report_all({"g_loss": loss, "g_grad_norm": g_norm, "d_fake_g": torch.sigmoid(fake_logits.detach()).mean()})

    @torch.no_grad()
    def _update_ema(self) -> None:
        """G_ema <- beta * G_ema + (1 - beta) * G; buffers (batch-norm statistics) are copied.

        beta ramps up as min(ema, (1 + t) / (10 + t)) over the t-th update, so early samples are not
        dominated by the random initial weights (the num_updates rule of TensorFlow's moving averages).
        """
        t = self.step_count
        beta = min(self.cfg.optim.ema, (1.0 + t) / (10.0 + t))
        for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
            p_ema.lerp_(p, 1.0 - beta)
        for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
            b_ema.copy_(b)

    def step(self) -> dict[str, float]:
        """Train one round: ``d_steps`` D updates then one G update. Returns the round's mean statistics.

        ``step_count`` holds the number of rounds trained so far.
        """
        self._apply_schedule()
        with StatsCollector() as col:
            for _ in range(self.cfg.train.d_steps):
                self.d_step()
            self.g_step()
        stats = col.means()
        if self.dist.world > 1:  # every rank logs (and checks) the mean over all ranks
            keys = sorted(stats)
            stats = dict(zip(keys, self.dist.mean([stats[k] for k in keys], self.device)))
        self.step_count += 1
        stats.update(step=self.step_count, lr_g=self.opt_g.param_groups[0]["lr"],
                     lr_d=self.opt_d.param_groups[0]["lr"], time=time.perf_counter() - self._start)
        for key in ("d_loss", "g_loss"):
            if not math.isfinite(stats[key]):
                last = str(self.last_checkpoint) if self.last_checkpoint else "none written yet"
                raise TrainingDiverged(
                    f"{key} became {stats[key]} at round {self.step_count}; last good checkpoint: {last} "
                    f"(try a lower learning rate, gradient clipping or a gradient penalty)"
                )
        for cb in self.callbacks:
            if hasattr(cb, "on_round"):
                cb.on_round(self, stats)
        return stats

    def _apply_schedule(self) -> None:
        """Set this round's learning rates; a pure function of the round, so resume stays exact."""
        o = self.cfg.optim
        if o.schedule == "constant":
            return
        factor = max(0.0, 1.0 - self.step_count / self.cfg.train.steps)  # "linear": to 0 at train.steps
        for opt, base in ((self.opt_g, o.lr_g), (self.opt_d, o.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * factor

    # ------------------------------------------------------------------ live changes (the lab)
    def set_objective(self, name: str) -> None:
        """Switch the objective now, keeping the networks and optimizer states."""
        self.objective = get_objective(name)
        self.cfg.loss.name = name

    def set_lr(self, g: float | None = None, d: float | None = None) -> None:
        for value, opt, key in ((g, self.opt_g, "lr_g"), (d, self.opt_d, "lr_d")):
            if value is not None:
                if not value > 0:
                    raise ConfigError(f"optim.{key} must be > 0, got {value}")
                for group in opt.param_groups:
                    group["lr"] = value
                setattr(self.cfg.optim, key, float(value))

    def set_d_steps(self, k: int) -> None:
        if k < 1:
            raise ConfigError(f"train.d_steps must be >= 1, got {k}")
        self.cfg.train.d_steps = int(k)

    def set_loss_weights(self, gp: float | None = None, r1: float | None = None) -> None:
        if gp is not None:
            self.cfg.loss.gp_weight = float(gp)
        if r1 is not None:
            self.cfg.loss.r1_weight = float(r1)

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict:
        """Everything besides the network weights needed to continue bit-exactly."""
        rng = {"torch": torch.get_rng_state(), "noise": self.noise_gen.get_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "step": self.step_count,
            "config": self.cfg.to_dict(),
            "optim_g": ckpt.optimizer_state(self.opt_g),
            "optim_d": ckpt.optimizer_state(self.opt_d),
            "rng": rng,
            "data": self.stream.state_dict(),
        }

    def _modules(self) -> dict[str, nn.Module]:
        mods = {"G": self.G, "D": self.D}
        if self.G_ema is not None:
            mods["G_ema"] = self.G_ema
        return mods

    def save_checkpoint(self, root: str | Path | None = None) -> Path:
        """Write a checkpoint of the current round under ``root`` (default: RUN/checkpoints)."""
        if root is None:
            if self.run_dir is None:
                raise ConfigError("this trainer has no run directory; give save_checkpoint a folder")
            root = self.run_dir / "checkpoints"
        for name, module in self._modules().items():
            for p in module.parameters():
                if not torch.isfinite(p).all():
                    raise TrainingDiverged(
                        f"{name}'s weights are not finite at round {self.step_count}; not saving. "
                        f"Last good checkpoint: {self.last_checkpoint or 'none'}"
                    )
        self.last_checkpoint = ckpt.save_checkpoint(
            Path(root), self.step_count, self._modules(), self.state(), keep=self.cfg.train.keep_checkpoints
        )
        return self.last_checkpoint

    def load_checkpoint(self, path: str | Path) -> None:
        """Load weights and the full training state from checkpoint directory ``path``."""
        meta, weights, state = ckpt.read_checkpoint(Path(path))
        saved_model = state["config"]["model"]
        if saved_model != self.cfg.to_dict()["model"]:
            diff = sorted(k for k in saved_model if saved_model[k] != getattr(self.cfg.model, k, None))
            raise CheckpointError(f"checkpoint {path} is from a different architecture (model settings differ: {', '.join(diff)})")
        for name, module in self._modules().items():
            if name not in weights:
                raise CheckpointError(f"checkpoint {path} has no {name} weights")
            try:
                module.load_state_dict(weights[name])
            except RuntimeError as e:
                first = str(e).strip().splitlines()
                raise CheckpointError(f"checkpoint {path} does not fit this {name}: {first[1].strip() if len(first) > 1 else first[0]}") from None
        try:
            ckpt.load_optimizer_state(self.opt_g, state["optim_g"])
            ckpt.load_optimizer_state(self.opt_d, state["optim_d"])
        except (ValueError, KeyError) as e:
            raise CheckpointError(f"checkpoint {path}: optimizer state does not fit ({e})") from None
        torch.set_rng_state(state["rng"]["torch"])
        self.noise_gen.set_state(state["rng"]["noise"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.stream.load_state_dict(state["data"])
        self.step_count = int(state["step"])
        self.last_checkpoint = Path(path)

    @classmethod
    def from_checkpoint(cls, path: str | Path, run_dir=None, callbacks=(), dataset=None, overrides=None,
                        distributed: bool = False) -> "Trainer":
        """A trainer rebuilt from a checkpoint directory's own configuration, with its state loaded."""
        _, _, state = ckpt.read_checkpoint(Path(path))
        cfg = Config.from_dict(state["config"])
        if overrides:
            cfg = cfg.with_overrides(overrides)
        trainer = cls(cfg, run_dir=run_dir, callbacks=callbacks, dataset=dataset, distributed=distributed)
        trainer.load_checkpoint(path)
        return trainer

    # ------------------------------------------------------------------ the whole run
    def run(self, steps: int | None = None) -> dict[str, float]:
        """Train until ``steps`` rounds in total (default ``train.steps``), writing the run directory.

        Returns the last stats line. A run directory must be set (see :mod:`ganforge.engine.rundir`).
        """
        from ganforge.viz import plot_training_curves

        if self.run_dir is None:
            raise ConfigError("Trainer.run() needs a run directory; use step() to train in memory")
        t = self.cfg.train
        target = steps or t.steps
        main = self.dist.is_main  # with several processes, only rank 0 writes
        stats_path = self.run_dir / "stats.jsonl"
        if main:
            _truncate_stats(stats_path, self.step_count)
            self._open_tensorboard()
        bar = _progress(t.progress and main, target, self.step_count)
        running, line = RunningMeans(), {}
        stats_file = open(stats_path, "a") if main else None
        try:
            while self.step_count < target:
                stats = self.step()
                running.add(stats)
                bar.update(1)
                s = self.step_count
                if s % t.log_every == 0 or s == target:
                    line = {"step": s, **{k: json_safe(v) for k, v in running.pop().items()}}
                    if main:
                        self._write_log_line(stats_file, line, bar)
                if main and t.sample_every and s % t.sample_every == 0:
                    self.save_samples()
                if t.checkpoint_every and s % t.checkpoint_every == 0:
                    self._checkpoint_in_run()
        finally:
            bar.close()
            if stats_file is not None:
                stats_file.close()
        if self.last_checkpoint is None or self.last_checkpoint.name != ckpt.step_dir_name(self.step_count):
            self._checkpoint_in_run()
        if main:
            self.save_samples()
            plot_training_curves(stats_path, self.run_dir / "loss.png")
            if self._tb is not None:
                self._tb.close()
            for cb in self.callbacks:
                if hasattr(cb, "on_end"):
                    cb.on_end(self)
        return line

    def _write_log_line(self, stats_file, line: dict, bar) -> None:
        stats_file.write(json.dumps(line) + "\n")
        stats_file.flush()
        bar.set_postfix(d_loss=f"{line['d_loss']:.3f}", g_loss=f"{line['g_loss']:.3f}", refresh=False)
        self._log_tensorboard(line)
        for cb in self.callbacks:
            if hasattr(cb, "on_log"):
                cb.on_log(self, line)

    def _checkpoint_in_run(self) -> None:
        """Rank 0 writes the checkpoint; the other ranks wait for it and remember its path."""
        if self.dist.is_main:
            self.save_checkpoint()
        else:
            self.last_checkpoint = self.run_dir / "checkpoints" / ckpt.step_dir_name(self.step_count)
        self.dist.barrier()

    def save_samples(self, n: int = 64) -> Path:
        """A picture of G's samples at this round in RUN/samples/ (a grid, or a scatter for points)."""
        from ganforge.viz import save_image_grid, save_scatter

        path = self.run_dir / "samples" / f"{ckpt.step_dir_name(self.step_count)}.png"
        fixed = torch.Generator(self.device).manual_seed(self.cfg.train.seed + 3)  # same z every time
        if isinstance(self.data, PointDistribution):
            fake = self.generate(2000, generator=fixed)
            real = self.data.sample(2000, torch.Generator().manual_seed(self.cfg.train.seed + 4))
            return save_scatter(real, fake, path, title=f"{self.cfg.data.name}, round {self.step_count}",
                                centers=self.data.centers)
        if self.cfg.model.conditional:
            per = max(1, n // self.n_classes)
            labels = torch.arange(self.n_classes).repeat_interleave(per)
            images = self.generate(len(labels), labels=labels, generator=fixed)
            return save_image_grid(images, path, nrow=per)
        return save_image_grid(self.generate(n, generator=fixed), path)

    def _open_tensorboard(self) -> None:
        if not self.cfg.train.tensorboard or self._tb is not None:
            return
        self._tb = _tensorboard_writer_class()(str(self.run_dir / "tensorboard"))

    def _log_tensorboard(self, line: dict) -> None:
        if self._tb is not None:
            for k, v in line.items():
                if k != "step" and isinstance(v, (int, float)):
                    self._tb.add_scalar(k, v, line["step"])


def _truncate_stats(path: Path, step: int) -> None:
    """Drop stats lines past ``step``: a resumed run rewrites what came after its checkpoint."""
    from ganforge.viz import read_jsonl

    if not path.is_file():
        return
    rows = read_jsonl(path)
    keep = [r for r in rows if isinstance(r.get("step"), int) and r["step"] <= step]
    if len(keep) != len(rows) or not path.read_text().endswith("\n") and path.stat().st_size:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in keep))
        os.replace(tmp, path)


def _tensorboard_writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("train.tensorboard needs the tensorboard package: pip install tensorboard") from None
    return SummaryWriter


def _progress(enabled: bool, total: int, initial: int):
    import sys

    from tqdm import tqdm

    # on a terminal the bar redraws in place; in a log file a line every 30 s is plenty
    interval = 0.1 if sys.stderr.isatty() else 30.0
    return tqdm(total=total, initial=initial, disable=not enabled, unit="round", dynamic_ncols=True,
                leave=False, mininterval=interval)
