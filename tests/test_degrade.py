"""HR -> LR degradations: bicubic as the standard protocol, blur and noise seeded and deterministic."""

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data.degrade import (
    Degradation,
    bicubic_down,
    gaussian_blur,
    mod_crop,
    quantize,
)
from ganforge.errors import ConfigError


def smooth_images(n=3, size=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, size // 8, size // 8, generator=g) * 2 - 1
    return torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)


def test_bicubic_is_deterministic_on_8_bit_levels_and_the_right_size():
    hr = smooth_images()
    lr = Degradation(4)(hr)
    assert lr.shape == (3, 3, 12, 12)
    assert torch.equal(lr, Degradation(4)(hr))
    levels = (lr + 1) * 127.5
    assert torch.allclose(levels, levels.round(), atol=1e-4)


def test_bicubic_matches_pil_antialiased_bicubic_within_one_level():
    hr = quantize(smooth_images(1, 64))
    img = ((hr[0] + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    pil = np.asarray(Image.fromarray(img).resize((16, 16), Image.Resampling.BICUBIC)).astype(np.int64)
    ours = ((Degradation(4)(hr)[0] + 1) * 127.5).round().long().permute(1, 2, 0).numpy()
    assert np.abs(ours - pil).max() <= 1


def test_constant_image_stays_constant():
    hr = torch.full((1, 3, 32, 32), 0.2)
    assert torch.allclose(Degradation(2)(hr), quantize(hr)[:, :, :16, :16])


def test_blur_noise_is_deterministic_under_a_seed_and_differs_across_seeds():
    hr = smooth_images()
    d = Degradation(4, "blur-noise", blur_max=3.0, noise_max=20.0)
    a = d(hr, torch.Generator().manual_seed(5))
    b = d(hr, torch.Generator().manual_seed(5))
    c = d(hr, torch.Generator().manual_seed(6))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, Degradation(4)(hr))  # blur and noise were applied


def test_noise_level_is_within_the_drawn_range():
    hr = torch.zeros(64, 1, 64, 64)  # flat: the LR is noise only
    lr = Degradation(4, "blur-noise", blur_max=1.0, noise_max=8.0)(hr, torch.Generator().manual_seed(0))
    std_levels = (lr.flatten(1).std(1) * 127.5)  # per image, in 8-bit levels
    assert std_levels.min() > 0.5 and std_levels.max() < 8.5
    assert std_levels.max() - std_levels.min() > 2  # each image draws its own level


def test_gaussian_blur_preserves_mass_and_has_the_asked_spread():
    x = torch.zeros(2, 1, 41, 41)
    x[:, :, 20, 20] = 1.0
    y = gaussian_blur(x, torch.tensor([1.0, 2.5]))
    assert torch.allclose(y.sum((1, 2, 3)), torch.ones(2), atol=1e-5)
    t = torch.arange(41.0) - 20
    var = (y[:, 0].sum(1) * t**2).sum(1)  # variance along one axis
    assert torch.allclose(var, torch.tensor([1.0, 6.25]), rtol=0.02)


def test_mod_crop_keeps_the_top_left_corner():
    x = torch.arange(7 * 10.0).view(1, 1, 7, 10)
    assert torch.equal(mod_crop(x, 4), x[:, :, :4, :8])
    with pytest.raises(ConfigError, match="mod_crop"):
        bicubic_down(x, 4)


def test_bad_degradation_settings_are_one_line_errors():
    with pytest.raises(ConfigError, match="unknown degradation 'jpeg'"):
        Degradation(4, "jpeg")
