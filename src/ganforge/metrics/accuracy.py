"""Classification scores: a semi-supervised D's test accuracy, and the Classification Accuracy Score.

* ``accuracy``: the test-split accuracy of a semi-supervised run's D (its moving average when kept),
  K class logits per image (see :mod:`ganforge.games.ssl`). The labelled examples it learned from
  come from the train split only.
* ``cas``: the Classification Accuracy Score (Ravuri and Vinyals 2019) of a class-conditional G:
  a fresh classifier is trained on G's samples only, ``n`` per class with their asked classes as
  labels, and tested on the real test split. A G that makes real examples of the asked class scores
  like real training data; one that ignores the class scores at chance (1/K).

:func:`train_classifier` (a small CNN, seeded) is shared with ``ganforge augment``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError

LABEL_METRICS = ("accuracy", "cas")


class SmallCNN(nn.Module):
    """images (N, C, R, R) in [-1, 1] -> class logits (N, K): two conv + max-pool stages, one linear layer."""

    def __init__(self, channels: int, resolution: int, n_classes: int, width: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, w, R/2, R/2)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (N, 2w, R/4, R/4)
            nn.Flatten(),
        )
        self.head = nn.Linear(2 * width * (resolution // 4) ** 2, n_classes)  # (N, K)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def train_classifier(x: torch.Tensor, y: torch.Tensor, n_classes: int, seed: int, steps: int = 500,
                     batch: int = 64, lr: float = 1e-3, augment: Callable | None = None) -> SmallCNN:
    """A :class:`SmallCNN` trained on images ``x`` (N, C, R, R) in [-1, 1] with classes ``y`` (N,).

    ``steps`` Adam updates on batches drawn with replacement (so a tiny and a large training set
    get the same work); ``augment(batch, generator)`` transforms each batch when given. The
    initialisation, the batches and the augmentation all follow ``seed``; returned in eval mode.
    """
    if len(x) == 0:
        raise ConfigError("a classifier needs at least one training image")
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = SmallCNN(x.shape[1], x.shape[2], n_classes)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(steps):
        index = torch.randint(len(x), (min(batch, len(x)),), generator=g)
        xb = x[index]
        if augment is not None:
            xb = augment(xb, g)
        loss = F.cross_entropy(net(xb), y[index])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return net.eval().requires_grad_(False)


@torch.no_grad()
def classifier_accuracy(net: Callable, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    """Fraction of images ``x`` (N, ...) whose argmax of ``net(x)`` (N, K) equals ``y`` (N,)."""
    right = 0
    for i in range(0, len(x), batch):
        right += int((net(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum())
    return right / max(1, len(x))


def classification_accuracy_score(generate: Callable, n_classes: int, n_per_class: int, test_x: torch.Tensor,
                                  test_y: torch.Tensor, seed: int = 0, steps: int = 500) -> float:
    """CAS (Ravuri and Vinyals 2019): train on ``n_per_class`` samples of each class from
    ``generate(labels) -> images`` (labels (n,) int64 -> (n, C, R, R) in [-1, 1]), test on real
    ``test_x`` (N, C, R, R) with ``test_y`` (N,). Returns the real test accuracy."""
    labels = torch.arange(n_classes).repeat_interleave(n_per_class)  # (K * n,)
    fake = generate(labels)
    net = train_classifier(fake, labels, n_classes, seed, steps)
    return classifier_accuracy(net, test_x, test_y)


# ----------------------------------------------------------------------------- ganforge eval


def _test_split(cfg, data_dir):
    """The run's dataset's test split (mnist, fashion-mnist, cifar10), same resolution and channels."""
    import dataclasses

    from ganforge.metrics.evaluate import reference_dataset

    data_cfg = dataclasses.replace(cfg.data, data_dir=str(data_dir)) if data_dir else cfg.data
    return reference_dataset(data_cfg, "test")


def evaluate_label_metrics(run_dir, cfg, paths, metrics, write: bool = True, data_dir=None, n: int | None = None,
                           seed: int = 0, ema: bool = True, steps: int = 500, test=None) -> list[dict]:
    """``ganforge eval --metrics accuracy|cas``: one ``metrics.jsonl`` line per metric and checkpoint.

    accuracy: a semi-supervised run's D on the test split. cas: a conditional G's samples, ``n``
    per class (default 1000), train a classifier (``steps`` updates) tested on the test split.
    ``test`` replaces the test split (an ImageDataset), for data without one.
    """
    from ganforge.engine.generator import checkpoint_step, load_generator, load_networks
    from ganforge.metrics.record import append_metrics, metric_line, provenance

    other = [m for m in metrics if m not in LABEL_METRICS]
    if other:
        raise ConfigError(f"metrics {', '.join(LABEL_METRICS)} run on their own; evaluate {', '.join(other)} "
                          f"in a second `ganforge eval` call")
    if "accuracy" in metrics and cfg.model.game != "ssl":
        raise ConfigError(f"metric 'accuracy' scores the D of a semi-supervised run (model.game 'ssl'); "
                          f"this run is model.game {cfg.model.game!r} (use cas for a conditional G)")
    if "cas" in metrics and not (cfg.model.game == "gan" and cfg.model.conditional):
        raise ConfigError("metric 'cas' needs a class-conditional generator (model.conditional true, e.g. "
                          "--preset mnist-cgan); this run's G takes no class")
    test = test if test is not None else _test_split(cfg, data_dir)
    x, y = test.batch(torch.arange(len(test)))
    reference = f"{test.name} ({test.info.get('split', 'test')}, {len(test)} images)"
    lines = []
    for path in paths:
        step, first = checkpoint_step(path), len(lines)
        if "accuracy" in metrics:
            _, _, nets = load_networks(path)
            use_ema = ema and "D_ema" in nets
            acc = classifier_accuracy(nets["D_ema"] if use_ema else nets["D"], x, y)
            p = provenance(n_fake=0, n_real=len(test), features="D (the run's K class logits)", features_sha256=None,
                           reference=reference, reference_sha256=test.source_hash or None, resize="none",
                           seed=seed, ema=use_ema, checkpoint_step=step,
                           labels_per_class=cfg.data.labels_per_class, label_seed=cfg.data.label_seed)
            lines.append(metric_line(step, "accuracy", acc, {"error": 1 - acc}, p))
        if "cas" in metrics:
            G = load_generator(path, ema=ema)
            per = n or 1000
            g = torch.Generator().manual_seed(seed)
            cas = classification_accuracy_score(
                lambda labels, G=G, g=g: G.generate(len(labels), labels=labels, generator=g), G.n_classes, per, x, y,
                seed, steps)
            p = provenance(n_fake=per * G.n_classes, n_real=len(test), features="SmallCNN trained on samples only",
                           features_sha256=None, reference=reference, reference_sha256=test.source_hash or None,
                           resize="none", seed=seed, ema=ema and (path / "G_ema.safetensors").is_file(),
                           checkpoint_step=step, classifier_steps=steps)
            lines.append(metric_line(step, "cas", cas, {"chance": 1 / G.n_classes}, p))
        for line in lines[first:]:
            line["provenance"]["checkpoint"] = path.name
    if write:
        append_metrics(run_dir, lines)
    return lines
