"""The classifier two-sample test (C2ST): planted cases with known answers, its statistics against
their formulas, determinism under a seed, `ganforge eval --metrics c2st` with provenance, and the
lab's three accuracies (the game's D, D*, a fresh classifier)."""

from __future__ import annotations

import math

import pytest
import torch

from ganforge.data.mixtures import make_distribution
from ganforge.errors import ConfigError
from ganforge.metrics.c2st import (
    binomial_p_value,
    c2st,
    c2st_samples,
    quantize_like,
    wilson_interval,
)
from ganforge.metrics.evaluate import evaluate_samples


def _draw(name, n, seed):
    return make_distribution(name).sample(n, torch.Generator().manual_seed(seed))  # (n, 2)


@pytest.mark.parametrize("classifier", ["knn", "mlp"])
def test_a_fresh_draw_of_the_data_is_not_separated(classifier):
    real, fresh = _draw("ring8", 1000, 1), _draw("ring8", 1000, 2)
    r = c2st(real, fresh, classifier, seed=0)
    assert r.ci_low <= 0.5 <= r.ci_high, r
    assert r.p_value > 0.01 and not r.separates()
    assert r.n_test == 1000 and r.n_train == 1000 and r.seed == 0


@pytest.mark.parametrize("classifier", ["knn", "mlp"])
def test_shifted_data_is_separated_almost_perfectly(classifier):
    real, fresh = _draw("ring8", 1000, 1), _draw("ring8", 1000, 2)
    r = c2st(real, fresh + torch.tensor([0.05, 0.0]), classifier, seed=0)  # 5 mode widths to the right
    assert r.accuracy > 0.97 and r.ci_low > 0.95 and r.p_value < 1e-100 and r.separates()


def test_same_seed_same_result_other_seed_other_split():
    real, fake = _draw("moons", 600, 1), _draw("moons", 600, 2) * 1.1
    for classifier in ("knn", "mlp"):
        a, b = c2st(real, fake, classifier, seed=7), c2st(real, fake, classifier, seed=7)
        assert a == b
    assert c2st(real, fake, "mlp", seed=7).to_dict() != c2st(real, fake, "mlp", seed=8).to_dict()


def test_c2st_leaves_the_global_rng_alone():
    real, fake = _draw("moons", 200, 1), _draw("moons", 200, 2)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    c2st(real, fake, "mlp", seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_wilson_interval_and_binomial_p_value_match_their_formulas():
    lo, hi = wilson_interval(80, 100)  # Wilson 1927 with z = 1.959964
    z = 1.959963984540054
    centre = (0.8 + z * z / 200) / (1 + z * z / 100)
    half = z * math.sqrt(0.8 * 0.2 / 100 + z * z / 40000) / (1 + z * z / 100)
    assert lo == pytest.approx(centre - half, abs=1e-12) and hi == pytest.approx(centre + half, abs=1e-12)
    assert (lo, hi) == pytest.approx((0.7112, 0.8666), abs=1e-4)
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0) and wilson_interval(0, 10)[0] == pytest.approx(0.0)
    # P(X >= k), X ~ Bin(n, 1/2), summed by hand
    assert binomial_p_value(8, 10) == pytest.approx((45 + 10 + 1) / 1024, abs=1e-15)
    assert binomial_p_value(0, 10) == pytest.approx(1.0) and binomial_p_value(10, 10) == pytest.approx(1 / 1024)


def test_sets_are_balanced_and_bad_input_is_one_line():
    r = c2st(_draw("ring8", 300, 1), _draw("ring8", 50, 2), "knn")
    assert r.n_test + r.n_train == 100  # 50 of each: chance stays exactly 1/2
    with pytest.raises(ConfigError, match="same width"):
        c2st(torch.zeros(10, 2), torch.zeros(10, 3))
    with pytest.raises(ConfigError, match="valid C2ST classifiers: knn, mlp"):
        c2st(torch.zeros(10, 2), torch.zeros(10, 2), "forest")
    with pytest.raises(ConfigError, match="at least 4"):
        c2st(torch.zeros(3, 2), torch.zeros(10, 2))


def test_generated_pixels_are_rounded_to_the_real_grey_levels():
    levels = torch.linspace(-1, 1, 17)  # scikit-learn's digits: 17 grey levels
    real = levels[torch.randint(0, 17, (200, 1, 8, 8), generator=torch.Generator().manual_seed(0))]
    # the same distribution, but continuous: without rounding, the off-level values alone give it away
    fake = levels[torch.randint(0, 17, (200, 1, 8, 8), generator=torch.Generator().manual_seed(1))]
    fake = fake + 0.02 * torch.rand(fake.shape, generator=torch.Generator().manual_seed(2)) - 0.01
    rounded, n_levels = quantize_like(fake, real)
    assert n_levels == 17 and set(rounded.unique().tolist()) <= set(levels.tolist())
    r, prov = c2st_samples(real, fake, "raw", classifier="mlp")
    assert "17 values" in prov["features"] and r.ci_low <= 0.5 <= r.ci_high
    points = torch.randn(50, 2)  # continuous data: nothing to round to
    assert quantize_like(points, points)[1] == 0


def test_eval_lines_carry_the_interval_and_provenance():
    data = make_distribution("ring8")
    fake = data.sample(800, torch.Generator().manual_seed(5)) + torch.tensor([0.05, 0.0])
    (line,) = evaluate_samples(fake, data, ["c2st"], seed=3, step=40)
    assert line["metric"] == "c2st" and line["step"] == 40 and line["value"] > 0.95
    v, p = line["values"], line["provenance"]
    assert v["ci_low"] <= line["value"] <= v["ci_high"] and v["p_value"] < 1e-50 and v["n_test"] == 800
    assert p["seed"] == 3 and p["n_fake"] == 800 and p["n_real"] == 800
    assert p["classifier"].startswith("mlp") and p["features"].startswith("identity")
    assert evaluate_samples(fake, data, ["c2st"], seed=3, step=40)[0]["values"] == v  # fixed seed, same numbers


def test_lab_shows_the_fresh_classifier_beside_d_and_d_star():
    from ganforge.engine import Trainer
    from ganforge.lab.settings import LabSettings
    from ganforge.lab.snapshot import Nets, accuracies, make_view

    s = LabSettings()
    trainer = Trainer(s.to_config(), dataset=s.distribution())
    view = make_view(trainer.data, s.z_dim, s.noise, trainer.sample_z, seed=0)
    nets = Nets(trainer.G, trainer.D, trainer.objective, s.pack)
    m = accuracies(nets, view, nets.generate(view.z_metrics))  # an untrained G: a blob, far from the ring
    assert m["c2st"]["accuracy"] > 0.95 and m["c2st"]["ci_low"] <= m["c2st"]["accuracy"] <= m["c2st"]["ci_high"]
    assert m["acc_dstar"] > 0.95  # the best possible D against this G tells them apart too
    assert 0.3 <= m["acc_d"] <= 0.7  # the untrained game's D cannot
    assert accuracies(nets, view, nets.generate(view.z_metrics))["c2st"] == m["c2st"]  # fixed points and seed
    # a G that matches the data: the view's real points against fresh real ones
    m = accuracies(nets, view, trainer.data.sample(view.real_metrics.shape[0], torch.Generator().manual_seed(9)))
    assert m["c2st"]["ci_low"] <= 0.5 <= m["c2st"]["ci_high"] and m["acc_dstar"] < 0.6


def test_images_on_pixels_a_fresh_draw_against_shifted_digits():
    from ganforge.config import DataConfig
    from ganforge.data import load_dataset

    data = load_dataset(DataConfig(name="digits"))
    # the reference is the seed's first 800 images (real_images); the "generated" ones are 800 others:
    # copies of the reference itself would score below chance (a held-out real's copy was trained on as fake)
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    images = data.batch(perm[800:1600])[0]  # (800, 1, 8, 8) in [-1, 1], 17 grey levels
    fresh = images + 0.004 * torch.randn(800, 1, 8, 8, generator=torch.Generator().manual_seed(5))
    (line,) = evaluate_samples(fresh, data, ["c2st"], n_real=800, seed=0)  # rounded back onto the 17 levels
    assert line["values"]["ci_low"] <= 0.5 <= line["values"]["ci_high"], line["values"]
    assert "17 values" in line["provenance"]["features"] and line["provenance"]["resize"] == "none"
    shifted = torch.roll(images, shifts=1, dims=-1)  # every digit one pixel to the right
    (line,) = evaluate_samples(shifted, data, ["c2st"], n_real=800, seed=0)
    assert line["value"] > 0.9 and line["values"]["p_value"] < 1e-50
    with pytest.raises(ConfigError, match="unknown feature extractor 'pixels'; valid feature extractors: inception, mnist"):
        evaluate_samples(shifted, data, ["c2st"], features=["pixels"], seed=0)
