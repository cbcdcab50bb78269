"""The diagnostics' cost does not grow with the square of the dataset: a points file of a million
rows (a mixture of a million Gaussians) is checked with bounded memory and a bounded sample count,
and the chunked computations give the same numbers as the one-block ones."""

from __future__ import annotations

import importlib
import json
import resource
import sys

import numpy as np
import pytest
import torch

from ganforge.data.mixtures import GaussianMixture, make_distribution
from ganforge.diagnostics.callback import PROBE_POINTS
from ganforge.diagnostics.monitor import Monitor
from ganforge.engine import Trainer
from ganforge.metrics import density, modes
from ganforge.metrics.density import MAX_EXACT_COMPONENTS, closed_form_log_prob, kde_log_prob
from ganforge.metrics.modes import mode_coverage, nearest_centers
from ganforge.presets import load_preset

MILLION = 1_000_000
prdc_module = importlib.import_module("ganforge.metrics.prdc")  # the package exports a function of that name


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def test_end_of_run_checks_on_a_million_point_file_stay_small(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "big.npy", rng.uniform(-1, 1, size=(MILLION, 2)).astype(np.float32))
    cfg = load_preset("spiral").with_overrides({
        "data.name": "points", "data.path": str(tmp_path / "big.npy"), "model.g_width": 16, "model.d_width": 16,
        "model.g_depth": 1, "model.d_depth": 1, "train.batch_size": 64, "train.device": "cpu", "train.progress": False,
    })
    run = tmp_path / "run"
    run.mkdir()
    mon = Monitor("minimax", console=False)
    trainer = Trainer(cfg, run_dir=run, callbacks=[mon.callback()])
    trainer.step()
    before = _peak_rss_bytes()
    mon.callback().on_end(trainer)  # what the end of a run calls: mode coverage, D* probe, JS
    # the (2500 x 10^6) float64 distance matrix of the old mode coverage alone was 20 GB
    assert _peak_rss_bytes() - before < 1.5e9
    check = mon.last_sample_check
    assert check["modes_fake"]["n_modes"] == MILLION and check["modes_real"]["n_samples"] == 2500
    # real samples sit within 3 std (0.05) of the point they were drawn around: nearly all are HQ
    assert check["modes_real"]["hq_fraction"] > 0.98
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    js = next(x for x in lines if x["metric"] == "js")
    prov = js["provenance"]
    assert prov["n_real"] == prov["n_fake"] == PROBE_POINTS
    assert prov["density"] == "kde"  # a million components: a KDE of the reals, not the exact mixture


def test_exact_density_only_for_mixtures_it_is_cheap_for():
    ring = make_distribution("ring8")
    assert closed_form_log_prob(ring) == ring.log_prob
    assert closed_form_log_prob(make_distribution("spiral")) is None  # no closed form
    many = GaussianMixture.from_points(torch.rand(MAX_EXACT_COMPONENTS + 1, 2), 0.05)
    assert closed_form_log_prob(many) is None
    few = GaussianMixture.from_points(torch.rand(MAX_EXACT_COMPONENTS, 2), 0.05)
    assert closed_form_log_prob(few) == few.log_prob


def test_nearest_centres_by_tree_equal_brute_force(monkeypatch):
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(500, 3, generator=g, dtype=torch.float64)
    x = torch.randn(300, 3, generator=g, dtype=torch.float64)
    x[7] = float("nan")
    x[11, 1] = float("inf")
    brute_d, brute_i = torch.cdist(x, centers).min(dim=1)
    dist, index = nearest_centers(x, centers)  # 300 * 500 pairs: one block
    monkeypatch.setattr(modes, "MAX_PAIRS", 1000)  # force the k-d tree
    tree_d, tree_i = nearest_centers(x, centers)
    ok = torch.isfinite(x).all(dim=1)
    assert torch.equal(index[ok], brute_i[ok]) and torch.equal(tree_i[ok], brute_i[ok])
    assert torch.allclose(tree_d[ok], brute_d[ok]) and torch.allclose(dist[ok], brute_d[ok])
    assert torch.isinf(dist[~ok]).all() and torch.isinf(tree_d[~ok]).all()


def test_mode_coverage_with_a_million_modes_is_exact():
    side = torch.arange(1000, dtype=torch.float32)
    gx, gy = torch.meshgrid(side, side, indexing="ij")
    centers = torch.stack([gx.flatten(), gy.flatten()], 1)  # (10^6, 2): a grid of spacing 1
    picked = torch.randperm(MILLION, generator=torch.Generator().manual_seed(1))[:2500]
    samples = centers[picked] + 0.01  # each 0.014 from its own centre
    samples[:100] += 0.4  # these are 0.58 away, beyond 3 std = 0.3: not high quality
    cov = mode_coverage(samples, centers, std=0.1)
    assert cov.n_modes == MILLION and cov.n_samples == 2500
    assert cov.modes_captured == 2400 and cov.hq_fraction == pytest.approx(2400 / 2500)
    hist = torch.tensor(cov.histogram)
    assert hist[picked[100:]].eq(1).all() and hist.sum() == 2400


def test_kde_chunks_do_not_change_the_density(monkeypatch):
    g = torch.Generator().manual_seed(2)
    points, samples = torch.randn(300, 2, generator=g), torch.randn(800, 2, generator=g)
    whole = kde_log_prob(points, samples, 0.3)
    monkeypatch.setattr(density, "MAX_PAIRS", 1000)  # one point row per chunk
    assert density.rows_per_chunk(800) == 1
    assert torch.allclose(kde_log_prob(points, samples, 0.3), whole)


def test_prdc_chunks_do_not_change_the_result(monkeypatch):
    g = torch.Generator().manual_seed(3)
    real, fake = torch.randn(200, 4, generator=g), 0.7 * torch.randn(150, 4, generator=g) + 0.3
    whole = prdc_module.prdc(real, fake)
    monkeypatch.setattr(density, "MAX_PAIRS", 600)  # 3 or 4 rows per block
    calls = []
    cdist = torch.cdist

    def counting_cdist(a, b):
        calls.append(a.shape[0] * b.shape[0])
        return cdist(a, b)

    monkeypatch.setattr(prdc_module.torch, "cdist", counting_cdist)
    assert prdc_module.prdc(real, fake) == whole
    assert max(calls) <= 600  # no block larger than the budget
