"""Inpainting scores on known inputs: hole PSNR/L1 against their formulas, zero-fill, digit accuracy."""

import math

import pytest
import torch

from ganforge.data.masks import lower_half
from ganforge.errors import DataError
from ganforge.metrics import inpainting


def _pair():
    """Two 2-image batches that differ by 0.5 (on [0, 1]) in a 2x2 hole and by 1 outside it."""
    target = torch.full((2, 3, 4, 4), -1.0)
    completed = target.clone()
    masks = torch.zeros(2, 1, 4, 4, dtype=torch.bool)
    masks[:, :, :2, :2] = True
    completed[:, :, :2, :2] = 0.0  # 0.5 off on [0, 1] in the hole
    completed[:, :, 3, 3] = 1.0  # far off outside the hole: must not count
    return completed, target, masks


def test_hole_l1_and_psnr_only_see_the_hole():
    completed, target, masks = _pair()
    assert inpainting.hole_l1(completed, target, masks).tolist() == [0.5, 0.5]
    expected = 10 * math.log10(1 / 0.25)  # MSE 0.25 inside the hole
    assert inpainting.hole_psnr(completed, target, masks).tolist() == pytest.approx([expected] * 2)


def test_identical_holes_give_infinite_psnr_and_are_counted_apart():
    completed, target, masks = _pair()
    completed[1] = target[1]
    psnr = inpainting.hole_psnr(completed, target, masks)
    assert math.isinf(psnr[1]) and psnr[1] > 0
    scores = inpainting.pixel_scores(completed, target, masks)
    assert scores["psnr_exact"] == 1 and scores["hole_psnr"] == pytest.approx(10 * math.log10(4))
    assert scores["hole_l1"] == pytest.approx(0.25)


def test_zero_fill_blacks_out_the_hole_only():
    x = torch.rand(3, 1, 6, 6) * 2 - 1
    m = lower_half(6, 6)[None].expand(3, -1, -1, -1)
    z = inpainting.zero_fill(x, m)
    assert (z[:, :, 3:] == -1).all() and torch.equal(z[:, :, :3], x[:, :, :3])


def test_shapes_are_checked():
    completed, target, masks = _pair()
    with pytest.raises(DataError, match="masks must be"):
        inpainting.hole_l1(completed, target, masks[:, :, :2])
    with pytest.raises(DataError, match="one shape"):
        inpainting.hole_psnr(completed, target[:1], masks)


def test_digit_accuracy_reads_real_digits_and_fails_on_blank_ones():
    from ganforge.data.digits import digits_file, read_digits

    images, labels = read_digits(digits_file())  # sklearn's bundled 8x8 digits, no download
    x = torch.from_numpy(images[:200]).float().div(127.5).sub(1)  # (200, 1, 8, 8)
    y = torch.from_numpy(labels[:200]).long()
    good = inpainting.digit_accuracy(x, y)
    blank = inpainting.digit_accuracy(torch.full_like(x, -1.0), y)
    assert good > 0.5 and blank < 0.25  # a blank image is one class for all: about 1 in 10 right
    with pytest.raises(DataError, match="digit accuracy"):
        inpainting.digit_accuracy(x.expand(-1, 3, -1, -1), y)


def test_distribution_scores_are_zero_for_the_same_set_and_grow_with_damage():
    from ganforge.metrics.features import mnist_extractor

    torch.manual_seed(0)
    x = torch.rand(64, 1, 28, 28) * 2 - 1
    ext = mnist_extractor()
    real = ext(x)
    same = inpainting.distribution_scores(ext, x, real)
    damaged = inpainting.distribution_scores(ext, inpainting.zero_fill(x, lower_half(28, 28)[None].expand(64, -1, -1, -1)),
                                             real)
    assert same["fid"] == pytest.approx(0, abs=1e-6) and damaged["fid"] > 1.0
    assert damaged["kid"] > same["kid"] and same["features"] == "mnist" and same["n_fake"] == 64
