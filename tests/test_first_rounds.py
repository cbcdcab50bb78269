"""The first rounds of the GAN game: fakes reused by the G update, and the DCGAN initialisation."""

import pytest
import torch
from torch import nn

from ganforge.config import Config, ModelConfig
from ganforge.engine import Trainer
from ganforge.errors import ConfigError
from ganforge.nets import build_networks
from tests.test_resume import assert_identical, resume_half, small_config, train_straight_and_half
from tests.test_training_round import tiny_images

IMAGES = {"model.arch": "dcgan", "model.z_dim": 4, "model.g_channels": 4, "model.d_channels": 4, "train.batch_size": 8,
          "optim.ema": 0.9}


def image_trainer(data, **extra):
    return Trainer(small_config(10, **{**IMAGES, **extra}), dataset=data)


def count_g_forwards(tr):
    calls = []
    tr.G.register_forward_hook(lambda *a: calls.append(1))
    return calls


@pytest.mark.parametrize("reuse, forwards", [(False, 2), (True, 1)])
def test_g_runs_once_per_round_with_reused_fakes(reuse, forwards):
    tr = image_trainer(tiny_images(n=24), **{"model.reuse_fakes": reuse})
    calls = count_g_forwards(tr)
    for _ in range(3):
        tr.step()
    assert len(calls) == 3 * forwards
    assert tr.game._fakes is None  # nothing outlives the round (so a checkpoint needs nothing more)


def test_reused_fakes_give_the_two_forward_round_when_its_second_z_is_the_first():
    """With the G update's z set to the D update's z, the classic round (a second G forward) and the
    reusing round compute the same fakes, losses and gradients: the same G and D weights follow.
    Only G's batch-norm running statistics differ (updated once per forward), which training-mode
    forwards never read."""
    data = tiny_images(n=24)
    reusing = image_trainer(data, **{"model.reuse_fakes": True})
    classic = image_trainer(data)
    zs = []
    draw = classic.sample_z

    def same_z_twice(n, generator=None):  # the D update draws z, the G update gets the same z again
        zs.append(draw(n, generator) if len(zs) % 2 == 0 else zs[-1])
        return zs[-1]

    classic.sample_z = same_z_twice
    for _ in range(4):
        a, b = reusing.step(), classic.step()
        for key in ("d_loss", "g_loss", "d_grad_norm", "g_grad_norm", "d_fake", "d_fake_g"):
            assert a[key] == b[key], key
    for name in ("G", "D"):
        for (k, x), (_, y) in zip(reusing.nets[name].named_parameters(), classic.nets[name].named_parameters()):
            assert torch.equal(x, y), f"{name}.{k}"
    bn = reusing.G.norms[0].bn
    assert bn.num_batches_tracked == 4 and classic.G.norms[0].bn.num_batches_tracked == 8


def test_reused_fakes_need_one_d_update_per_round():
    with pytest.raises(ConfigError, match=r"model.reuse_fakes needs train.d_steps 1 \(got 2\)"):
        Config().with_overrides({"model.reuse_fakes": True, "train.d_steps": 2})
    with pytest.raises(ConfigError, match="model.reuse_fakes applies to model.game gan and tabular"):
        Config().with_overrides({"model.game": "pix2pix", "model.arch": "unet", "model.reuse_fakes": True})
    tr = Trainer(small_config(2, **{"model.reuse_fakes": True}))
    with pytest.raises(ConfigError, match="model.reuse_fakes needs one D update per round"):
        tr.set_d_steps(3)
    assert tr.cfg.train.d_steps == 1


def test_resume_with_reused_fakes_is_bit_exact(tmp_path):
    data = tiny_images(n=20)
    extra = {**IMAGES, "model.reuse_fakes": True, "model.init": "dcgan"}
    straight, _ = train_straight_and_half(tmp_path, lambda steps: small_config(steps, **extra), 8, 4, data)
    resumed = resume_half(tmp_path, 8, data)
    assert resumed.step_count == 4
    resumed.run()
    assert_identical(straight, resumed)


def _layers(net, kinds):
    return [m for m in net.modules() if isinstance(m, kinds)]


def test_dcgan_init_draws_weights_with_std_002_and_batch_norm_scales_near_1():
    torch.manual_seed(0)
    m = ModelConfig(arch="dcgan", z_dim=64, g_channels=32, d_channels=32, init="dcgan")
    G, D = build_networks(m, (1, 28, 28))
    convs = _layers(G, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)) + _layers(D, (nn.Conv2d, nn.Linear))
    big = [c.weight for c in convs if c.weight.numel() >= 5000]
    assert len(big) >= 4
    for w in big:
        assert abs(w.std().item() - 0.02) < 0.002 and abs(w.mean().item()) < 0.002
    assert all(torch.count_nonzero(c.bias) == 0 for c in convs if c.bias is not None)
    scales = torch.cat([b.weight for b in _layers(G, nn.BatchNorm2d)])  # (sum of channels,)
    assert abs(scales.mean().item() - 1) < 0.01 and 0.01 < scales.std().item() < 0.03
    torch.manual_seed(0)
    G_default, _ = build_networks(ModelConfig(arch="dcgan", z_dim=64, g_channels=32, d_channels=32), (1, 28, 28))
    assert G_default.project.weight.std().item() > 0.05  # PyTorch's default: 1/sqrt(3 * fan_in) = 0.072 here
    assert torch.equal(G_default.norms[0].bn.weight, torch.ones(128))


def test_dcgan_init_reaches_spectral_norm_weights_of_resnet_and_mlp():
    torch.manual_seed(0)
    _, D = build_networks(ModelConfig(arch="resnet", g_channels=8, d_channels=32, spectral_norm=True, init="dcgan"),
                          (3, 32, 32))
    raw = [m.parametrizations.weight.original for m in _layers(D, nn.Conv2d) if m.weight.numel() >= 5000]
    assert raw and all(abs(w.std().item() - 0.02) < 0.003 for w in raw)
    G, _ = build_networks(ModelConfig(arch="mlp", z_dim=2, g_width=128, init="dcgan"), (2,))
    hidden = [m.weight for m in _layers(G, nn.Linear) if m.weight.numel() >= 10000]
    assert hidden and all(abs(w.std().item() - 0.02) < 0.002 for w in hidden)


def test_dcgan_init_is_seeded_by_train_seed_whatever_ran_before():
    data = tiny_images(n=24)
    torch.manual_seed(123)
    a = image_trainer(data, **{"model.init": "dcgan"})
    torch.rand(1000)  # the global generator elsewhere: the initialisation must not depend on it
    b = image_trainer(data, **{"model.init": "dcgan"})
    c = image_trainer(data, **{"model.init": "dcgan", "train.seed": 1})
    for name in ("G", "D"):
        pa, pb, pc = (list(t.nets[name].parameters()) for t in (a, b, c))
        assert all(torch.equal(x, y) for x, y in zip(pa, pb))
        assert not all(torch.equal(x, z) for x, z in zip(pa, pc))


def test_init_is_refused_where_it_does_not_apply():
    with pytest.raises(ConfigError, match="model.init 'dcgan' applies to model.game gan with model.arch mlp, dcgan, "
                                          "resnet; got game 'pix2pix', arch 'unet'"):
        Config().with_overrides({"model.game": "pix2pix", "model.arch": "unet", "model.init": "dcgan"})
    with pytest.raises(ConfigError, match="model.init"):
        Config().with_overrides({"model.init": "xavier"})


def test_batch_norm_d_judges_real_and_fake_in_separate_forwards():
    data = tiny_images(n=24, r=16)  # 16 = 4 * 2^2: two strided convolutions, batch norm after the second
    tr = image_trainer(data, **{"model.d_norm": "batch", "model.reuse_fakes": True, "model.init": "dcgan"})
    assert sum(isinstance(m, nn.BatchNorm2d) for m in tr.D.modules()) == 1
    assert tr.D.body[0].bias is not None and tr.D.body[2].bias is None  # batch norm's shift replaces the bias
    sizes = []
    tr.D.register_forward_hook(lambda mod, args, out: sizes.append(args[0].shape[0]))
    tr.step()
    assert sizes == [8, 8, 8]  # D update: real, then fake; G update: the fakes again
    plain = image_trainer(data)
    sizes.clear()
    plain.D.register_forward_hook(lambda mod, args, out: sizes.append(args[0].shape[0]))
    plain.step()
    assert sizes == [16, 8]  # without batch norm: real and fake in one forward
    # the D update's logits are D on each batch alone: the real half does not see the fakes
    real = data.batch(torch.arange(8))[0]
    D = image_trainer(data, **{"model.d_norm": "batch"}).D
    alone, with_fakes = D(real), D(torch.cat([real, -real]))[:8]
    assert not torch.allclose(alone, with_fakes)


def test_batch_norm_d_is_refused_where_it_breaks_things(monkeypatch):
    for extra, what in (({"loss.name": "wgan-gp"}, "gp"), ({"loss.r1_weight": 1.0}, "r1"),
                        ({"loss.gp_weight": 10.0}, "gp")):
        with pytest.raises(ConfigError, match=f"model.d_norm batch cannot be combined with {what} "):
            Config().with_overrides({"model.arch": "dcgan", "model.d_norm": "batch", **extra})
    with pytest.raises(ConfigError, match="model.d_norm 'batch' applies to model.game gan with model.arch dcgan; "
                                          "got game 'gan', arch 'resnet'"):
        Config().with_overrides({"model.arch": "resnet", "model.d_norm": "batch"})
    tr = image_trainer(tiny_images(n=24, r=16), **{"model.d_norm": "batch"})
    tr.set_loss_weights(r1=1.0)  # turned on live: refused at the next D update
    with pytest.raises(ConfigError, match="cannot be combined with a gradient penalty or R1"):
        tr.step()
    from ganforge.engine import trainer as trainer_module
    from ganforge.engine.distributed import DistInfo

    monkeypatch.setattr(trainer_module, "dist_setup", lambda device: DistInfo(rank=0, world=2))
    with pytest.raises(ConfigError, match=r"model.d_norm batch trains in one process only \(2 were started\)"):
        Trainer(small_config(2, **{**IMAGES, "model.d_norm": "batch"}), dataset=tiny_images(n=24, r=16),
                distributed=True)


def test_reuse_dcgan_init_and_batch_norm_d_take_the_classic_dcgan_round():
    """ganforge's round with model.reuse_fakes, model.init=dcgan and model.d_norm=batch is the round of
    PyTorch's DCGAN example, written out here: one G forward, D on real then on the detached fakes
    (BCE), Adam steps, then the updated D on the same fakes for G. Same start, same draws: same weights."""
    import copy

    import torch.nn.functional as F

    from ganforge.data.streams import EpochStream

    data = tiny_images(n=40, r=16)
    tr = image_trainer(data, **{"model.reuse_fakes": True, "model.init": "dcgan", "model.d_norm": "batch",
                                "optim.ema": 0.0})
    G, D = copy.deepcopy(tr.G), copy.deepcopy(tr.D)
    o = tr.cfg.optim
    opt_g = torch.optim.Adam(G.parameters(), lr=o.lr_g, betas=(o.beta1, o.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=o.lr_d, betas=(o.beta1, o.beta2))
    stream, gen = EpochStream(data, tr.cfg.train.seed + 2), torch.Generator().manual_seed(tr.cfg.train.seed + 1)
    bce = F.binary_cross_entropy_with_logits
    for _ in range(5):  # more than an epoch of 40 images in batches of 8
        real = stream.next(8)[0]
        fake = G(torch.randn(8, tr.cfg.model.z_dim, generator=gen))
        out_real, out_fake = D(real), D(fake.detach())
        err_d = bce(out_real, torch.ones_like(out_real)) + bce(out_fake, torch.zeros_like(out_fake))
        D.zero_grad()
        err_d.backward()
        opt_d.step()
        out = D(fake)
        err_g = bce(out, torch.ones_like(out))
        G.zero_grad()
        err_g.backward()
        opt_g.step()
        stats = tr.step()
        assert stats["g_loss"] == pytest.approx(err_g.item(), rel=1e-5)
    for mine, classic in ((tr.G, G), (tr.D, D)):
        for (k, x), (_, y) in zip(mine.state_dict().items(), classic.state_dict().items()):
            assert torch.allclose(x.float(), y.float(), rtol=1e-5, atol=1e-6), k
