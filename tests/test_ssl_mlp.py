"""The semi-supervised game's MLP networks (model.arch mlp): shapes, noise in training only, weight
norm, one round, bit-exact resume, the exported classifier."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.config import Config
from ganforge.engine import Trainer
from ganforge.errors import ConfigError
from ganforge.nets.ssl_mlp import SSLMLPDiscriminator, SSLMLPGenerator, WNLinear
from tests.test_resume import assert_identical, stepped_and_resumed
from tests.test_ssl import striped


def mlp_config(**extra) -> Config:
    base = {"model.game": "ssl", "model.arch": "mlp", "data.name": "digits", "model.z_dim": 8,
            "model.noise": "uniform", "data.labels_per_class": 2, "train.batch_size": 12, "train.progress": False,
            "train.device": "cpu", "train.sample_every": 0, "train.log_every": 1, "optim.lr_d": 3e-3,
            "optim.lr_g": 3e-3, "loss.d_input_noise": 0.3, "optim.schedule": "linear", "train.steps": 8}
    return Config().with_overrides({**base, **extra})


def weights(trainer) -> dict[str, torch.Tensor]:
    return {f"{m}.{k}": v.clone() for m, net in trainer.modules().items() for k, v in net.state_dict().items()}


# ----------------------------------------------------------------------------- the networks


def test_shapes_and_the_paper_sizes():
    torch.manual_seed(0)
    D, G = SSLMLPDiscriminator(64, 3).eval(), SSLMLPGenerator(8, (1, 8, 8))
    x = torch.rand(5, 1, 8, 8) * 2 - 1  # (B, C, H, W)
    assert D(x).shape == (5, 3) and D.features(x).shape == (5, 250)
    torch.testing.assert_close(D.out(D.features(x)), D(x))  # features then out is the whole D
    assert [layer.v.shape[0] for layer in D.body] == [1000, 500, 250, 250, 250]
    img = G(torch.rand(5, 8))
    assert img.shape == (5, 1, 8, 8) and img.abs().max() <= 1
    assert [m.weight.shape[0] for m in G.hidden] == [500, 500]


def test_noise_is_on_in_training_only_and_drawn_from_the_given_generator():
    torch.manual_seed(0)
    D = SSLMLPDiscriminator(64, 3)
    x = torch.rand(4, 1, 8, 8)

    def run(seed):
        return D(x, generator=torch.Generator().manual_seed(seed))

    assert D.training
    torch.testing.assert_close(run(1), run(1))  # same seed: same noise
    assert not torch.allclose(run(1), run(2))  # another seed: other noise
    gen = torch.Generator().manual_seed(5)
    D(x, generator=gen)
    assert not torch.equal(gen.get_state(), torch.Generator().manual_seed(5).get_state())  # it drew
    D.eval()
    gen = torch.Generator().manual_seed(5)
    a, b = D(x, generator=gen), D(x)
    torch.testing.assert_close(a, b)  # deterministic in eval mode
    assert torch.equal(gen.get_state(), torch.Generator().manual_seed(5).get_state())  # no draw
    # training mode with zero noise is eval mode exactly
    quiet = SSLMLPDiscriminator(64, 3, input_noise=0.0, hidden_noise=0.0)
    quiet.load_state_dict(D.state_dict())
    torch.testing.assert_close(quiet.train()(x), b)


def test_noise_std_on_the_image_and_on_hidden_layers():
    """With identity weights (v = I, g = 1, b = 0) a layer passes its noisy input through a ReLU:
    relu(N(0, s^2)) has mean s / sqrt(2 pi), which reads the noise's std back."""

    def identity_d(widths):
        D = SSLMLPDiscriminator(4, 2, input_noise=0.3, hidden_noise=0.5, widths=widths)
        with torch.no_grad():
            for layer in D.body:
                layer.v.copy_(torch.eye(4))
        return D

    gen, black = torch.Generator().manual_seed(0), torch.full((20000, 4), -1.0)  # pixels -1: D's [0, 1] scale reads 0
    h = identity_d((4,)).features(black, generator=gen)  # relu(0 + N(0, 0.3^2))
    assert h.mean().item() == pytest.approx(0.3 / np.sqrt(2 * np.pi), rel=0.03)
    # a second layer: with bias -5 the first layer's relu(-5 + noise) is 0, so the second sees its own noise, std 0.5
    D = identity_d((4, 4))
    with torch.no_grad():
        D.body[0].b.fill_(-5.0)
    h = D.features(black, generator=gen)
    assert h.mean().item() == pytest.approx(0.5 / np.sqrt(2 * np.pi), rel=0.03)
    # white pixels (+1) are 1 on D's scale: relu(1 + N(0, 0.3^2)) has mean about 1
    assert identity_d((4,)).features(-black, generator=gen).mean().item() == pytest.approx(1.0, abs=0.01)


def test_weight_norm_on_every_linear_layer():
    torch.manual_seed(0)
    D, G = SSLMLPDiscriminator(64, 3).eval(), SSLMLPGenerator(8, (1, 8, 8))
    layers = [*D.body, D.out.linear, G.to_image]
    assert all(isinstance(layer, WNLinear) for layer in layers) and len(layers) == 7
    x = torch.rand(3, 1, 8, 8)
    before = D(x)
    with torch.no_grad():
        for layer in D.body:
            layer.v.mul_(7.0)  # w = g v / |v|: the scale of v does not matter
    torch.testing.assert_close(D(x), before)
    # the effective weight's rows have norm g
    layer = D.out.linear
    with torch.no_grad():
        layer.g.copy_(torch.tensor([0.5, 2.0, 3.0]))
    h = torch.eye(250)
    w = (layer(h) - layer.b).T  # (3, 250): the effective weight
    torch.testing.assert_close(w.norm(dim=1), torch.tensor([0.5, 2.0, 3.0]))
    # hidden scales are fixed buffers (ReLU is scale-free), the output scale is learnt
    assert "g" in dict(D.body[0].named_buffers()) and "g" in dict(D.out.linear.named_parameters())


def test_data_dependent_init_standardises_every_layer():
    """After init_from (noise off), each unit's pre-activation on the batch has mean 0 and std 1."""
    torch.manual_seed(0)
    D = SSLMLPDiscriminator(64, 3, input_noise=0.0, hidden_noise=0.0)
    x = striped(20).batch(torch.arange(60))[0]  # (60, 1, 8, 8)
    D.init_from(x)
    h = x.flatten(1).add(1).mul(0.5)
    for layer in [*D.body, D.out.linear]:
        pre = layer(h)  # (60, width)
        torch.testing.assert_close(pre.mean(0), torch.zeros(pre.shape[1]), atol=1e-4, rtol=0)
        torch.testing.assert_close(pre.std(0), torch.ones(pre.shape[1]), atol=1e-3, rtol=0)
        h = torch.relu(pre)
    # the game initialises D on the training images when it has them
    trainer = Trainer(mlp_config(), dataset=striped(20))
    noisy = x.flatten(1).add(1).mul(0.5) + 0.3 * torch.randn(60, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        pre = trainer.D.body[0](noisy)  # the init pass saw the image with its training noise (std 0.3)
        untouched = SSLMLPDiscriminator(64, 3).body[0](noisy)  # g = 1, b = 0
    assert pre.std(0).mean().item() == pytest.approx(1.0, abs=0.15) and pre.mean(0).abs().mean().item() < 0.3
    assert untouched.std(0).mean().item() < 0.6  # without the initialisation the scale is far from 1


# ----------------------------------------------------------------------------- the game on the engine


def test_config_accepts_mlp_and_refuses_other_archs_in_one_line():
    assert mlp_config().model.arch == "mlp"
    with pytest.raises(ConfigError, match="model.game 'ssl' goes with model.arch 'dcgan' or 'mlp'") as e:
        mlp_config(**{"model.arch": "resnet"})
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="model.spectral_norm applies to the ssl game's dcgan D"):
        Trainer(mlp_config(**{"model.spectral_norm": True}), dataset=striped(20))


def test_one_round_moves_every_trained_weight():
    trainer = Trainer(mlp_config(), dataset=striped(20))
    assert isinstance(trainer.D, SSLMLPDiscriminator) and isinstance(trainer.G, SSLMLPGenerator)
    torch_state = torch.get_rng_state()
    before = {f"{m}.{k}": p.detach().clone() for m, net in trainer.nets.items() for k, p in net.named_parameters()}
    stats = trainer.step()
    assert {"d_sup", "d_unsup", "g_loss", "train_acc"} <= set(stats) and all(np.isfinite(v) for v in stats.values())
    after = {f"{m}.{k}": p.detach() for m, net in trainer.nets.items() for k, p in net.named_parameters()}
    moved = [k for k in before if not torch.equal(before[k], after[k])]
    assert sorted(moved) == sorted(before)  # every parameter of G and D took a step
    assert torch.equal(torch.get_rng_state(), torch_state)  # D's noise came from the run's noise generator


def test_resume_is_bit_exact(tmp_path):
    data = striped(20)
    a = Trainer(mlp_config(), dataset=data)
    assert_identical(a, stepped_and_resumed(a, tmp_path, data))


def test_exported_classifier_is_d_in_eval_mode(tmp_path):
    from ganforge.cli import main
    from ganforge.engine.generator import load_networks, resolve_checkpoint

    trainer = Trainer(mlp_config(**{"train.steps": 2, "optim.ema": 0.9}), run_dir=tmp_path / "run", dataset=striped(20))
    trainer.run(2)
    out = tmp_path / "clf.pt"
    assert main(["export", str(tmp_path / "run"), "--classifier", "--out", str(out)]) == 0
    clf = torch.jit.load(str(out))
    x = striped(2, seed=3).batch(torch.arange(6))[0]
    D_ema = trainer.ema_nets["D"]
    with torch.no_grad():
        expected = D_ema(x)  # the moving average, in eval mode: no noise
        torch.testing.assert_close(clf(x), expected)
        torch.testing.assert_close(clf(x), clf(x))
        assert not torch.allclose(D_ema.train()(x, generator=torch.Generator().manual_seed(0)), expected)
    # what `ganforge eval --metrics accuracy` scores: the checkpoint's D, loaded in eval mode
    _, _, nets = load_networks(resolve_checkpoint(tmp_path / "run"))
    assert not nets["D_ema"].training
    with torch.no_grad():
        torch.testing.assert_close(nets["D_ema"](x), expected)
