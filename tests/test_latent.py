"""Latent walks: endpoints, norms, and the CLI sheets built on them."""

import numpy as np
import torch

from ganforge.cli import main
from ganforge.engine.latent import lerp, slerp
from tests.test_cli import FAST


def test_slerp_hits_endpoints_and_keeps_the_norm_of_equal_norm_latents():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(3, 16, generator=g), torch.randn(3, 16, generator=g)
    b = b / b.norm(dim=1, keepdim=True) * a.norm(dim=1, keepdim=True)
    walk = slerp(a, b, torch.linspace(0, 1, 7))  # (3, 7, 16)
    assert walk.shape == (3, 7, 16)
    assert torch.allclose(walk[:, 0], a, atol=1e-5) and torch.allclose(walk[:, -1], b, atol=1e-5)
    norms = walk.norm(dim=2)
    assert torch.allclose(norms, a.norm(dim=1, keepdim=True).expand_as(norms), rtol=1e-4)
    mid = lerp(a, b, torch.tensor([0.5]))[:, 0]
    assert (mid.norm(dim=1) < a.norm(dim=1)).all()  # the straight line cuts through the middle


def test_interpolation_and_class_sheets_from_the_cli(tmp_path):
    run = tmp_path / "cgan"
    assert main(["train", "--preset", "digits", "--set", "model.conditional=true", "--out", str(run), *FAST]) == 0
    assert main(["sample", str(run), "-n", "2", "--interpolate", "5", "--out", str(tmp_path / "walk.npy")]) == 0
    walk = np.load(tmp_path / "walk.npy")
    assert walk.shape == (10, 1, 8, 8)
    assert np.abs(walk[1] - walk[0]).mean() < np.abs(walk[4] - walk[0]).mean() + 1e-6  # neighbours are closer
    assert main(["sample", str(run), "-n", "3", "--sheet", "--out", str(tmp_path / "sheet.npy")]) == 0
    assert np.load(tmp_path / "sheet.npy").shape == (30, 1, 8, 8)  # 10 classes x 3
    assert main(["sample", str(run), "-n", "3", "--sheet", "--out", str(tmp_path / "sheet.png")]) == 0
