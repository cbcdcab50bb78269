"""The super-resolution game: the PSNR stage (no D), SRGAN from a PSNR run, the perceptual loss,
the training data, and bit-exact resume."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ganforge.config import Config
from ganforge.data import load_dataset
from ganforge.data.base import ImageDataset
from ganforge.data.degrade import Degradation
from ganforge.data.restoration import patches, sr_test_set
from ganforge.engine import Trainer
from ganforge.engine.batches import make_stream
from ganforge.engine.checkpoint import latest_checkpoint
from ganforge.engine.rundir import create_run_dir
from ganforge.errors import CheckpointError, ConfigError
from ganforge.games.super_resolution import dihedral
from tests.test_resume import assert_identical

TINY = {"model.game": "super-resolution", "model.arch": "srresnet", "data.name": "sr-folder", "data.scale": 4,
        "model.g_channels": 4, "model.g_blocks": 1, "model.d_channels": 4, "model.d_layers": 1,
        "loss.gan_weight": 0.0, "train.batch_size": 4, "train.steps": 2, "train.log_every": 1,
        "train.sample_every": 0, "train.checkpoint_every": 0, "train.progress": False, "train.device": "cpu"}
GAN = {"loss.gan_weight": 0.1, "loss.fm_weight": 1.0}


def hr_patches(n=12, size=16, seed=0) -> ImageDataset:
    """Smooth random colour patches (N, 3, size, size) uint8, as a restoration dataset holds them."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 4, 4, generator=g)
    x = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    return ImageDataset("sr-folder", (x * 255).round().to(torch.uint8))


def config(**extra):
    return Config().with_overrides({**TINY, **extra})


def test_psnr_stage_trains_g_alone_on_l1_starting_from_bicubic():
    data = hr_patches()
    tr = Trainer(config(), dataset=data)
    assert tr.D is None and tr.opt_d is None and tr.spec.input_shape == (3, 4, 4)
    stats = tr.step()
    assert "d_loss" not in stats and "g_loss" not in stats
    # the first batch, replayed: the stream, the game's flips, bicubic LR; the untrained G is bicubic
    hr, _ = make_stream(data, 0 + 2).next(4)
    hr = dihedral(hr, torch.randint(0, 8, (4,), generator=torch.Generator().manual_seed(0 + 7)))
    sr = F.interpolate(Degradation(4)(hr), scale_factor=4, mode="bicubic", align_corners=False)
    assert stats["l1"] == pytest.approx(float((sr - hr).abs().mean()), rel=1e-5)


def test_l2_pixel_loss_is_the_mse():
    data = hr_patches()
    stats = Trainer(config(**{"loss.content_pixel": "l2"}), dataset=data).step()
    hr, _ = make_stream(data, 2).next(4)
    hr = dihedral(hr, torch.randint(0, 8, (4,), generator=torch.Generator().manual_seed(7)))
    sr = F.interpolate(Degradation(4)(hr), scale_factor=4, mode="bicubic", align_corners=False)
    assert "l1" not in stats and stats["l2"] == pytest.approx(float(F.mse_loss(sr, hr)), rel=1e-5)


def test_adversarial_round_updates_d_and_g_with_content_terms():
    tr = Trainer(config(**GAN), dataset=hr_patches())
    g0 = [p.detach().clone() for p in tr.G.parameters()]
    d0 = [p.detach().clone() for p in tr.D.parameters()]
    stats = tr.step()
    assert {"d_loss", "g_loss", "fm", "l1", "d_real", "d_fake"} <= set(stats)
    assert all(np.isfinite(v) for v in stats.values())
    assert any(not torch.equal(a, b) for a, b in zip(g0, tr.G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, tr.D.parameters()))


def test_gan_stage_starts_from_the_psnr_runs_weights(tmp_path):
    data = hr_patches()
    cfg = config(**{"optim.ema": 0.5})
    psnr = Trainer(cfg, run_dir=create_run_dir(tmp_path / "psnr", cfg), dataset=data)
    psnr.run()
    gan = Trainer(config(**GAN, **{"model.init_from": str(tmp_path / "psnr")}), dataset=data)
    for a, b in zip(gan.G.state_dict().values(), psnr.G_ema.state_dict().values()):
        assert torch.equal(a, b)  # its moving average, which is what it would be used as
    with pytest.raises(ConfigError, match="model.init_from .*missing"):
        Trainer(config(**GAN, **{"model.init_from": str(tmp_path / "missing")}), dataset=data)
    with pytest.raises(CheckpointError, match=r"\(model.init_from\) does not fit this G"):
        Trainer(config(**GAN, **{"model.init_from": str(tmp_path / "psnr"), "model.g_channels": 8}), dataset=data)


def test_resume_is_bit_exact(tmp_path):
    data = hr_patches()
    extra = {**GAN, "optim.ema": 0.9, "data.degradation": "blur-noise"}
    straight = Trainer(config(**extra, **{"train.steps": 6}), dataset=data,
                       run_dir=create_run_dir(tmp_path / "a", config(**extra, **{"train.steps": 6})))
    straight.run()
    cfg = config(**extra, **{"train.steps": 3})
    Trainer(cfg, run_dir=create_run_dir(tmp_path / "b", cfg), dataset=data).run()
    resumed = Trainer.from_checkpoint(latest_checkpoint(tmp_path / "b" / "checkpoints"), run_dir=tmp_path / "b",
                                      dataset=data, overrides={"train.steps": 6})
    resumed.run()
    assert_identical(straight, resumed)
    assert torch.equal(straight.game.rng.get_state(), resumed.game.rng.get_state())


class Features(torch.nn.Module):
    def forward(self, x):
        return [x.mean(1, keepdim=True), F.avg_pool2d(x, 2)]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_perceptual_loss_from_a_torchscript_file(tmp_path):
    path = tmp_path / "features.pt"
    torch.jit.script(Features()).save(str(path))
    data = hr_patches()
    stats = Trainer(config(**{"loss.content_net": str(path), "loss.content_net_size": 8}), dataset=data).step()
    hr, _ = make_stream(data, 2).next(4)
    hr = dihedral(hr, torch.randint(0, 8, (4,), generator=torch.Generator().manual_seed(7)))
    sr = F.interpolate(Degradation(4)(hr), scale_factor=4, mode="bicubic", align_corners=False)
    sr8, hr8 = (F.interpolate(t, size=(8, 8), mode="bilinear", align_corners=False) for t in (sr, hr))
    want = (F.mse_loss(sr8.mean(1, keepdim=True), hr8.mean(1, keepdim=True))
            + F.mse_loss(F.avg_pool2d(sr8, 2), F.avg_pool2d(hr8, 2))) / 2
    assert stats["perceptual"] == pytest.approx(float(want), rel=1e-5)
    (tmp_path / "junk.pt").write_bytes(b"not a network")
    with pytest.raises(ConfigError, match="loss.content_net .*junk.pt is not a TorchScript file"):
        Trainer(config(**{"loss.content_net": str(tmp_path / "junk.pt")}), dataset=data)


def test_dihedral_gives_the_eight_symmetries_of_the_square():
    x = torch.arange(9.0).view(1, 1, 3, 3).expand(8, 1, 3, 3)
    out = dihedral(x, torch.arange(8))
    assert len({tuple(o.flatten().tolist()) for o in out}) == 8
    assert torch.equal(out[4], x[0].transpose(-1, -2)) and torch.equal(out[3], x[0].flip(-1).flip(-2))


def test_folder_data_is_cut_into_patches_and_settings_are_checked(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "photos").mkdir()
    Image.fromarray(rng.integers(0, 256, (40, 70, 3), dtype=np.uint8)).save(tmp_path / "photos" / "a.png")
    Image.fromarray(rng.integers(0, 256, (10, 10), dtype=np.uint8)).save(tmp_path / "photos" / "tiny.png")
    cfg = config(**{"data.path": str(tmp_path / "photos"), "data.resolution": 16})
    with pytest.warns(UserWarning, match="1 image.* smaller than a 16x16 patch"):
        data = load_dataset(cfg.data)
    assert data.images.shape == (2 * 4, 3, 16, 16)
    with Image.open(tmp_path / "photos" / "a.png") as im:
        a = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)
    assert torch.equal(data.images[5], a[:, 16:32, 16:32])  # row 1, column 1 of the grid
    assert patches(np.zeros((3, 10, 10), np.uint8), 16).shape == (0, 3, 16, 16)
    with pytest.raises(ConfigError, match="data.scale must be one of 2, 4, 8"):
        config(**{"data.scale": 3})
    with pytest.raises(ConfigError, match="goes with model.arch 'srresnet'"):
        config(**{"model.arch": "unet"})
    with pytest.raises(ConfigError, match="divisible by data.scale"):
        Trainer(config(**{"data.scale": 8}), dataset=hr_patches(size=20))


def test_sr_test_set_is_fixed_and_mod_cropped():
    test = sr_test_set(4, ("skimage",))
    assert [t.name for t in test][:3] == ["skimage/astronaut", "skimage/chelsea", "skimage/coffee"]
    assert len(test) == 7
    assert all(t.hr.dtype == torch.uint8 and t.hr.shape[0] == 3 for t in test)
    assert all(t.hr.shape[1] % 4 == 0 and t.hr.shape[2] % 4 == 0 and max(t.hr.shape) <= 512 for t in test)
    assert tuple(test[1].hr.shape) == (3, 300, 448)  # chelsea, 451x300, mod-cropped to x4
    assert torch.equal(sr_test_set(4, ("skimage",), limit=2)[1].hr, test[1].hr)


def test_facades_photos_as_training_patches(shared_data):
    cfg = config(**{"data.name": "sr-facades", "data.resolution": 64, "data.limit": 3,
                    "data.data_dir": str(shared_data)})
    data = load_dataset(cfg.data)
    assert data.images.shape == (3 * 16, 3, 64, 64)
    test = sr_test_set(4, ("facades",), data_dir=shared_data)
    assert len(test) == 106 and tuple(test[0].hr.shape) == (3, 256, 256)
