"""The semi-supervised GAN: the (K+1)-class loss on known logits, one round, resume, bad input, export."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganforge.config import Config
from ganforge.data.base import ImageDataset
from ganforge.engine import Trainer
from ganforge.errors import ConfigError, DataError
from ganforge.games.ssl import mean_feature_matching, real_logit, ssl_d_losses


def striped(n_per_class=40, classes=3, size=8, seed=0, split="train") -> ImageDataset:
    """Class k: a bright band of rows 2k..2k+1 on a dark, noisy 8x8 image (linearly separable)."""
    g = np.random.default_rng(seed)
    images, labels = [], []
    for k in range(classes):
        x = g.integers(0, 60, (n_per_class, 1, size, size))
        x[:, :, 2 * k : 2 * k + 2, :] += 180
        images.append(x)
        labels += [k] * n_per_class
    images = torch.from_numpy(np.concatenate(images).clip(0, 255).astype(np.uint8))
    return ImageDataset(name="striped", images=images, labels=torch.tensor(labels),
                        classes=[str(k) for k in range(classes)], info={"split": split})


def ssl_config(**extra) -> Config:
    base = {"model.game": "ssl", "model.arch": "dcgan", "data.name": "digits", "model.z_dim": 8,
            "model.g_channels": 4, "model.d_channels": 8, "data.labels_per_class": 2, "train.batch_size": 12,
            "train.progress": False, "train.device": "cpu", "train.sample_every": 0, "train.log_every": 1,
            "optim.lr_d": 3e-3, "optim.lr_g": 3e-3, "loss.d_input_noise": 0.1}
    return Config().with_overrides({**base, **extra})


# ----------------------------------------------------------------------------- the loss on known logits


def test_fixed_logit_trick_gives_the_k_plus_one_softmax():
    torch.manual_seed(0)
    logits = torch.randn(5, 4) * 3  # (B, K)
    full = torch.softmax(torch.cat([logits, torch.zeros(5, 1)], 1), 1)  # (B, K+1), generated logit 0
    p_real = torch.sigmoid(real_logit(logits))
    torch.testing.assert_close(p_real, 1 - full[:, -1])
    # among real classes, the K logits alone give the same class probabilities
    torch.testing.assert_close(torch.softmax(logits, 1), full[:, :-1] / p_real[:, None])
    # all logits 0: Z = K, so D(x) = K / (K + 1)
    assert torch.sigmoid(real_logit(torch.zeros(1, 4))).item() == pytest.approx(4 / 5)


def test_ssl_losses_equal_the_explicit_k_plus_one_cross_entropies():
    torch.manual_seed(1)
    lab, unl, fake = torch.randn(6, 3), torch.randn(7, 3), torch.randn(5, 3)
    y = torch.tensor([0, 1, 2, 2, 1, 0])
    sup, unsup = ssl_d_losses(lab, y, unl, fake)

    def full(l):  # (B, K+1) log-probabilities with the generated class last, its logit fixed at 0
        return torch.log_softmax(torch.cat([l, torch.zeros(len(l), 1)], 1), 1)

    # supervised: p(y | x, real) = exp(l_y) / Z, the K-way cross-entropy
    expected_sup = -(full(lab).gather(1, y[:, None]).squeeze(1) - torch.log1p(-full(lab)[:, -1].exp())).mean()
    torch.testing.assert_close(sup, expected_sup)
    torch.testing.assert_close(sup, F.cross_entropy(lab, y))
    # unsupervised: -log(1 - p(generated | x)) on real data, -log p(generated | G(z)) on fakes, halved
    expected_unsup = 0.5 * (-torch.log1p(-full(unl)[:, -1].exp()).mean() - full(fake)[:, -1].mean())
    torch.testing.assert_close(unsup, expected_unsup)


def test_feature_matching_is_the_squared_distance_of_batch_means():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # means (2, 3)
    fake = torch.tensor([[0.0, 0.0], [0.0, 2.0], [0.0, 4.0]], requires_grad=True)  # means (0, 2)
    loss = mean_feature_matching(real, fake)
    assert loss.item() == pytest.approx(((2 - 0) ** 2 + (3 - 2) ** 2) / 2)
    loss.backward()
    assert fake.grad is not None and real.grad is None


# ----------------------------------------------------------------------------- training on the engine


def weights(trainer) -> dict[str, torch.Tensor]:
    return {f"{m}.{k}": v.clone() for m, net in trainer.modules().items() for k, v in net.state_dict().items()}


def test_one_round_moves_g_and_d_and_reports_every_term():
    trainer = Trainer(ssl_config(), dataset=striped())
    assert trainer.D(torch.zeros(2, 1, 8, 8)).shape == (2, 3)  # K class logits
    assert len(trainer.game.labelled) == 6 and trainer.game.labelled.labels.tolist() == [0, 0, 1, 1, 2, 2]
    before = weights(trainer)
    stats = trainer.step()
    assert {"d_sup", "d_unsup", "d_loss", "g_loss", "d_real", "d_fake", "train_acc"} <= set(stats)
    assert all(np.isfinite(v) for v in stats.values())
    assert stats["d_loss"] == pytest.approx(stats["d_sup"] + stats["d_unsup"], rel=1e-5)
    after = weights(trainer)
    for name in ("G", "D"):
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(name + ".")), name
    # 12 labelled images a round from a subset of 6: two whole passes
    assert trainer.game.labelled_stream.state_dict() == {"epoch": 1, "position": 6}


def test_d_learns_the_classes_from_two_labels_each():
    train, test = striped(seed=0), striped(n_per_class=30, seed=1, split="test")
    trainer = Trainer(ssl_config(**{"train.steps": 60}), dataset=train)
    for _ in range(60):
        trainer.step()
    from ganforge.metrics.accuracy import classifier_accuracy

    acc = classifier_accuracy(trainer.D, test.batch(torch.arange(len(test)))[0], test.labels)
    assert acc >= 0.9, acc


def test_resume_is_bit_exact_including_the_labelled_stream(tmp_path):
    data = striped()
    a = Trainer(ssl_config(), dataset=data)
    for _ in range(2):
        a.step()
    path = a.save_checkpoint(tmp_path / "ck")
    for _ in range(3):
        a.step()
    b = Trainer.from_checkpoint(path, dataset=data)
    assert b.game.labelled_stream.state_dict() == {"epoch": 3, "position": 6}
    for _ in range(3):
        b.step()
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def test_bad_input_is_one_line():
    unlabelled = striped()
    unlabelled.labels, unlabelled.classes = None, None
    with pytest.raises(DataError, match="needs a labelled dataset"):
        Trainer(ssl_config(), dataset=unlabelled)
    with pytest.raises(DataError, match="41 labels per class asked, but class 0 has only 40"):
        Trainer(ssl_config(**{"data.labels_per_class": 41}), dataset=striped())
    with pytest.raises(ConfigError, match="model.game 'ssl' goes with model.arch 'dcgan'"):
        ssl_config(**{"model.arch": "resnet"})
    with pytest.raises(ConfigError, match="data.labels_per_class must be an integer >= 1"):
        ssl_config(**{"data.labels_per_class": 0})


def test_classifier_export_runs_without_ganforge_and_matches_d(tmp_path):
    from ganforge.cli import main

    trainer = Trainer(ssl_config(**{"train.steps": 2, "optim.ema": 0.9}), run_dir=tmp_path / "run", dataset=striped())
    trainer.run(2)
    out, meta = tmp_path / "clf.pt", tmp_path / "clf.pt.json"
    assert main(["export", str(tmp_path / "run"), "--classifier", "--out", str(out)]) == 0
    assert main(["export", str(tmp_path / "run"), "--classifier", "--out", str(out)]) == 1  # no overwrite
    clf = torch.jit.load(str(out))
    x = striped(n_per_class=2, seed=3).batch(torch.arange(6))[0]
    with torch.no_grad():
        expected = trainer.ema_nets["D"](x)  # the moving average of D is the classifier when kept
    torch.testing.assert_close(clf(x), expected)
    info = json.loads(meta.read_text())
    assert info["input_shape"] == [1, 8, 8] and info["classes"] == 3 and info["input_range"] == [-1, 1]
