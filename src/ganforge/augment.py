"""Does a conditional GAN help when labels are scarce? Four training sets, one classifier, many seeds.

Given a small labelled set (``per_class`` examples of each class, a fixed seeded choice from the
train split, :mod:`ganforge.data.labelled`), :func:`augmentation_table` trains a class-conditional
GAN on it with the engine (in memory), then trains the same small classifier
(:func:`ganforge.metrics.accuracy.train_classifier`) on

* ``real``: the labelled images only;
* ``real+classical``: the same, each batch shifted by up to 2 pixels (and mirrored left-right where
  the data allows: not for digits, whose mirror images are other shapes);
* ``real+synthetic``: the labelled images plus G's samples of each class, labelled by the class asked;
* ``all``: real and synthetic images, with the classical augmentation;

and reports each setting's test-split accuracy over several classifier seeds, with the spread.
Synthetic data helps only in some settings (Ravuri and Vinyals 2019: classifiers trained on BigGAN
samples fall far short of real data); the table says which case a dataset is.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import torch

from ganforge.config import Config
from ganforge.data.base import ImageDataset
from ganforge.errors import ConfigError
from ganforge.metrics.accuracy import classifier_accuracy, train_classifier

SETTINGS = ("real", "real+classical", "real+synthetic", "all")
FLIP_DATASETS = ("cifar10", "fashion-mnist")  # left-right mirrors are still examples of their class
MAX_SHIFT = 2  # pixels


def classical_augmentation(flip: bool, max_shift: int = MAX_SHIFT) -> Callable:
    """``augment(x, generator)``: each image of x (B, C, H, W) in [-1, 1] shifted by a random
    integer offset in [-max_shift, max_shift] on each axis (the border filled with -1, the
    background) and, when ``flip``, mirrored left-right with probability 1/2."""

    def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        B, _, H, W = x.shape
        padded = torch.nn.functional.pad(x, (max_shift,) * 4, value=-1.0)  # (B, C, H + 2s, W + 2s)
        offsets = torch.randint(0, 2 * max_shift + 1, (B, 2), generator=g)  # (B, 2): top, left
        out = torch.stack([padded[i, :, t : t + H, l : l + W] for i, (t, l) in enumerate(offsets.tolist())])
        if flip:
            mirror = torch.rand(B, generator=g) < 0.5  # (B,)
            out[mirror] = out[mirror].flip(-1)
        return out

    return augment


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def train_conditional_gan(cfg: Config, labelled: ImageDataset, steps: int, log: Callable = print):
    """A class-conditional G trained by the engine on ``labelled`` for ``steps`` rounds (in memory)."""
    from ganforge.engine import Trainer

    cfg = cfg.with_overrides({"model.game": "gan", "model.conditional": True, "train.steps": steps,
                              "train.progress": False})
    trainer = Trainer(cfg, dataset=labelled)
    for i in range(steps):
        stats = trainer.step()
        if (i + 1) % max(1, steps // 5) == 0 or i + 1 == steps:
            log(f"  GAN round {i + 1}/{steps}: d_loss {stats['d_loss']:.3f}, g_loss {stats['g_loss']:.3f}")
    return trainer.generator()


def augmentation_table(cfg: Config, train: ImageDataset, test: ImageDataset, per_class: int, seeds: int = 5,
                       label_seed: int = 0, gan_steps: int = 2000, synthetic_per_class: int = 500,
                       classifier_steps: int = 500, log: Callable = print) -> dict:
    """Test accuracy of each of :data:`SETTINGS` over ``seeds`` classifier seeds (see the module doc).

    cfg: the conditional GAN's configuration (e.g. preset mnist-cgan); train/test: the dataset's
    two splits. The labelled subset (``label_seed``) and the GAN are the same for every seed; the
    seeds vary the classifier's initialisation, batches and augmentation, and the synthetic draw.
    Returns a JSON-ready dict: the settings' rows (mean, std, per-seed accuracies) and the facts.
    """
    from ganforge.data.labelled import check_disjoint, labelled_subset

    if seeds < 2:
        raise ConfigError(f"--seeds must be >= 2 (the spread needs two), got {seeds}")
    for name, value in (("--gan-steps", gan_steps), ("--synthetic-per-class", synthetic_per_class),
                        ("--classifier-steps", classifier_steps)):
        if value < 1:
            raise ConfigError(f"{name} must be >= 1, got {value}")
    labelled = labelled_subset(train, per_class, label_seed)
    check_disjoint(labelled, test)
    K = train.n_classes
    log(f"{len(labelled)} labelled images ({per_class} per class, label seed {label_seed}); training the "
        f"conditional GAN for {gan_steps} rounds")
    G = train_conditional_gan(cfg, labelled, gan_steps, log)
    x_real, y_real = labelled.batch(torch.arange(len(labelled)))  # (N, C, H, W), (N,)
    x_test, y_test = test.batch(torch.arange(len(test)))
    classical = classical_augmentation(flip=train.name in FLIP_DATASETS)
    accuracies = {s: [] for s in SETTINGS}
    for seed in range(seeds):
        y_syn = torch.arange(K).repeat_interleave(synthetic_per_class)  # (K * n,)
        x_syn = G.generate(len(y_syn), labels=y_syn, generator=torch.Generator().manual_seed(seed))
        sets = {
            "real": (x_real, y_real, None),
            "real+classical": (x_real, y_real, classical),
            "real+synthetic": (torch.cat([x_real, x_syn]), torch.cat([y_real, y_syn]), None),
            "all": (torch.cat([x_real, x_syn]), torch.cat([y_real, y_syn]), classical),
        }
        for setting, (x, y, augment) in sets.items():
            net = train_classifier(x, y, K, seed, classifier_steps, augment=augment)
            accuracies[setting].append(classifier_accuracy(net, x_test, y_test))
        log(f"  seed {seed}: " + ", ".join(f"{s} {accuracies[s][-1]:.4f}" for s in SETTINGS))
    rows = []
    for setting in SETTINGS:
        mean, std = _mean_std(accuracies[setting])
        rows.append({"setting": setting, "accuracy_mean": mean, "accuracy_std": std,
                     "accuracies": accuracies[setting]})
    return {
        "dataset": train.name, "labels_per_class": per_class, "label_seed": label_seed, "classes": K,
        "seeds": seeds, "gan_preset": cfg.preset, "gan_steps": gan_steps, "synthetic_per_class": synthetic_per_class,
        "classifier": "SmallCNN (ganforge.metrics.accuracy)", "classifier_steps": classifier_steps,
        "classical": f"shifts up to {MAX_SHIFT} px" + (" and left-right mirrors" if train.name in FLIP_DATASETS else ""),
        "test_images": len(test), "rows": rows,
    }


def format_table(result: dict) -> str:
    """The table as Markdown: setting, mean test accuracy +- std over seeds, error."""
    title = (f"{result['dataset']}, {result['labels_per_class']} labels per class, {result['seeds']} seeds "
             f"(mean ± std of test accuracy)")
    lines = [title, "", "| training set | test accuracy | test error |", "|---|---|---|"]
    for row in result["rows"]:
        m, s = row["accuracy_mean"], row["accuracy_std"]
        lines.append(f"| {row['setting']} | {100 * m:.2f}% ± {100 * s:.2f} | {100 * (1 - m):.2f}% |")
    return "\n".join(lines)
