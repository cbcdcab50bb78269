"""Scoring translators on their test split (`ganforge eval` on pix2pix and CycleGAN runs), the
facades baseline, and the report's translation section."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.commands.eval import evaluate_run
from ganforge.data.paired import load_facades, load_paired
from ganforge.engine.generator import load_translator
from ganforge.errors import ConfigError, DataError
from ganforge.metrics.record import metric_line, read_metrics, tensor_sha256
from ganforge.metrics.translation import paired_scores, summary
from ganforge.report import build_report
from ganforge.translate import translate_image
from tests.test_translate import CYCLEGAN, ganforge, train_tiny, write_pairs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("translation-eval")
    data = write_pairs(root / "pairs", n_train=4, n_test=3)
    return {"data": data, "pix2pix": train_tiny(root / "p2p", data),
            "cyclegan": train_tiny(root / "cyc", data, **CYCLEGAN)}


def _expected_l1(run, direction, inputs, targets):
    """L1 recomputed through the public API: each test input translated as `ganforge translate` does."""
    T = load_translator(run, direction)
    errors = []
    for x, y in zip(inputs, targets):
        out = np.asarray(translate_image(T, x.permute(1, 2, 0).numpy())).astype(np.float64)  # (H, W, 3)
        errors.append(np.abs(out - y.permute(1, 2, 0).numpy()).mean() / 255.0)
    return float(np.mean(errors))


# ----------------------------------------------------------------------------- scores


def test_paired_scores_on_known_images():
    targets = torch.randint(0, 200, (3, 3, 16, 16), dtype=torch.uint8)
    same = paired_scores(targets.float() / 127.5 - 1, targets)
    assert torch.allclose(same["l1"], torch.zeros(3, dtype=torch.float64), atol=1e-12)
    assert torch.isinf(same["psnr"]).all() and torch.allclose(same["ssim"], torch.ones(3, dtype=torch.float64))
    s = summary(same["psnr"])
    assert s["n_identical"] == 3 and s["n_pairs"] == 3
    assert json.loads(json.dumps(metric_line(0, "psnr_AtoB", s["mean"], s, {})))["value"] is None  # inf -> null

    brighter = (targets.double() + 26) / 127.5 - 1  # every pixel 26 levels above its target
    scores = paired_scores(brighter, targets)
    assert torch.allclose(scores["l1"], torch.full((3,), 26 / 255, dtype=torch.float64))
    assert torch.allclose(scores["psnr"], torch.full((3,), 10 * np.log10((255 / 26) ** 2), dtype=torch.float64))


# ----------------------------------------------------------------------------- a run


def test_eval_of_a_pix2pix_run_writes_lines_with_provenance(runs):
    run = runs["pix2pix"]
    code, out, err = ganforge("eval", run, "--features", "mnist")
    assert code == 0, err
    assert "psnr_AtoB" in out
    lines = {line["metric"]: line for line in read_metrics(run)}
    assert set(lines) == {"l1_AtoB", "psnr_AtoB", "ssim_AtoB", "fid_mnist_AtoB", "kid_mnist_AtoB"}
    test = load_paired(runs["data"], "test", "AtoB", 16)
    for line in lines.values():
        p = line["provenance"]
        assert p["direction"] == "AtoB" and p["n_pairs"] == 3 and p["n_fake"] == 3 and p["n_real"] == 3
        assert p["reference_sha256"] == tensor_sha256(test.targets)  # exactly the targets scored
        assert p["inputs_sha256"] == tensor_sha256(test.inputs)
        assert p["dataset_sha256"] == test.source_hash
        assert p["checkpoint"] == "step-0000003" and line["step"] == 3 and p["seed"] == 0
        assert "test targets" in p["reference"]
    assert lines["fid_mnist_AtoB"]["provenance"]["features"] == "mnist"
    assert lines["fid_mnist_AtoB"]["provenance"]["features_sha256"]
    assert lines["l1_AtoB"]["provenance"]["features"] == "none (pixels)"
    assert lines["l1_AtoB"]["values"]["n_pairs"] == 3
    assert lines["l1_AtoB"]["value"] == pytest.approx(_expected_l1(run, "AtoB", test.inputs, test.targets), abs=1e-9)
    # the same seed gives the same numbers (pix2pix's test-time dropout is seeded)
    again = evaluate_run(run, ["l1"], write=False)
    assert again[0]["value"] == lines["l1_AtoB"]["value"]


def test_a_cyclegan_on_paired_halves_is_scored_both_ways(runs):
    run = runs["cyclegan"]
    lines = evaluate_run(run, ["l1", "psnr"], write=False, n=2)
    assert [line["metric"] for line in lines] == ["l1_AtoB", "psnr_AtoB", "l1_BtoA", "psnr_BtoA"]
    test = load_paired(runs["data"], "test", "AtoB", 16, limit=2)
    assert lines[2]["value"] == pytest.approx(_expected_l1(run, "BtoA", test.b, test.a), abs=1e-9)
    assert lines[2]["provenance"]["reference_sha256"] == tensor_sha256(test.a)  # BtoA: A is the target
    assert all(line["provenance"]["n_pairs"] == 2 for line in lines)


def test_unpaired_test_data_gets_only_feature_metrics(tmp_path):
    rng = np.random.default_rng(2)
    for folder, n in (("trainA", 4), ("trainB", 5), ("testA", 3), ("testB", 2)):
        (tmp_path / "u" / folder).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(tmp_path / "u" / folder / f"{i}.png")
    run = train_tiny(tmp_path / "run", tmp_path / "u", **CYCLEGAN, **{"data.name": "unpaired"})
    lines = evaluate_run(run, None, write=False, features=["mnist"])
    assert [line["metric"] for line in lines] == ["fid_mnist_AtoB", "kid_mnist_AtoB", "fid_mnist_BtoA", "kid_mnist_BtoA"]
    assert lines[0]["provenance"]["n_fake"] == 3 and lines[0]["provenance"]["n_real"] == 2  # 3 A -> B, against 2 B
    with pytest.raises(ConfigError, match="unpaired"):
        evaluate_run(run, ["psnr"], write=False)


def test_bad_requests_are_one_line(runs, tmp_path):
    with pytest.raises(ConfigError, match="unknown metric 'prdc'"):
        evaluate_run(runs["pix2pix"], ["prdc"], write=False)
    with pytest.raises(ConfigError, match="--reference-split"):
        evaluate_run(runs["pix2pix"], ["l1"], write=False, reference_split="test")
    flat = tmp_path / "flat"
    flat.mkdir()
    for p in (runs["data"] / "train").iterdir():
        shutil.copy(p, flat / p.name)
    run = train_tiny(tmp_path / "run", flat)
    with pytest.raises(DataError, match="only the 'train' split"):
        evaluate_run(run, ["l1"], write=False)
    code, _, err = ganforge("eval", run, "--metrics", "l1")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "only the 'train' split" in err


# ----------------------------------------------------------------------------- report


def test_report_of_a_translator_shows_triplets_and_metrics(runs, tmp_path):
    run = shutil.copytree(runs["pix2pix"], tmp_path / "p2p")
    evaluate_run(run, ["l1", "psnr", "ssim"])
    page = build_report(run)
    assert "<h2>Translations</h2>" in page
    assert "Each row: input | output | target" in page  # the samples/ grids over training
    assert "AtoB: input | output | target" in page  # the fresh grid of the test pairs
    assert "<th>psnr</th>" in page and "<td>AtoB</td>" in page
    assert "The test split is not shown" not in page

    # without the data the report still builds and says why in one line
    cfg = json.loads((run / "config.json").read_text())
    cfg["data"]["path"] = str(tmp_path / "moved-away")
    (run / "config.json").write_text(json.dumps(cfg))
    page = build_report(run)
    assert "The test split is not shown: " in page and "moved-away does not exist" in page
    assert "<td>AtoB</td>" in page  # the recorded metrics are still there


# ----------------------------------------------------------------------------- real data


@pytest.mark.data
def test_mean_training_photo_baseline_on_facades(shared_data):
    """The mean of the 400 train photos as the answer for every test label map, at 256 px: about
    13.3 dB PSNR and SSIM 0.24 (the number quoted when pix2pix's metrics were requested)."""
    path = shared_data / "facades.tar.gz"
    train = load_facades("train", "BtoA", 256, path=path)  # targets: the photos
    test = load_facades("test", "BtoA", 256, path=path)
    assert len(train) == 400 and len(test) == 106
    mean = train.targets.double().mean(0, keepdim=True) / 127.5 - 1  # (1, 3, 256, 256) in [-1, 1]
    scores = paired_scores(mean.expand(len(test), -1, -1, -1), test.targets, ("psnr", "ssim"))
    assert abs(float(scores["psnr"].mean()) - 13.3) < 0.3
    assert abs(float(scores["ssim"].mean()) - 0.24) < 0.03
