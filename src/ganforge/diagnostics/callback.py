"""A Trainer callback that feeds a :class:`~ganforge.diagnostics.monitor.Monitor`.

Every round it passes the stats (plus the weight norms of G and D, for the divergence check) to
``Monitor.observe``. Every ``sample_every`` rounds, and at the end, it draws a real and a fake
batch and runs the mode-collapse checks; on 2D point data it also compares D with the optimal
discriminator D* and estimates JS, writing those numbers to ``metrics.jsonl``.
"""

from __future__ import annotations

import torch

from ganforge.diagnostics.monitor import Monitor
from ganforge.diagnostics.optimal import probe_optimal_discriminator
from ganforge.metrics.record import append_metrics, metric_line, provenance, tensor_sha256

CLASSIFIED_DATASETS = ("mnist", "stacked-mnist")  # datasets whose channels the MNIST classifier labels


def weight_norm(module: torch.nn.Module) -> float:
    """L2 norm of all parameters of ``module`` (one device sync)."""
    params = [p.detach() for p in module.parameters()]
    if not params:
        return 0.0
    with torch.no_grad():
        norms = torch.stack([torch.linalg.vector_norm(p.float()) for p in params])  # (P,) on the device
        return float(torch.linalg.vector_norm(norms))


def is_points(data) -> bool:
    """True for point distributions (they sample without end and have a ``dim``)."""
    return hasattr(data, "sample") and hasattr(data, "dim") and not hasattr(data, "images")


class MonitorCallback:
    """Trainer callback: ``on_round`` feeds the stats stream, ``on_end`` runs the final sample checks.

    sample_every: rounds between sample checks (None = the run's train.sample_every, 0 = only at
    the end); they start after the monitor's warmup and the first fifth of train.steps, since
    every generator starts out concentrated. n_points / n_images: batch sizes for those checks.
    """

    def __init__(self, monitor: Monitor, sample_every: int | None = None, n_points: int = 2500,
                 n_images: int = 500):
        self.monitor = monitor
        self.sample_every = sample_every
        self.n_points = n_points
        self.n_images = n_images

    def _every(self, trainer) -> int:
        if self.sample_every is not None:
            return self.sample_every
        return int(getattr(getattr(getattr(trainer, "cfg", None), "train", None), "sample_every", 0) or 0)

    def on_round(self, trainer, stats: dict) -> None:
        s = dict(stats)
        s.setdefault("step", trainer_step(trainer))
        if getattr(trainer, "G", None) is not None:
            s["g_weight_norm"] = weight_norm(trainer.G)
        if getattr(trainer, "D", None) is not None:
            s["d_weight_norm"] = weight_norm(trainer.D)
        self.monitor.observe(s)
        every = self._every(trainer)
        total = int(getattr(getattr(getattr(trainer, "cfg", None), "train", None), "steps", 0) or 0)
        start = max(self.monitor.warmup, total // 5)  # early on G has not spread out yet in any run
        if every and s["step"] >= start and s["step"] % every == 0:
            self.check(trainer, s["step"])

    def on_end(self, trainer) -> None:
        self.check(trainer, trainer_step(trainer))

    def check(self, trainer, step: int) -> None:
        """Sample-based checks now: mode collapse, and on 2D data D vs D* and JS.

        Samples come from private generators seeded by the round, never from the trainer's data
        stream or latent-noise generator, so watching a run does not change it.
        """
        data = trainer.data
        seed = int(getattr(getattr(trainer.cfg, "train", None), "seed", 0)) if hasattr(trainer, "cfg") else None
        g_real = torch.Generator().manual_seed(10_000_019 + step)
        g_fake = torch.Generator(getattr(trainer, "device", "cpu")).manual_seed(20_000_003 + step)
        if is_points(data):
            n = self.n_points
            real = data.sample(n, g_real)  # (n, dim)
            fake = trainer.generate(n, generator=g_fake)  # (n, dim)
            self.monitor.check_samples(real, fake, centers=getattr(data, "centers", None),
                                       std=getattr(data, "std", None), step=step)
            if getattr(data, "dim", 0) == 2:
                self._probe_2d(trainer, data, real[:1000], fake[:1000], step, seed)
            return
        n = min(self.n_images, len(data))
        real, _ = data.batch(torch.randperm(len(data), generator=g_real)[:n])  # (n, C, H, W)
        fake = trainer.generate(n, generator=g_fake)
        name = getattr(data, "name", "")
        labels = {}
        if name in CLASSIFIED_DATASETS and tuple(real.shape[-2:]) == (28, 28):
            from ganforge.metrics.classifier import classify
            from ganforge.metrics.stacked import stacked_labels

            for key, x in (("real_labels", real), ("fake_labels", fake)):
                labels[key] = stacked_labels(classify(x.cpu()))
            labels["n_classes"] = 10 ** real.shape[1]  # one digit per channel
        self.monitor.check_samples(real.cpu(), fake.cpu(), step=step, **labels)

    def _probe_2d(self, trainer, data, real, fake, step, seed) -> None:
        d_prob = None
        if getattr(getattr(trainer, "objective", None), "family", "") == "minimax":
            def d_prob(x):
                return torch.sigmoid(trainer.d_logits(x.to(trainer.device))).cpu()
        log_prob = getattr(data, "log_prob", None)
        if log_prob is not None and log_prob(real[:1].float()) is None:
            log_prob = None  # a distribution without a closed-form density: KDE of the reals
        probe = probe_optimal_discriminator(real, fake, d_prob, log_prob)
        run_dir = getattr(trainer, "run_dir", None)
        if run_dir is None:
            return
        centers = getattr(data, "centers", None)
        ref_hash = tensor_sha256(centers, torch.tensor([data.std])) if centers is not None else None
        prov = provenance(n_fake=probe.n_fake, n_real=probe.n_real, features="identity (raw 2D points)",
                          features_sha256=None, reference=getattr(data, "name", "points"),
                          reference_sha256=ref_hash, resize="none", seed=seed,
                          density="exact" if log_prob is not None else "kde",
                          bandwidth=probe.bandwidth)
        lines = [metric_line(step, "js", probe.js, {}, prov)]
        if probe.d_gap is not None:
            lines.append(metric_line(step, "d_star_gap", probe.d_gap, {}, prov))
        append_metrics(run_dir, lines)


def trainer_step(trainer) -> int:
    """The trainer's current round (``trainer.step`` is a method in the engine; tolerate an int)."""
    for attr in ("global_step", "step_count", "round"):
        v = getattr(trainer, attr, None)
        if isinstance(v, int):
            return v
    v = getattr(trainer, "step", 0)
    return v if isinstance(v, int) else 0
