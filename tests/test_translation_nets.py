"""U-Net, PatchGAN and the CycleGAN ResNet generator: shapes, the paper's sizes, dropout as noise,
the 70x70 receptive field, backward passes and argument errors."""

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.nets.patchgan import PatchGANDiscriminator, output_size, receptive_field
from ganforge.nets.translator_resnet import ResNetTranslator, default_blocks
from ganforge.nets.unet import UNetGenerator


def n_params(net):
    return sum(p.numel() for p in net.parameters())


# ---------------------------------------------------------------------------------------- U-Net


@pytest.mark.parametrize("resolution,depth", [(64, 6), (128, 7), (256, 8), (64, 4)])
def test_unet_shapes(resolution, depth):
    torch.manual_seed(0)
    G = UNetGenerator(3, 2, resolution, ngf=4, depth=depth)
    y = G(torch.randn(2, 3, resolution, resolution))
    assert y.shape == (2, 2, resolution, resolution)
    assert y.abs().max() <= 1.0  # tanh output


def test_unet_has_the_papers_size_and_layers():
    G = UNetGenerator()  # 256 px, depth 8, ngf 64, batch norm
    assert n_params(G) == 54_414_531  # the pix2pix U-Net-256 (54.414 M parameters)
    enc = [c.out_channels for c in G.down]
    assert enc == [64, 128, 256, 512, 512, 512, 512, 512]
    assert [c.in_channels for c in G.up] == [512, 1024, 1024, 1024, 1024, 512, 256, 128]
    # no norm on the first and the innermost encoder layer
    assert isinstance(G.down_norms[0], torch.nn.Identity) and isinstance(G.down_norms[-1], torch.nn.Identity)
    assert all(isinstance(n, torch.nn.BatchNorm2d) for n in list(G.down_norms)[1:-1])


def test_unet_dropout_is_active_in_eval_and_can_be_turned_off():
    torch.manual_seed(0)
    G = UNetGenerator(1, 1, 32, ngf=4, depth=5, norm="instance").eval()
    x = torch.randn(2, 1, 32, 32)
    a, b = G(x), G(x)
    assert not torch.equal(a, b)  # dropout is G's noise, also at test time
    G_det = UNetGenerator(**{**G.config, "dropout_in_eval": False})
    G_det.load_state_dict(G.state_dict())
    G_det.eval()
    assert torch.equal(G_det(x), G_det(x))
    G_det.train()
    assert not torch.equal(G_det(x), G_det(x))  # still active when training


def test_unet_dropout_sits_on_the_innermost_decoder_layers(monkeypatch):
    torch.manual_seed(0)
    G = UNetGenerator(1, 1, 32, ngf=4, depth=5, norm="none", dropout=0.5, n_dropout=2)
    seen = []
    orig = torch.nn.functional.dropout

    def spy(h, p, training):
        seen.append((h.shape[-1], p, training))
        return orig(h, p, training=training)

    monkeypatch.setattr(torch.nn.functional, "dropout", spy)
    G.eval()(torch.randn(1, 1, 32, 32))
    assert seen == [(2, 0.5, True), (4, 0.5, True)]  # the decoder's first two layers: 1 -> 2 -> 4 px


def test_unet_config_rebuilds_the_same_network():
    G = UNetGenerator(3, 3, 64, ngf=8, depth=6, norm="instance", dropout=0.0)
    H = UNetGenerator(**G.config)
    H.load_state_dict(G.state_dict())
    x = torch.randn(1, 3, 64, 64)
    assert torch.equal(G.eval()(x), H.eval()(x))  # no dropout: deterministic


def test_unet_backward_reaches_every_parameter():
    torch.manual_seed(0)
    G = UNetGenerator(3, 3, 32, ngf=4, depth=5)
    G(torch.randn(2, 3, 32, 32)).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())


@pytest.mark.parametrize("kwargs,match", [
    ({"resolution": 100, "depth": 3}, "multiple of 2\\^3"),
    ({"resolution": 128, "depth": 8}, "multiple of 2\\^8"),
    ({"norm": "group"}, "unknown U-Net norm 'group'; valid: batch, instance, none"),
    ({"dropout": 1.0}, "dropout must be in"),
    ({"ngf": 0}, "ngf must be >= 1"),
])
def test_unet_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        UNetGenerator(**{"resolution": 64, "depth": 6, **kwargs})


def test_unet_refuses_inputs_it_cannot_halve():
    G = UNetGenerator(3, 3, 32, ngf=4, depth=5)
    with pytest.raises(ValueError, match="divisible by 32; got 48x40"):
        G(torch.randn(1, 3, 48, 40))


# -------------------------------------------------------------------------------------- PatchGAN


def test_receptive_field_is_70_for_three_layers():
    assert receptive_field(3) == 70
    assert receptive_field(1) == 16 and receptive_field(5) == 286  # the paper's 16x16 and 286x286


def test_receptive_field_matches_the_gradient_support():
    """One logit's gradient with respect to the input covers exactly the receptive field."""
    torch.manual_seed(0)
    D = PatchGANDiscriminator(1, ndf=4, n_layers=3, norm="none")  # norm would couple all pixels
    x = torch.randn(1, 1, 128, 128, requires_grad=True)
    logits = D(x)
    assert logits.shape == (1, 1, output_size(128, 3), output_size(128, 3)) == (1, 1, 14, 14)
    logits[0, 0, 7, 7].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero()
    cols = x.grad[0, 0].abs().sum(0).nonzero()
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70


@pytest.mark.parametrize("size,n_layers,expected", [(256, 3, 30), (128, 3, 14), (64, 2, 14), (32, 1, 14)])
def test_patchgan_map_shape(size, n_layers, expected):
    D = PatchGANDiscriminator(6, ndf=4, n_layers=n_layers)
    assert D(torch.randn(2, 6, size, size)).shape == (2, 1, expected, expected)
    assert output_size(size, n_layers) == expected


def test_patchgan_layers_as_in_the_paper():
    D = PatchGANDiscriminator(6, norm="batch")
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1]
    assert all(c.kernel_size == (4, 4) for c in convs)
    norms = [m for m in D.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert [n.num_features for n in norms] == [128, 256, 512]  # none on the first layer
    assert D.receptive_field == 70


def test_patchgan_spectral_norm_bounds_each_layer():
    torch.manual_seed(0)
    D = PatchGANDiscriminator(3, ndf=8, n_layers=2, norm="none", spectral_norm=True)
    for _ in range(30):  # power iterations converge in training mode
        D(torch.randn(2, 3, 32, 32))
    for m in D.modules():
        if isinstance(m, torch.nn.Conv2d):
            sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2).item()
            assert sigma == pytest.approx(1.0, abs=0.05)


def test_patchgan_backward_reaches_every_parameter_and_the_input():
    torch.manual_seed(0)
    D = PatchGANDiscriminator(6, ndf=4, n_layers=3)
    x = torch.randn(2, 6, 64, 64, requires_grad=True)
    D(x).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in D.parameters())
    assert x.grad.abs().sum() > 0


def test_patchgan_errors():
    with pytest.raises(ConfigError, match="n_layers must be >= 1"):
        PatchGANDiscriminator(n_layers=0)
    with pytest.raises(ConfigError, match="unknown PatchGAN norm"):
        PatchGANDiscriminator(norm="layer")
    with pytest.raises(ValueError, match="at least 24x24; got 16x16"):
        PatchGANDiscriminator(3, ndf=4, n_layers=3)(torch.randn(1, 3, 16, 16))


# -------------------------------------------------------------------------- ResNet translator


@pytest.mark.parametrize("h,w", [(64, 64), (30, 30), (6, 6), (18, 26), (7, 9)])
def test_resnet_translator_keeps_any_size(h, w):
    torch.manual_seed(0)
    G = ResNetTranslator(3, 1, ngf=4, n_blocks=2)
    y = G(torch.randn(2, 3, h, w))
    assert y.shape == (2, 1, h, w) and y.abs().max() <= 1.0


def test_resnet_translator_has_the_papers_size():
    assert n_params(ResNetTranslator(n_blocks=9)) == 11_378_179  # CycleGAN resnet_9blocks, 11.378 M
    assert default_blocks(128) == 6 and default_blocks(256) == 9
    G = ResNetTranslator(ngf=8, n_blocks=6)
    assert len(G.blocks) == 6
    assert [m.out_channels for m in G.down.modules() if isinstance(m, torch.nn.Conv2d)] == [16, 32]
    assert all(isinstance(m, torch.nn.InstanceNorm2d) for m in G.up_norms)


def test_resnet_translator_backward_and_rebuild():
    torch.manual_seed(0)
    G = ResNetTranslator(3, 3, ngf=4, n_blocks=1)
    G(torch.randn(2, 3, 16, 16)).square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())
    H = ResNetTranslator(**G.config)
    H.load_state_dict(G.state_dict())
    x = torch.randn(1, 3, 12, 12)
    assert torch.equal(G(x), H(x))


def test_resnet_translator_errors():
    with pytest.raises(ConfigError, match="n_blocks must be >= 0"):
        ResNetTranslator(n_blocks=-1)
    with pytest.raises(ValueError, match="at least 5x5"):
        ResNetTranslator(ngf=4, n_blocks=1)(torch.randn(1, 3, 4, 8))


# ------------------------------------------------------------------------------- tiny training


def test_a_few_pix2pix_steps_fit_a_fixed_pair():
    """U-Net (L1 + adversarial) against a conditional PatchGAN learns on CPU: L1 falls by half."""
    from ganforge.objectives.losses import nonsaturating_g_loss, probabilistic_d_loss
    from ganforge.objectives.reconstruction import l1_loss

    torch.manual_seed(0)
    x = torch.rand(2, 1, 16, 16) * 2 - 1  # inputs
    y = torch.cat([x, -x, 2 * x.abs() - 1], dim=1)  # targets: a fixed per-pixel function of the input
    G = UNetGenerator(1, 3, 16, ngf=8, depth=4, norm="instance", dropout_in_eval=False)
    D = PatchGANDiscriminator(4, ndf=8, n_layers=1)
    opt_g = torch.optim.Adam(G.parameters(), 5e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    start = l1_loss(G.eval()(x), y).item()
    G.train()
    for _ in range(40):
        fake = G(x)
        d_loss = probabilistic_d_loss(D(torch.cat([x, y], 1)), D(torch.cat([x, fake.detach()], 1)))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = nonsaturating_g_loss(D(torch.cat([x, fake], 1))) + 100 * l1_loss(fake, y)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
    end = l1_loss(G.eval()(x), y).item()
    assert end < 0.6 * start  # 0.50 -> 0.22 with this seed
