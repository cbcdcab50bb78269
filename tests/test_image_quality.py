"""L1, PSNR and SSIM: their formulas on known images, and agreement with scikit-image on random
and on real facades images."""

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from ganforge.data.paired import load_facades
from ganforge.errors import DataError
from ganforge.metrics.image_quality import image_quality, l1_error, psnr, ssim, to_unit


def sk_ssim(x: torch.Tensor, y: torch.Tensor) -> float:
    """scikit-image's SSIM with the paper's settings, on one (C, H, W) image in [0, 1]."""
    return structural_similarity(x.double().numpy(), y.double().numpy(), gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=1, channel_axis=0)


def sk_psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    return peak_signal_noise_ratio(y.double().numpy(), x.double().numpy(), data_range=1)


def test_to_unit_maps_both_scales():
    assert to_unit(torch.tensor([-1.0, 0.0, 1.0, 1.5])).tolist() == [0.0, 0.5, 1.0, 1.0]  # clamped
    assert to_unit(torch.tensor([0, 51, 255], dtype=torch.uint8)).tolist() == [0.0, 0.2, 1.0]


def test_l1_on_the_unit_scale():
    real = -torch.ones(2, 3, 4, 4)
    fake = torch.stack([torch.ones(3, 4, 4), torch.zeros(3, 4, 4)])  # unit scale: 1 and 0.5 against 0
    assert l1_error(fake, real).tolist() == [1.0, 0.5]


def test_psnr_formula_per_image():
    real = torch.zeros(3, 1, 12, 12)
    fake = real.clone()
    fake[0] += 0.2  # unit-scale error 0.1 everywhere: MSE 0.01 -> 20 dB
    fake[1, :, :6] += 0.2  # half the pixels: MSE 0.005 -> 23.01 dB
    scores = psnr(fake, real)
    assert scores[0].item() == pytest.approx(20.0)
    assert scores[1].item() == pytest.approx(10 * math.log10(200))
    assert scores[2].item() == math.inf  # identical images
    means = image_quality(fake[:2], real[:2])
    assert means["psnr"] == pytest.approx((20.0 + 10 * math.log10(200)) / 2)  # mean of per-image PSNRs


def test_ssim_of_identical_images_is_one_and_of_a_constant_shift_is_known():
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert torch.allclose(ssim(x, x), torch.ones(2, dtype=torch.float64))
    # flat images: no variance, so SSIM is the luminance term (2 mx my + C1) / (mx^2 + my^2 + C1)
    a = torch.full((1, 1, 12, 12), -0.2, dtype=torch.float64)  # unit scale 0.4
    b = torch.full((1, 1, 12, 12), 0.4, dtype=torch.float64)  # unit scale 0.7
    c1 = 0.01**2
    expected = (2 * 0.4 * 0.7 + c1) / (0.4**2 + 0.7**2 + c1)
    assert ssim(a, b).item() == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("shape", [(3, 3, 32, 32), (2, 1, 11, 11), (2, 3, 40, 27)])
def test_against_scikit_image_on_random_images(shape):
    g = torch.Generator().manual_seed(sum(shape))
    real = torch.rand(shape, generator=g) * 2 - 1
    fake = (real + 0.4 * torch.randn(shape, generator=g)).clamp(-1, 1)
    ours_ssim, ours_psnr = ssim(fake, real), psnr(fake, real)
    for i in range(shape[0]):
        x, y = to_unit(fake[i]), to_unit(real[i])
        assert ours_ssim[i].item() == pytest.approx(sk_ssim(x, y), abs=1e-6)
        assert ours_psnr[i].item() == pytest.approx(sk_psnr(x, y), abs=1e-6)


@pytest.mark.data
def test_against_scikit_image_on_facades(shared_data):
    data = load_facades("test", limit=2, data_dir=shared_data)
    photos, labels = data.a, data.b  # uint8 (2, 3, 256, 256)
    shifted = torch.roll(photos, shifts=(3, -2), dims=(2, 3))  # a slightly misplaced "translation"
    for fake, real in ((shifted, photos), (labels, photos), (photos.flip(0), photos)):
        ours_ssim, ours_psnr = ssim(fake, real), psnr(fake, real)
        for i in range(2):
            x, y = to_unit(fake[i]), to_unit(real[i])
            assert ours_ssim[i].item() == pytest.approx(sk_ssim(x, y), abs=1e-6)
            assert ours_psnr[i].item() == pytest.approx(sk_psnr(x, y), abs=1e-6)
    assert (ssim(shifted, photos) > ssim(labels, photos)).all()  # near miss beats another domain


def test_float_and_uint8_inputs_agree():
    u8 = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (2, 3, 16, 16), dtype=np.uint8))
    other = u8.flip(-1)
    as_float = (u8.double() / 127.5 - 1, other.double() / 127.5 - 1)
    assert torch.allclose(ssim(other, u8), ssim(as_float[1], as_float[0]), atol=1e-12)
    assert torch.allclose(l1_error(other, u8), l1_error(as_float[1], as_float[0]), atol=1e-12)


def test_bad_inputs():
    with pytest.raises(DataError, match="at least 11x11 pixels .* got 8x8"):
        ssim(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))
    with pytest.raises(DataError, match="one shape; got \\(1, 3, 16, 16\\) and \\(1, 1, 16, 16\\)"):
        psnr(torch.zeros(1, 3, 16, 16), torch.zeros(1, 1, 16, 16))


def test_large_batches_are_scored_image_by_image():
    g = torch.Generator().manual_seed(1)
    real = torch.rand(19, 2, 12, 14, generator=g) * 2 - 1  # more than one chunk of 8
    fake = (real + 0.3 * torch.randn(real.shape, generator=g)).clamp(-1, 1)
    whole = ssim(fake, real)
    assert whole.shape == (19,)
    assert torch.allclose(whole, torch.cat([ssim(fake[i:i + 1], real[i:i + 1]) for i in range(19)]), atol=1e-12)
