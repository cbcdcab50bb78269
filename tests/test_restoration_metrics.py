"""PSNR and SSIM on Y with a border crop (the SR convention), cross-checked with scikit-image."""

import math

import numpy as np
import pytest
import torch
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ganforge.errors import DataError
from ganforge.metrics.restoration import image_patches, psnr_y, rgb_to_y, ssim_y


def pair(seed=0, size=40):
    g = torch.Generator().manual_seed(seed)
    hr = torch.randint(0, 256, (2, 3, size, size), generator=g, dtype=torch.uint8)
    noisy = (hr.int() + torch.randint(-20, 21, hr.shape, generator=g)).clamp(0, 255).to(torch.uint8)
    return noisy, hr


def skimage_y(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) uint8 -> (B, H, W) Y in [0, 1] via scikit-image's rgb2ycbcr (Y in [16, 235])."""
    return np.stack([rgb2ycbcr(im.permute(1, 2, 0).numpy())[..., 0] / 255.0 for im in images])


def test_identical_images_give_infinite_psnr_and_ssim_one():
    _, hr = pair()
    assert torch.isinf(psnr_y(hr, hr, border=4)).all() and (psnr_y(hr, hr) > 0).all()
    assert torch.allclose(ssim_y(hr, hr, border=4), torch.ones(2, dtype=torch.float64))


def test_y_is_bt601_as_skimage_computes_it():
    sr, _ = pair()
    assert np.allclose(rgb_to_y(sr)[:, 0].numpy(), skimage_y(sr), atol=1e-12)
    # float images in [-1, 1] give the same Y as their uint8 levels
    assert torch.allclose(rgb_to_y(sr.double() / 127.5 - 1), rgb_to_y(sr), atol=1e-12)


@pytest.mark.parametrize("border", [0, 2, 4])
def test_psnr_and_ssim_match_skimage_on_the_cropped_y_channel(border):
    sr, hr = pair()
    ys, yh = skimage_y(sr), skimage_y(hr)
    if border:
        ys, yh = ys[:, border:-border, border:-border], yh[:, border:-border, border:-border]
    want_psnr = [peak_signal_noise_ratio(h, s, data_range=1.0) for s, h in zip(ys, yh)]
    want_ssim = [structural_similarity(h, s, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False) for s, h in zip(ys, yh)]
    assert np.allclose(psnr_y(sr, hr, border).numpy(), want_psnr, atol=1e-9)
    assert np.allclose(ssim_y(sr, hr, border).numpy(), want_ssim, atol=1e-7)


def test_psnr_of_a_known_y_offset():
    hr = torch.zeros(1, 1, 20, 20, dtype=torch.uint8) + 100
    sr = hr + 10  # grayscale: Y is the image; an error of 10 levels everywhere
    assert math.isclose(float(psnr_y(sr, hr, border=2)[0]), 20 * math.log10(255 / 10), rel_tol=1e-12)


def test_the_border_is_left_out():
    sr, hr = pair()
    sr = sr.clone()
    sr[:, :, :4, :] = 0  # damage only the top 4 rows
    damaged_inside = psnr_y(sr, hr, border=0)
    cropped = psnr_y(sr, hr, border=4)
    clean = psnr_y(pair()[0], hr, border=4)
    assert torch.equal(cropped, clean) and (damaged_inside < cropped).all()


def test_mismatched_shapes_and_oversized_borders_are_one_line_errors():
    sr, hr = pair()
    with pytest.raises(DataError, match="one shape"):
        psnr_y(sr[:, :, :-1], hr)
    with pytest.raises(DataError, match="border crop of 20 px"):
        ssim_y(sr, hr, border=20)


def test_patches_are_seeded_and_aligned_between_outputs_and_targets():
    images = [torch.arange(3 * 70 * 130.0).view(3, 70, 130), torch.zeros(3, 64, 64)]
    a = image_patches(images, 32, 5, seed=1)
    assert a.shape == (5, 3, 32, 32)
    assert torch.equal(a, image_patches(images, 32, 5, seed=1))
    assert not torch.equal(a, image_patches(images, 32, 5, seed=2))
    assert image_patches(images, 32, 100).shape[0] == 2 * 4 + 4  # every grid position: 2x4 and 2x2
    shifted = [im + 1 for im in images]  # same sizes: the same positions are chosen
    assert torch.equal(image_patches(shifted, 32, 5, seed=1), a + 1)
