"""One CPU training round for every network x objective combination, with tiny widths."""

import itertools
import math

import pytest
import torch

from ganforge.config import Config
from ganforge.data.base import ImageDataset
from ganforge.engine import Trainer
from ganforge.objectives import OBJECTIVES

STAT_KEYS = {"d_loss", "g_loss", "value", "d_real", "d_fake", "real_logit", "fake_logit", "d_acc",
             "g_grad_norm", "d_grad_norm", "step", "lr_g", "lr_d", "time"}


def tiny_images(n=32, c=1, r=8, classes=3):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, c, r, r), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % classes
    return ImageDataset("tiny", images, labels, [str(i) for i in range(classes)])


def tiny_config(arch, loss, **model):
    cfg = Config()
    cfg = cfg.with_overrides({
        "model.arch": arch, "model.z_dim": 4, "model.g_width": 8, "model.g_depth": 1, "model.d_width": 8,
        "model.d_depth": 1, "model.g_channels": 4, "model.d_channels": 4, "loss.name": loss,
        "train.batch_size": 8, "train.device": "cpu", "train.progress": False,
        **{f"model.{k}": v for k, v in model.items()},
    })
    return cfg


VARIANTS = [
    {}, {"spectral_norm": True}, {"pack": 2}, {"conditional": True},
]


@pytest.mark.parametrize("arch, loss, variant", list(itertools.product(["mlp", "dcgan", "resnet"], OBJECTIVES, range(len(VARIANTS)))))
def test_one_round(arch, loss, variant):
    model = dict(VARIANTS[variant])
    if arch == "mlp" and model.pop("conditional", False):
        model["d_maxout"] = 3  # point data has no labels: test the PacGAN maxout D instead
    dataset = tiny_images() if arch != "mlp" else None
    cfg = tiny_config(arch, loss, **model)
    trainer = Trainer(cfg, dataset=dataset)
    before_g = [p.clone() for p in trainer.G.parameters()]
    before_d = [p.clone() for p in trainer.D.parameters()]
    stats = trainer.step()
    assert STAT_KEYS <= set(stats)
    assert all(math.isfinite(v) for v in stats.values())
    assert trainer.step_count == 1
    assert any(not torch.equal(a, b) for a, b in zip(before_g, trainer.G.parameters())), "G did not move"
    assert any(not torch.equal(a, b) for a, b in zip(before_d, trainer.D.parameters())), "D did not move"
    if loss == "wgan-gp":
        assert "gp" in stats  # the penalty ran; its value is checked against its formula in test_objectives.py
    if loss == "wasserstein":
        assert all(p.abs().max() <= cfg.loss.clip + 1e-7 for p in trainer.D.parameters())
    samples = trainer.generate(5)
    assert samples.shape == (5,) + trainer.data_shape


def test_d_steps_and_value_reported():
    cfg = tiny_config("mlp", "nonsaturating").with_overrides({"train.d_steps": 3, "loss.r1_weight": 1.0})
    trainer = Trainer(cfg)
    stats = trainer.step()
    assert stats["value"] == pytest.approx(-stats["d_loss"], abs=1e-6)  # D's loss is -V for this family
    assert "r1" in stats
    # three D updates consumed three real batches from the stream's generator
    fresh = Trainer(cfg)
    for _ in range(3):
        fresh.real_batch(8)
    assert torch.equal(fresh.stream.generator.get_state(), trainer.stream.generator.get_state())


@pytest.mark.parametrize("arch", ["dcgan", "resnet"])
def test_conditional_generation_respects_the_class(arch):
    cfg = tiny_config(arch, "hinge", conditional=True)
    trainer = Trainer(cfg, dataset=tiny_images())
    for _ in range(3):  # conditional batch norm starts class-blind (scale 1, shift 0) and learns per class
        trainer.step()
    z = torch.randn(4, 4, generator=torch.Generator().manual_seed(0))
    a = trainer.generate(4, labels=1, z=z)
    b = trainer.generate(4, labels=2, z=z)
    assert (a - b).abs().max() > 1e-4
    assert (a[0] - a[1]).abs().max() > 1e-2  # and z still matters within a class


def test_class_batch_norm_scales_and_shifts_per_class():
    from ganforge.nets.layers import ClassBatchNorm2d

    bn = ClassBatchNorm2d(2, n_classes=3)
    with torch.no_grad():
        bn.gamma.weight.copy_(torch.tensor([[1.0, 1.0], [2.0, 3.0], [0.5, 0.5]]))
        bn.beta.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, -1.0], [0.0, 0.0]]))
    x = torch.randn(6, 2, 3, 3, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    normed = (x - x.mean((0, 2, 3), keepdim=True)) / torch.sqrt(x.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5)
    expected = normed * bn.gamma.weight[labels][:, :, None, None] + bn.beta.weight[labels][:, :, None, None]
    assert torch.allclose(bn(x, labels), expected, atol=1e-5)
    plain = ClassBatchNorm2d(2)
    assert torch.allclose(plain(x), normed, atol=1e-5)  # unconditional: labels ignored, affine at init


@pytest.mark.parametrize("arch", ["dcgan", "resnet"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 8, 8), (3, 64, 64)])
def test_image_families_build_each_resolution(arch, shape):
    from ganforge.config import ModelConfig
    from ganforge.nets import build_networks

    G, D = build_networks(ModelConfig(arch=arch, z_dim=4, g_channels=4, d_channels=4, spectral_norm=True), shape)
    x = G(torch.randn(2, 4))
    assert x.shape == (2,) + shape and x.abs().max() <= 1
    assert D(x).shape == (2,)


def test_unbuildable_resolution_is_a_clear_error():
    from ganforge.config import ModelConfig
    from ganforge.errors import ConfigError
    from ganforge.nets import build_networks

    with pytest.raises(ConfigError, match="cannot build resolution 30"):
        build_networks(ModelConfig(arch="dcgan"), (1, 30, 30))


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_bf16_autocast_round(arch):
    cfg = tiny_config(arch, "wgan-gp").with_overrides({"train.precision": "bf16"})
    trainer = Trainer(cfg, dataset=tiny_images() if arch != "mlp" else None)
    stats = trainer.step()
    assert all(math.isfinite(v) for v in stats.values())
    assert all(p.dtype == torch.float32 for p in trainer.G.parameters())  # weights stay fp32


def test_unknown_precision_is_rejected():
    from ganforge.errors import ConfigError

    with pytest.raises(ConfigError, match="train.precision.*fp8"):
        tiny_config("mlp", "hinge").with_overrides({"train.precision": "fp8"})


def test_construction_seeds_the_process_and_d_logits_has_no_side_effects():
    torch.manual_seed(123)
    Trainer(tiny_config("mlp", "hinge", spectral_norm=True, pack=2))
    expected = torch.rand(3)
    torch.manual_seed(456)  # whatever ran before, train.seed decides the process RNG from here on
    trainer = Trainer(tiny_config("mlp", "hinge", spectral_norm=True, pack=2))
    assert torch.equal(torch.rand(3), expected), "train.seed must seed the process-global RNG"
    before = {k: v.clone() for k, v in trainer.D.state_dict().items()}
    logits = trainer.d_logits(torch.randn(5, 2))
    assert logits.shape == (5,)
    after = trainer.D.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "d_logits changed D's state"
    assert trainer.D.training


def test_linear_schedule_decays_to_zero_at_the_last_round():
    cfg = tiny_config("mlp", "hinge").with_overrides(
        {"optim.schedule": "linear", "train.steps": 4, "optim.lr_g": 1e-3, "optim.lr_d": 2e-3})
    trainer = Trainer(cfg)
    lrs = [(s["lr_g"], s["lr_d"]) for s in (trainer.step() for _ in range(4))]
    expected = [(1e-3, 2e-3), (7.5e-4, 1.5e-3), (5e-4, 1e-3), (2.5e-4, 5e-4)]
    assert lrs == [pytest.approx(e) for e in expected]
    from ganforge.errors import ConfigError

    with pytest.raises(ConfigError, match="optim.schedule.*cosine"):
        cfg.with_overrides({"optim.schedule": "cosine"})
