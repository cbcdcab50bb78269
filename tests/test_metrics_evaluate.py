"""``evaluate_run`` / ``ganforge eval``: metric lines with provenance, reference caching, the CLI."""

from __future__ import annotations

import json

import pytest
import torch

from ganforge.cli import main
from ganforge.engine import Trainer
from ganforge.engine.rundir import create_run_dir
from ganforge.commands.eval import evaluate_run
from ganforge.metrics.evaluate import reference_features
from ganforge.metrics.features import mnist_extractor
from ganforge.metrics.record import read_metrics
from ganforge.presets import load_preset

PROVENANCE_KEYS = {"n_fake", "n_real", "features", "features_sha256", "reference", "reference_sha256",
                   "resize", "seed", "checkpoint"}


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    cfg = load_preset("ring8").with_overrides({"train.progress": False, "train.steps": 60, "train.batch_size": 64,
                                               "model.pack": 1, "model.d_maxout": 0, "optim.ema": 0.0,
                                               "train.checkpoint_every": 30, "train.sample_every": 0})
    run_dir = create_run_dir(tmp_path_factory.mktemp("runs") / "ring", cfg)
    Trainer(cfg, run_dir=run_dir).run()
    return run_dir


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    cfg = load_preset("digits").with_overrides({"train.progress": False, "train.steps": 4, "train.batch_size": 16,
                                                "model.g_channels": 8, "model.d_channels": 8,
                                                "train.sample_every": 0, "train.checkpoint_every": 0})
    run_dir = create_run_dir(tmp_path_factory.mktemp("runs") / "digits", cfg)
    Trainer(cfg, run_dir=run_dir).run()
    return run_dir


def test_point_metrics_with_provenance(ring_run):
    lines = evaluate_run(ring_run, ["modes", "js", "prdc"], n=500, seed=3)
    names = [x["metric"] for x in lines]
    assert names == ["modes_captured", "hq_fraction", "reverse_kl", "js", "precision", "recall", "density", "coverage"]
    for line in lines:
        assert PROVENANCE_KEYS <= set(line["provenance"]), line["metric"]
        assert line["provenance"]["seed"] == 3 and line["step"] == 60
    modes = lines[0]
    assert modes["values"]["n_modes"] == 8 and len(modes["values"]["histogram"]) == 8
    assert modes["values"]["real"]["modes_captured"] == 8  # the reference: real samples, same count
    assert lines[3]["provenance"]["density"] == "exact"
    assert read_metrics(ring_run)[-len(lines):] == json.loads(json.dumps(lines))
    again = evaluate_run(ring_run, ["modes"], n=500, seed=3, write=False)
    assert again[0]["value"] == modes["value"] and again[0]["values"] == modes["values"]


def test_every_checkpoint_gives_metrics_over_time(ring_run):
    lines = evaluate_run(ring_run, ["modes"], checkpoint="all", n=300, write=False)
    assert [(x["step"], x["provenance"]["checkpoint"]) for x in lines if x["metric"] == "modes_captured"] == [
        (30, "step-0000030"), (60, "step-0000060")]


def test_image_metrics_cache_reference_features_by_dataset_hash(digits_run, tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_CACHE", str(tmp_path / "cache"))
    lines = evaluate_run(digits_run, ["fid", "kid", "prdc"], features=["mnist"], n=200, n_real=300, write=False)
    fid = next(x for x in lines if x["metric"] == "fid_mnist")
    p = fid["provenance"]
    assert p["n_fake"] == 200 and p["n_real"] == 300 and p["features"] == "mnist"
    assert len(p["features_sha256"]) == 64 and len(p["reference_sha256"]) == 64
    assert "28x28" in p["resize"] and p["reference"].startswith("digits")
    assert fid["value"] > 0
    cached = list((tmp_path / "cache" / "refstats").glob("digits-mnist-*.safetensors"))
    assert len(cached) == 1
    trainer = Trainer.from_checkpoint(next((digits_run / "checkpoints").glob("step-*")))
    ext = mnist_extractor()
    a, key_a = reference_features(trainer.data, ext, 300, 0)
    b, key_b = reference_features(trainer.data, ext, 300, 1)  # another subset, another key
    assert key_a != key_b and not torch.equal(a, b)
    assert len(list((tmp_path / "cache" / "refstats").glob("*.safetensors"))) == 2


def test_metric_names_are_checked(ring_run, digits_run, capsys):
    assert main(["eval", str(ring_run), "--metrics", "stacked"]) == 1
    assert "does not apply to point data" in capsys.readouterr().err
    assert main(["eval", str(digits_run), "--metrics", "fidd"]) == 1
    err = capsys.readouterr().err
    assert "unknown metric 'fidd'" in err and "\n" == err[-1] and err.count("\n") == 1


def test_eval_command_prints_a_table_and_appends(ring_run, capsys):
    before = len(read_metrics(ring_run))
    assert main(["eval", str(ring_run), "--metrics", "modes,js", "-n", "400"]) == 0
    out = capsys.readouterr().out
    assert "modes_captured" in out and "js" in out and "appended 4 line(s)" in out
    assert len(read_metrics(ring_run)) == before + 4


def test_reference_split_compares_against_the_test_images(shared_data, tmp_path, capsys):
    cfg = load_preset("mnist-dcgan").with_overrides({
        "data.data_dir": str(shared_data), "data.limit": 64, "train.steps": 2, "train.batch_size": 16,
        "train.progress": False, "train.sample_every": 0, "train.checkpoint_every": 0,
        "model.g_channels": 8, "model.d_channels": 8})
    run_dir = create_run_dir(tmp_path / "mnist", cfg)
    Trainer(cfg, run_dir=run_dir).run()
    own = evaluate_run(run_dir, ["fid"], features=["mnist"], n=50, write=False)[0]["provenance"]
    test = evaluate_run(run_dir, ["fid"], features=["mnist"], n=50, write=False,
                        reference_split="test")[0]["provenance"]
    assert own["reference"].startswith("mnist (train") and "64 images" in own["reference"]
    assert test["reference"].startswith("mnist (test") and "10000 images" in test["reference"]
    assert test["reference_sha256"] != own["reference_sha256"]


def test_reference_split_needs_a_dataset_with_a_test_split(digits_run, capsys):
    assert main(["eval", str(digits_run), "--metrics", "fid", "--features", "mnist", "--reference-split", "test"]) == 1
    err = capsys.readouterr().err
    assert "no separate test split" in err and err.count("\n") == 1
