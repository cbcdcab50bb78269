"""``ganforge augment``: classical augmentation, the four-setting table, the command and its bad input."""

from __future__ import annotations

import json
import statistics

import pytest
import torch

from ganforge.augment import (
    SETTINGS,
    augmentation_table,
    classical_augmentation,
    format_table,
)
from ganforge.cli import main
from ganforge.config import Config
from tests.test_ssl import striped


def test_shift_moves_a_planted_pixel_at_most_two_pixels_and_fills_with_background():
    x = torch.full((64, 1, 9, 9), -1.0)
    x[:, 0, 4, 4] = 1.0  # one bright pixel in the centre
    out = classical_augmentation(flip=False)(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and ((out == 1).sum((1, 2, 3)) == 1).all()  # moved, never lost
    where = (out[:, 0] == 1).nonzero()[:, 1:] - 4  # (64, 2) offsets
    assert where.abs().max() == 2 and len({tuple(o) for o in where.tolist()}) > 10
    again = classical_augmentation(flip=False)(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)  # the seed alone decides


def test_mirrors_only_where_the_data_allows():
    x = torch.full((200, 1, 5, 5), -1.0)
    x[:, 0, 2, 0] = 1.0  # a pixel on the left edge's column 0 (shifts of 0 keep it; mirrors move it right)
    flipped = classical_augmentation(flip=True, max_shift=0)(x, torch.Generator().manual_seed(1))
    right = (flipped[:, 0, 2, 4] == 1).float().mean().item()
    assert 0.35 < right < 0.65  # about half mirrored
    kept = classical_augmentation(flip=False, max_shift=0)(x, torch.Generator().manual_seed(1))
    assert torch.equal(kept, x)


def tiny_gan_config() -> Config:
    return Config().with_overrides({"data.name": "digits", "model.arch": "dcgan", "model.z_dim": 8,
                                    "model.g_channels": 4, "model.d_channels": 4, "train.batch_size": 8,
                                    "train.device": "cpu", "train.sample_every": 0})


def test_table_has_every_setting_with_its_seeds_and_spread():
    train, test = striped(n_per_class=20, seed=0), striped(n_per_class=10, seed=1, split="test")
    logged = []
    result = augmentation_table(tiny_gan_config(), train, test, per_class=3, seeds=2, gan_steps=2,
                                synthetic_per_class=4, classifier_steps=30, log=logged.append)
    assert [row["setting"] for row in result["rows"]] == list(SETTINGS)
    for row in result["rows"]:
        assert len(row["accuracies"]) == 2 and all(0 <= a <= 1 for a in row["accuracies"])
        assert row["accuracy_mean"] == pytest.approx(statistics.fmean(row["accuracies"]))
        assert row["accuracy_std"] == pytest.approx(statistics.stdev(row["accuracies"]))
    real = result["rows"][0]["accuracy_mean"]
    assert real > 0.9  # 3 labels per class suffice on these separable stripes
    assert result["classical"] == "shifts up to 2 px" and result["test_images"] == 30
    assert "| real+synthetic |" in format_table(result) and any("seed 1" in line for line in logged)


def run_cli(args, capsys):
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_command_end_to_end_on_mnist_and_its_bad_input(shared_data, tmp_path, capsys):
    out = tmp_path / "aug.json"
    common = ["augment", "--data-dir", str(shared_data), "--n-test", "100", "--gan-steps", "2",
              "--synthetic-per-class", "3", "--classifier-steps", "3", "--set", "model.g_channels=4",
              "--set", "model.d_channels=4", "--set", "train.batch_size=8"]
    code, stdout, _ = run_cli(common + ["--labels-per-class", "2", "--seeds", "2", "--out", str(out)], capsys)
    assert code == 0 and "| real+classical |" in stdout
    result = json.loads(out.read_text())
    assert result["dataset"] == "mnist" and result["labels_per_class"] == 2 and result["test_images"] == 100
    assert [len(r["accuracies"]) for r in result["rows"]] == [2, 2, 2, 2]

    for extra, message in [
        (["--out", str(out)], "already exists; use --overwrite"),
        (["--labels-per-class", "7000", "--out", str(tmp_path / "x.json")], "7000 labels per class asked, but class"),
        (["--seeds", "1", "--out", str(tmp_path / "y.json")], "--seeds must be >= 2"),
        (["--preset", "ring8"], "is not an image GAN"),
        (["--preset", "digits"], "has no separate test split"),
    ]:
        code, _, err = run_cli(common + extra, capsys)
        assert code == 1 and message in err and len(err.strip().splitlines()) == 1, (extra, err)
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "y.json").exists()
