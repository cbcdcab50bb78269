"""Classification scores: CAS on planted generators, and eval's accuracy/cas lines on tiny runs."""

from __future__ import annotations

import json

import pytest
import torch

from ganforge.config import Config
from ganforge.engine import Trainer
from ganforge.errors import ConfigError
from ganforge.metrics.accuracy import (
    classification_accuracy_score,
    classifier_accuracy,
    evaluate_label_metrics,
)
from tests.test_ssl import ssl_config, striped

TRAIN, TEST = striped(n_per_class=40, seed=0), striped(n_per_class=30, seed=1, split="test")
TEST_X, TEST_Y = TEST.batch(torch.arange(len(TEST)))


def real_examples_of(labels: torch.Tensor, ignore_class: bool = False, seed: int = 7) -> torch.Tensor:
    """A planted "generator": real training images of the asked class, or of a random class."""
    g = torch.Generator().manual_seed(seed)
    wanted = torch.randint(3, labels.shape, generator=g) if ignore_class else labels
    picks = [(TRAIN.labels == k).nonzero().flatten() for k in range(3)]
    index = torch.stack([picks[k][torch.randint(len(picks[k]), (), generator=g)] for k in wanted.tolist()])
    return TRAIN.batch(index)[0]


def test_a_generator_of_real_class_examples_scores_like_real_data():
    cas = classification_accuracy_score(real_examples_of, 3, 40, TEST_X, TEST_Y, seed=0, steps=80)
    from ganforge.metrics.accuracy import train_classifier

    real = classifier_accuracy(train_classifier(*TRAIN.batch(torch.arange(len(TRAIN))), 3, seed=0, steps=80),
                               TEST_X, TEST_Y)
    assert real >= 0.95 and cas >= real - 0.05


def test_a_generator_that_ignores_its_class_scores_at_chance():
    # its samples say nothing of the asked class, so any classifier's predictions are independent of the
    # true class: 1/K in expectation (one draw is noisy, hence the mean over draws)
    accs = [classification_accuracy_score(lambda y, s=s: real_examples_of(y, ignore_class=True, seed=s), 3, 20, TEST_X,
                                          TEST_Y, seed=s, steps=40) for s in range(8)]
    assert abs(sum(accs) / len(accs) - 1 / 3) < 0.12, accs


def test_eval_writes_accuracy_for_ssl_runs_and_cas_for_conditional_runs(tmp_path):
    ssl = Trainer(ssl_config(**{"train.steps": 2}), run_dir=tmp_path / "ssl", dataset=TRAIN)
    ssl.run(2)
    lines = evaluate_label_metrics(tmp_path / "ssl", ssl.cfg, [ssl.last_checkpoint], ["accuracy"], test=TEST)
    acc = classifier_accuracy(ssl.D, TEST_X, TEST_Y)  # no EMA in this run: D itself
    assert [line["metric"] for line in lines] == ["accuracy"] and lines[0]["value"] == pytest.approx(acc)
    assert lines[0]["provenance"]["labels_per_class"] == 2 and lines[0]["provenance"]["n_real"] == 90
    written = [json.loads(s) for s in (tmp_path / "ssl" / "metrics.jsonl").read_text().splitlines()]
    assert written[-1]["metric"] == "accuracy"
    with pytest.raises(ConfigError, match="metric 'cas' needs a class-conditional generator"):
        evaluate_label_metrics(tmp_path / "ssl", ssl.cfg, [ssl.last_checkpoint], ["cas"], test=TEST)
    with pytest.raises(ConfigError, match="run on their own; evaluate fid"):
        evaluate_label_metrics(tmp_path / "ssl", ssl.cfg, [ssl.last_checkpoint], ["accuracy", "fid"], test=TEST)

    cgan_cfg = Config().with_overrides({
        "data.name": "digits", "model.arch": "dcgan", "model.conditional": True, "model.z_dim": 8,
        "model.g_channels": 4, "model.d_channels": 4, "train.batch_size": 8, "train.progress": False,
        "train.device": "cpu", "train.sample_every": 0, "train.steps": 1})
    cgan = Trainer(cgan_cfg, run_dir=tmp_path / "cgan", dataset=TRAIN)
    cgan.run(1)
    lines = evaluate_label_metrics(tmp_path / "cgan", cgan.cfg, [cgan.last_checkpoint], ["cas"], n=10, steps=5,
                                   test=TEST, write=False)
    assert lines[0]["metric"] == "cas" and 0 <= lines[0]["value"] <= 1
    assert lines[0]["values"]["chance"] == pytest.approx(1 / 3) and lines[0]["provenance"]["n_fake"] == 30
    with pytest.raises(ConfigError, match="metric 'accuracy' scores the D of a semi-supervised run"):
        evaluate_label_metrics(tmp_path / "cgan", cgan.cfg, [cgan.last_checkpoint], ["accuracy"], test=TEST)


def test_export_and_eval_refuse_a_run_that_is_not_semi_supervised(tmp_path, capsys):
    from ganforge.engine.export import export_classifier

    cfg = Config().with_overrides({"data.name": "ring8", "train.steps": 1, "train.progress": False,
                                   "train.device": "cpu", "train.sample_every": 0, "model.g_width": 8,
                                   "model.d_width": 8})
    from ganforge.engine.rundir import create_run_dir

    tr = Trainer(cfg, run_dir=create_run_dir(tmp_path / "r", cfg))
    tr.run(1)
    with pytest.raises(ConfigError, match="--classifier exports the D of a semi-supervised run"):
        export_classifier(tmp_path / "r", tmp_path / "c.pt")
    with pytest.raises(ConfigError, match="accepted: a .pt file"):
        export_classifier(tmp_path / "r", tmp_path / "c.onnx")
    # the same refusal through `ganforge eval`, one line, nothing appended
    from ganforge.cli import main

    assert main(["eval", str(tmp_path / "r"), "--metrics", "accuracy"]) == 1
    assert "scores the D of a semi-supervised run" in capsys.readouterr().err
    assert not (tmp_path / "r" / "metrics.jsonl").exists()
