"""Every preset builds its data, G and D, trains two rounds and samples the data's shape.

Image presets read a small prefix of the real dataset (``data.limit``), so they need the shared data.
"""

import math

import pytest
import torch

from ganforge.data.base import ImageDataset
from ganforge.engine import Trainer
from ganforge.presets import PRESETS, load_preset

BUILT_IN = {"ring8", "grid25", "spiral", "moons", "digits"}
EXPECTED_SHAPES = {
    "digits": (1, 8, 8), "mnist-dcgan": (1, 28, 28), "mnist-cgan": (1, 28, 28), "mnist-selfcond": (1, 28, 28), "mnist-sngan": (1, 28, 28),
    "fashion-dcgan": (1, 28, 28), "fashion-wgan-gp": (1, 28, 28), "stacked-mnist": (3, 28, 28),
    "cifar10-dcgan": (3, 32, 32), "cifar10-sngan": (3, 32, 32), "cifar10-wgan-gp": (3, 32, 32),
    "mnist-stylegan": (1, 28, 28), "fashion-stylegan": (1, 28, 28), "cifar10-stylegan": (3, 32, 32),
    "mnist-ssl-100": (1, 28, 28), "fashion-ssl-100": (1, 28, 28), "cifar10-ssl-4000": (3, 32, 32),
}


TRANSLATION = {name for name, (_, o) in PRESETS.items() if o.get("model.game", "gan") not in ("gan", "ssl", "molgan")}
MOLECULES = {name for name, (_, o) in PRESETS.items() if o.get("model.game") == "molgan"}  # tests/test_molgan.py


@pytest.mark.parametrize("name", sorted(PRESETS.keys() - TRANSLATION - MOLECULES))
def test_preset_trains_and_samples(name, request):
    overrides = {"train.device": "cpu", "train.progress": False, "train.batch_size": 8,
                 "train.d_steps": 1, "train.precision": "fp32",
                 "data.labels_per_class": 1}  # semi-supervised presets: 64 images hold one label per class
    if name not in BUILT_IN:
        overrides["data.data_dir"] = str(request.getfixturevalue("shared_data"))
        overrides["data.limit"] = 64
    cfg = load_preset(name).with_overrides(overrides)
    if cfg.data.clusters:  # self-conditioned: as many clusters as 64 images can hold
        cfg = cfg.with_overrides({"data.clusters": min(cfg.data.clusters, 8)})
        assert cfg.model.conditional
    trainer = Trainer(cfg)
    for _ in range(2):
        stats = trainer.step()
    assert math.isfinite(stats["d_loss"]) and math.isfinite(stats["g_loss"])
    x = trainer.generate(4)
    if isinstance(trainer.data, ImageDataset):
        assert tuple(x.shape[1:]) == EXPECTED_SHAPES[name] == tuple(trainer.data.shape)
        assert x.min() >= -1 and x.max() <= 1
    else:
        assert x.shape == (4, trainer.data.dim)
    assert torch.isfinite(x).all()


def test_every_image_preset_has_an_expected_shape():
    assert set(PRESETS) - (BUILT_IN - {"digits"}) - TRANSLATION - MOLECULES == set(EXPECTED_SHAPES)


@pytest.mark.parametrize("name", sorted(TRANSLATION))
def test_translation_preset_trains_and_draws_its_triplets(name, shared_data, tmp_path):
    """Two rounds at the preset's own size (batch 1, 4 pairs), every loss term finite, and the
    sample picture: one row per example, input | output | target (or there and back)."""
    from PIL import Image

    cfg = load_preset(name).with_overrides({
        "train.device": "cpu", "train.progress": False, "train.batch_size": 1, "train.precision": "fp32",
        "data.data_dir": str(shared_data), "data.limit": 4,
        "model.init_from": None})  # srgan-x4 starts from an sr-psnr-x4 run; here from fresh weights
    trainer = Trainer(cfg)
    for _ in range(2):
        stats = trainer.step()
    assert all(math.isfinite(v) for v in stats.values())
    assert ("cycle_A" if cfg.model.game == "cyclegan" else "l1") in stats
    assert ("d_loss" in stats) == (cfg.loss.gan_weight > 0)
    size = cfg.data.resolution or trainer.spec.data_shape[-1]  # inpainting keeps the native size
    picture = Image.open(trainer.game.save_samples(trainer, tmp_path / "s.png"))
    scale = max(1, -(-56 // size))  # the grid enlarges images below 56 px (viz.save_image_grid)
    assert picture.size[0] == (3 * size + 4 * 2) * scale  # three images and the grid's padding
