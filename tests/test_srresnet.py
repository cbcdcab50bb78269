"""SRResNet: sub-pixel upsampling shapes, the bicubic start, and the receptive field it reports."""

import pytest
import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError
from ganforge.nets.srresnet import SRResNet, SubPixelUpsample


@pytest.mark.parametrize("scale", [2, 4, 8])
@pytest.mark.parametrize("channels", [1, 3])
def test_output_is_scale_times_the_input_for_any_size(scale, channels):
    G = SRResNet(channels, scale, width=8, blocks=1)
    for h, w in ((5, 7), (12, 12)):
        assert G(torch.randn(2, channels, h, w)).shape == (2, channels, scale * h, scale * w)


def test_sub_pixel_stage_doubles_the_sides_and_keeps_the_channels():
    stage = SubPixelUpsample(6)
    assert stage(torch.randn(3, 6, 5, 4)).shape == (3, 6, 10, 8)
    # the pixel shuffle takes output channel c at (2i + a, 2j + b) from conv channel 4c + 2a + b
    conv_out = stage[0](torch.randn(1, 6, 5, 4))
    shuffled = stage[1](conv_out)
    assert torch.equal(shuffled[0, 2, 2 * 3 + 1, 2 * 1 + 0], conv_out[0, 4 * 2 + 2 * 1 + 0, 3, 1])


def test_icnr_start_gives_the_four_sub_pixels_one_value():
    stage = SubPixelUpsample(4)
    y = stage[1](stage[0](torch.randn(1, 4, 6, 6)))  # (1, 4, 12, 12), before PReLU
    blocks = y.unfold(2, 2, 2).unfold(3, 2, 2)  # (1, 4, 6, 6, 2, 2): each 2x2 output block
    assert torch.allclose(blocks, blocks[..., :1, :1].expand_as(blocks))


def test_untrained_network_is_exactly_bicubic_upscaling():
    x = torch.rand(2, 3, 9, 11) * 2 - 1
    G = SRResNet(3, 4, width=8, blocks=2)
    assert torch.equal(G(x), F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False))


def test_receptive_field_bounds_what_one_output_pixel_sees():
    torch.manual_seed(0)
    G = SRResNet(3, 2, width=4, blocks=2).eval()
    for p in G.tail.parameters():
        torch.nn.init.normal_(p, std=0.1)  # make the residual branch matter
    rf = G.receptive_field()
    x = torch.randn(1, 3, 40, 40)
    x2 = x.clone()
    x2[0, :, 20, 20] += 1.0  # one input pixel changes
    changed = (G(x2) - G(x)).abs().sum(1)[0] > 0  # (80, 80) output pixels that changed
    rows, cols = changed.nonzero(as_tuple=True)
    # the changed output pixels lie within rf / 2 input pixels of the changed one (times the scale)
    assert rows.min() >= 2 * (20 - rf // 2) and rows.max() < 2 * (21 + rf // 2)
    assert cols.min() >= 2 * (20 - rf // 2) and cols.max() < 2 * (21 + rf // 2)
    # and the field is not loose by more than the rounding: the change reaches near its edge
    assert rows.max() - rows.min() + 1 >= 2 * (rf - 4)


@pytest.mark.parametrize("scale", [1, 3, 16])
def test_unsupported_scales_are_one_line_errors(scale):
    with pytest.raises(ConfigError, match="scale must be one of 2, 4, 8"):
        SRResNet(3, scale)
