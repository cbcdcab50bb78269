"""Point distributions: the PacGAN parameters exactly, densities, user points."""

import math

import numpy as np
import pytest
import torch

from ganforge.data.mixtures import POINT_DATASETS, make_distribution
from ganforge.errors import DataError


def test_ring8_parameters():
    d = make_distribution("ring8")
    assert d.std == 0.01 and d.centers.shape == (8, 2)
    assert torch.allclose(d.centers.norm(dim=1), torch.ones(8), atol=1e-6)
    angles = torch.atan2(d.centers[:, 1], d.centers[:, 0]).sort().values
    assert torch.allclose(angles.diff(), torch.full((7,), math.pi / 4), atol=1e-5)


def test_grid25_parameters():
    d = make_distribution("grid25")
    assert d.std == 0.05 and d.centers.shape == (25, 2)
    assert sorted(set(d.centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert d.centers.mean(0).abs().max() < 1e-6


def test_samples_are_near_their_modes_and_seeded():
    d = make_distribution("grid25")
    x = d.sample(5000, torch.Generator().manual_seed(1))
    nearest = torch.cdist(x, d.centers).min(1).values
    assert (nearest < 3 * d.std * 1.5).float().mean() > 0.99
    assert torch.equal(x, d.sample(5000, torch.Generator().manual_seed(1)))


def test_log_prob_integrates_to_one_in_1d():
    d = make_distribution("bimodal1d")
    grid = torch.linspace(-6, 6, 20001)[:, None]
    total = d.log_prob(grid).exp().sum().item() * (12 / 20000)
    assert total == pytest.approx(1.0, rel=1e-4)


def test_every_named_distribution_samples(tmp_path):
    pts = tmp_path / "p.csv"
    pts.write_text("x,y\n0,0\n1,1\n")
    for name in POINT_DATASETS:
        d = make_distribution(name, path=str(pts))
        x = d.sample(64, torch.Generator().manual_seed(0))
        assert x.shape == (64, d.dim) and torch.isfinite(x).all()


def test_points_files(tmp_path):
    np.save(tmp_path / "p.npy", np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32))
    d = make_distribution("points", path=str(tmp_path / "p.npy"), noise_std=0.1)
    assert d.centers.tolist() == [[0.0, 1.0], [2.0, 3.0]] and d.std == 0.1
    (tmp_path / "bad.csv").write_text("a,b\nx,y\n")
    with pytest.raises(DataError, match="could not be read as numbers"):
        make_distribution("points", path=str(tmp_path / "bad.csv"))
    with pytest.raises(DataError, match="not found"):
        make_distribution("points", path=str(tmp_path / "missing.csv"))
    with pytest.raises(DataError, match="needs data.path"):
        make_distribution("points")
