"""Inpainting masks cover what they claim, and seeded ones are the same on every call."""

import pytest
import torch

from ganforge.config import Config
from ganforge.data.masks import (
    MASK_KINDS,
    MaskSampler,
    center_square,
    coverage,
    draw_masks,
    fixed_masks,
    lower_half,
)
from ganforge.errors import ConfigError


def test_center_square_is_the_middle_square_of_its_side():
    m = center_square(32, 32, 16)[0]
    assert m.sum() == 256
    assert m[8:24, 8:24].all() and not m[:8].any() and not m[24:].any() and not m[:, :8].any()
    assert center_square(28, 28)[0].sum() == 14 * 14  # 0: half the side
    odd = center_square(7, 9, 3)[0].nonzero()
    assert odd[:, 0].tolist() == [2] * 3 + [3] * 3 + [4] * 3 and sorted(set(odd[:, 1].tolist())) == [3, 4, 5]


def test_lower_half_hides_exactly_the_bottom_rows():
    m = lower_half(28, 28)[0]
    assert m[14:].all() and not m[:14].any()
    assert lower_half(5, 4)[0].sum(1).tolist() == [0, 0, 4, 4, 4]  # ceil(5 / 2) rows hidden


@pytest.mark.parametrize("kind", ["rectangles", "free-form"])
def test_random_masks_are_seeded_deterministic_and_vary(kind):
    a = draw_masks(kind, 16, 32, 32, torch.Generator().manual_seed(3))
    b = draw_masks(kind, 16, 32, 32, torch.Generator().manual_seed(3))
    c = draw_masks(kind, 16, 32, 32, torch.Generator().manual_seed(4))
    assert a.shape == (16, 1, 32, 32) and a.dtype == torch.bool
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert len({m.numpy().tobytes() for m in a}) == 16  # each draw its own
    cov = coverage(a)
    assert (cov > 0).all() and (cov < 1).all()


def test_rectangles_cover_at_most_three_boxes_of_half_the_side():
    masks = draw_masks("rectangles", 200, 40, 40, torch.Generator().manual_seed(0))
    # a box is at most 20x20 (50% of 40) and at least 4x4; three of them cover at most 3 * 400 pixels
    sums = masks.flatten(1).sum(1)
    assert sums.min() >= 16 and sums.max() <= 1200
    one_row = masks.any(3).sum(2).squeeze(1)  # rows touched
    assert one_row.max() <= 60


def test_free_form_strokes_scale_with_the_image():
    small = coverage(draw_masks("free-form", 64, 32, 32, torch.Generator().manual_seed(0))).mean()
    large = coverage(draw_masks("free-form", 64, 128, 128, torch.Generator().manual_seed(0))).mean()
    assert 0.05 < small < 0.6 and 0.05 < large < 0.6
    assert abs(float(small - large)) < 0.15  # fractions of the side: alike at both sizes


def test_fixed_masks_per_split_are_stable_and_prefix_consistent():
    a = fixed_masks("free-form", 8, 32, 32, "test")
    assert torch.equal(a, fixed_masks("free-form", 8, 32, 32, "test"))
    assert torch.equal(a[:3], fixed_masks("free-form", 3, 32, 32, "test"))
    assert not torch.equal(a, fixed_masks("free-form", 8, 32, 32, "train"))
    assert torch.equal(fixed_masks("center", 4, 32, 32, "test", 16), center_square(32, 32, 16)[None].expand(4, -1, -1, -1))


def test_sampler_state_restores_the_same_masks():
    s = MaskSampler("rectangles", 16, 16, seed=5)
    s(4)
    state = s.state_dict()
    after = s(4)
    t = MaskSampler("rectangles", 16, 16, seed=99)
    t.load_state_dict(state)
    assert torch.equal(t(4), after)


def test_bad_mask_settings_are_one_line():
    with pytest.raises(ConfigError, match="data.mask_size 40 is larger than the images"):
        MaskSampler("center", 32, 32, hole=40)
    with pytest.raises(ConfigError, match="unknown mask kind 'circle'"):
        Config().with_overrides({"data.mask": "circle"})
    assert set(MASK_KINDS) == {"center", "lower-half", "rectangles", "free-form"}
