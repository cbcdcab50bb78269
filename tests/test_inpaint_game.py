"""The inpaint game on tiny data: what G sees, what the critics judge, its loss terms, its baseline
without D, and bit-exact resume of its mask stream."""

import pytest
import torch

from ganforge.config import Config
from ganforge.data.base import ImageDataset
from ganforge.engine import Trainer
from ganforge.errors import ConfigError
from ganforge.games.inpaint import InpaintNet, composite, g_input, hole_l1, net_size
from ganforge.presets import load_preset

TINY = {"model.game": "inpaint", "model.arch": "unet", "model.g_channels": 4, "model.d_channels": 4,
        "model.d_layers": 1, "model.dropout": False, "data.mask": "rectangles", "train.batch_size": 4,
        "train.progress": False, "train.device": "cpu", "train.threads": 1}


def tiny_images(n=8, c=1, size=12, seed=0) -> ImageDataset:
    g = torch.Generator().manual_seed(seed)
    return ImageDataset("tiny", torch.randint(0, 256, (n, c, size, size), generator=g, dtype=torch.uint8))


def trainer(**overrides) -> Trainer:
    cfg = Config().with_overrides({**TINY, **overrides})
    return Trainer(cfg, dataset=tiny_images(c=cfg.data.channels or 1))


def weights(net):
    return torch.cat([p.detach().flatten().clone() for p in net.parameters()])


def test_one_round_updates_g_and_both_critics_and_reports_every_term():
    tr = trainer()
    assert set(tr.nets) == {"G", "D", "D_global"} and tr.game.d_side == ("D", "D_global")
    before = {k: weights(v) for k, v in tr.nets.items()}
    stats = tr.step()
    for name, w in before.items():
        assert not torch.equal(w, weights(tr.nets[name])), f"{name} did not move"
    for key in ("d_loss", "d_patch", "d_global", "g_loss", "g_patch", "g_global", "l1"):
        assert key in stats and torch.isfinite(torch.tensor(stats[key]))
    assert stats["d_loss"] == pytest.approx(stats["d_patch"] + stats["d_global"], rel=1e-5)


def test_without_d_the_same_g_trains_on_the_hole_l1_alone():
    tr = trainer(**{"loss.gan_weight": 0.0})
    assert set(tr.nets) == {"G"} and tr.opt_d is None
    stats = tr.step()
    assert "d_loss" not in stats and "g_loss" not in stats and stats["l1"] > 0


def test_g_never_sees_the_hidden_pixels_and_known_pixels_are_kept():
    torch.manual_seed(0)
    tr = trainer()
    G = tr.nets["G"].eval()
    x = torch.rand(2, 1, 12, 12) * 2 - 1
    masks = torch.zeros(2, 1, 12, 12, dtype=torch.bool)
    masks[:, :, 3:9, 2:7] = True
    other = torch.where(masks, torch.rand_like(x), x)  # different content in the hole only
    with torch.no_grad():
        a, b = G(g_input(x, masks)), G(g_input(other, masks))
        # the net zeroes the hole itself: a caller's unmasked image gives the same output too
        c = G(torch.cat([other, masks.float()], 1))
    assert torch.equal(a, b) and torch.equal(a, c) and a.shape == (2, 1, 12, 12)
    done = composite(a, x, masks)
    assert torch.equal(done[~masks.expand_as(x)], x[~masks.expand_as(x)])
    assert torch.equal(done[masks.expand_as(x)], a[masks.expand_as(x)])


def test_hole_l1_is_the_mean_over_hole_pixels():
    fake, real = torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
    masks = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    masks[..., 0, :2] = True  # two hidden pixels, three channels each
    fake[..., 0, 0] = 0.6
    fake[..., 3, 3] = 5.0  # outside the hole: ignored
    assert float(hole_l1(fake, real, masks)) == pytest.approx(0.3)


def test_the_u_net_is_padded_to_a_power_of_two():
    assert net_size("unet", 28) == 32 and net_size("unet", 32) == 32 and net_size("resnet", 28) == 28
    net = InpaintNet(torch.nn.Conv2d(2, 1, 1), 32)
    seen = []
    net.net.register_forward_hook(lambda m, i, o: seen.append(i[0].shape))
    assert net(torch.zeros(3, 2, 28, 28)).shape == (3, 1, 28, 28) and seen == [(3, 2, 32, 32)]


def test_resume_replays_the_same_masks_and_weights(tmp_path):
    straight = trainer()
    for _ in range(4):
        straight.step()
    first = trainer()
    for _ in range(2):
        first.step()
    ckpt = first.save_checkpoint(tmp_path)
    resumed = Trainer.from_checkpoint(ckpt, dataset=tiny_images())
    for _ in range(2):
        resumed.step()
    for name in ("G", "D", "D_global"):
        assert torch.equal(weights(straight.nets[name]), weights(resumed.nets[name])), name


def test_rgb_images_and_bad_settings():
    tr = trainer(**{"data.channels": 3, "data.mask": "center", "data.mask_size": 4})
    assert tr.spec.data_shape == (3, 12, 12) and tr.spec.input_shape == (4, 12, 12)
    tr.step()
    with pytest.raises(ConfigError, match="mask_size 20 is larger"):
        trainer(**{"data.mask": "center", "data.mask_size": 20})
    with pytest.raises(ConfigError, match="needs a translator"):
        Config().with_overrides({**TINY, "model.arch": "dcgan"})


def test_presets_describe_the_two_tasks():
    mnist, cifar = load_preset("inpaint-mnist"), load_preset("inpaint-cifar10")
    assert (mnist.data.name, mnist.data.mask) == ("mnist", "lower-half")
    assert (cifar.data.name, cifar.data.mask, cifar.data.mask_size) == ("cifar10", "center", 16)
    assert load_preset("inpaint-mnist-l1").loss.gan_weight == 0 and mnist.loss.gan_weight > 0
