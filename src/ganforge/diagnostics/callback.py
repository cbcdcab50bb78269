"""A Trainer callback that feeds a :class:`~ganforge.diagnostics.monitor.Monitor`.

Every round it passes the stats (plus the weight norms of G and D, for the divergence check) to
``Monitor.observe``. Every ``sample_every`` rounds, and at the end, it draws a real and a fake
batch and runs the mode-collapse checks; on 2D point data it also compares D with the optimal
discriminator D* and estimates JS, writing those numbers to ``metrics.jsonl``. At the same checks a
fresh classifier (C2ST, :mod:`ganforge.metrics.c2st`) is trained on the real and fake batches and
compared with the game's D (``Monitor.check_equilibrium``); its accuracy goes to ``metrics.jsonl``
as ``c2st``, beside the game's equilibrium distance.

The cost of a check does not grow with the dataset: it draws ``n_points`` (or ``n_images``)
samples with a seed fixed by the round, mode coverage finds nearest modes with bounded memory
(:func:`ganforge.metrics.modes.nearest_centers`), the D* probe uses the first
PROBE_POINTS of each batch, and a mixture with more than
:data:`~ganforge.metrics.density.MAX_EXACT_COMPONENTS` components (a large ``points`` file) gets
a KDE of its real sample instead of its exact density.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ganforge.data import is_point_data
from ganforge.diagnostics.optimal import probe_optimal_discriminator
from ganforge.metrics.density import closed_form_log_prob
from ganforge.metrics.record import append_metrics, metric_line, provenance, tensor_sha256

if TYPE_CHECKING:  # the monitor builds its callback; this module needs the class only for hints
    from ganforge.diagnostics.monitor import Monitor

CLASSIFIED_DATASETS = ("mnist", "stacked-mnist")  # datasets whose channels the MNIST classifier labels
PROBE_POINTS = 1000  # real and fake points each for the D* probe and the JS estimate (KDEs are O(n^2))
C2ST_POINTS = 1000  # real and fake points each for the fresh classifier (an MLP: about 0.3 s on one core)
# real and fake images each for the fresh classifier: on mnist-dcgan's last round 500 a side read
# 63.8% [59.5, 67.9] where `ganforge eval --metrics c2st` (2,500 a side) read 78.6% [77.0, 80.2] (docs/benchmarks.md);
# about 3 s of generation and 4 s of MLP on one core for 28x28 images
C2ST_IMAGES = 2500


def weight_norm(*modules: torch.nn.Module) -> float:
    """L2 norm of all parameters of ``modules`` together (one device sync)."""
    params = [p.detach() for m in modules for p in m.parameters()]
    if not params:
        return 0.0
    with torch.no_grad():
        norms = torch.stack([torch.linalg.vector_norm(p.float()) for p in params])  # (P,) on the device
        return float(torch.linalg.vector_norm(norms))


class MonitorCallback:
    """Trainer callback: ``on_round`` feeds the stats stream, ``on_end`` runs the final sample checks.

    sample_every: rounds between sample checks (None = the run's train.sample_every, 0 = only at
    the end); they start after the monitor's warmup and the first fifth of train.steps, since
    every generator starts out concentrated. n_points / n_images: batch sizes for those checks;
    n_c2st_images: images a side for the fresh classifier (more than the collapse checks need).
    """

    def __init__(self, monitor: Monitor, sample_every: int | None = None, n_points: int = 2500,
                 n_images: int = 500, n_c2st_images: int = C2ST_IMAGES):
        self.monitor = monitor
        self.sample_every = sample_every
        self.n_points = n_points
        self.n_images = n_images
        self.n_c2st_images = n_c2st_images
        self._checked_step = None  # the round of the last check: the end of a run often repeats it

    def on_round(self, trainer, stats: dict) -> None:
        s = dict(stats)
        s.setdefault("step", trainer.step_count)
        game = trainer.game  # every network of each side: one G and one D, or CycleGAN's pairs
        s["g_weight_norm"] = weight_norm(*(trainer.nets[n] for n in game.g_side))
        if game.d_side:
            s["d_weight_norm"] = weight_norm(*(trainer.nets[n] for n in game.d_side))
        self.monitor.observe(s)
        every = self.sample_every if self.sample_every is not None else trainer.cfg.train.sample_every
        start = max(self.monitor.warmup, trainer.cfg.train.steps // 5)  # early on G has not spread out yet
        if every and s["step"] >= start and s["step"] % every == 0:
            self.check(trainer, s["step"])

    def on_end(self, trainer) -> None:
        self.check(trainer, trainer.step_count)

    def check(self, trainer, step: int) -> None:
        """Sample-based checks now: mode collapse, and on 2D data D vs D* and JS.

        Samples come from private generators seeded by the round, never from the trainer's data
        stream or latent-noise generator, so watching a run does not change it.
        """
        if trainer.cfg.model.game == "molgan" and step != self._checked_step:
            # molecules: diversity of one-hot graphs, real against drawn (ganforge.games.molgan)
            self._checked_step = step
            g_real, g_fake = torch.Generator().manual_seed(10_000_019 + step), torch.Generator().manual_seed(20_000_003 + step)
            real, fake = trainer.game.collapse_batches(trainer, self.n_images, g_real, g_fake)
            self.monitor.check_samples(real, fake, step=step)
            return
        if trainer.cfg.model.game != "gan":
            return  # translators are judged against their targets (ganforge eval), not for collapse
        if step == self._checked_step:
            return  # the same round's samples, seeded by the round: the same numbers again
        self._checked_step = step
        data = trainer.data
        g_real = torch.Generator().manual_seed(10_000_019 + step)
        g_fake = torch.Generator(trainer.device).manual_seed(20_000_003 + step)
        if is_point_data(data):
            n = self.n_points
            real = data.sample(n, g_real)  # (n, dim)
            fake = trainer.generate(n, generator=g_fake)  # (n, dim)
            self.monitor.check_samples(real, fake, centers=data.centers, std=data.std, step=step)
            self._fresh_classifier(trainer, real[:C2ST_POINTS], fake[:C2ST_POINTS].cpu(), step,
                                   reference=data.name or "points")
            if data.dim == 2:
                self._probe_2d(trainer, data, real[:PROBE_POINTS], fake[:PROBE_POINTS], step)
            return
        n = min(self.n_images, len(data))  # the collapse checks' batch
        n_c2st = min(max(self.n_c2st_images, n), len(data))  # the fresh classifier's: as many or more
        real_all, _ = data.batch(torch.randperm(len(data), generator=g_real)[:n_c2st])  # (n_c2st, C, H, W)
        fake_all = trainer.generate(n_c2st, generator=g_fake)
        real, fake = real_all[:n], fake_all[:n]
        labels = {}
        if data.name in CLASSIFIED_DATASETS and tuple(real.shape[-2:]) == (28, 28):
            from ganforge.metrics.classifier import classify
            from ganforge.metrics.stacked import stacked_labels

            for key, x in (("real_labels", real), ("fake_labels", fake)):
                labels[key] = stacked_labels(classify(x.cpu()))
            labels["n_classes"] = 10 ** real.shape[1]  # one digit per channel
        self.monitor.check_samples(real.cpu(), fake.cpu(), step=step, **labels)
        self._fresh_classifier(trainer, real_all.cpu(), fake_all.cpu(), step, reference=data.name,
                               reference_sha256=getattr(data, "source_hash", None) or None)

    def _fresh_classifier(self, trainer, real, fake, step, reference: str, reference_sha256=None) -> None:
        """The C2ST of this check's real against fake batch, given to the monitor (the
        ``matched-discriminator`` alert) and written to metrics.jsonl when the run has a directory."""
        from ganforge.metrics.c2st import c2st_samples

        seed = trainer.cfg.train.seed
        result, feat = c2st_samples(real, fake, "raw", classifier="mlp", seed=seed)
        self.monitor.check_equilibrium(result, step)
        if trainer.run_dir is None:
            return
        prov = provenance(n_fake=fake.shape[0], n_real=real.shape[0], reference=reference,
                          reference_sha256=reference_sha256, seed=seed, source="training monitor",
                          classifier=result.classifier, test_split="half of each set held out", **feat)
        values = {**result.to_dict(), "d_distance": self.monitor.last_c2st.get("d_distance")}
        append_metrics(trainer.run_dir, [metric_line(step, "c2st", result.accuracy, values, prov)])

    def _probe_2d(self, trainer, data, real, fake, step) -> None:
        """D against D* (minimax family, whose D is a probability) and JS on 2D points; written to
        metrics.jsonl when the run has a directory."""
        log_prob = closed_form_log_prob(data)  # None: a KDE of the reals stands in for p_data
        probe = probe_optimal_discriminator(real, fake, _d_probability(trainer), log_prob)
        if trainer.run_dir is None:
            return
        centers = data.centers
        ref_hash = tensor_sha256(centers, torch.tensor([data.std])) if centers is not None else None
        prov = provenance(n_fake=probe.n_fake, n_real=probe.n_real, features="identity (raw 2D points)",
                          features_sha256=None, reference=data.name or "points",
                          reference_sha256=ref_hash, resize="none", seed=trainer.cfg.train.seed,
                          density="exact" if log_prob is not None else "kde",
                          bandwidth=probe.bandwidth)
        lines = [metric_line(step, "js", probe.js, {}, prov)]
        if probe.d_gap is not None:
            lines.append(metric_line(step, "d_star_gap", probe.d_gap, {}, prov))
        append_metrics(trainer.run_dir, lines)


def _d_probability(trainer):
    """x -> D's probability that x is real (sigmoid of its logit) for the minimax family, whose D
    is a probability; None for the others, whose D* comparison means nothing."""
    if trainer.objective.family != "minimax":
        return None
    return lambda x: torch.sigmoid(trainer.d_logits(x.to(trainer.device))).cpu()
