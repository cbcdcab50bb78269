"""StyleGAN-lite: modulated convolutions, style mixing, truncation, path length, lazy intervals,
bit-exact resume, one round on tiny data, and the sample command's --truncation / --mix."""

import json
import math

import numpy as np
import pytest
import torch

from ganforge.cli import main
from ganforge.config import Config
from ganforge.engine import Trainer
from ganforge.errors import ConfigError
from ganforge.nets.stylegan import (
    ModulatedConv2d,
    StyleGANDiscriminator,
    StyleGANGenerator,
    draw_crossover,
    normalize_2nd_moment,
)
from ganforge.objectives import path_length_penalty
from tests.test_resume import assert_identical, resume_half, train_straight_and_half
from tests.test_training_round import tiny_images


def tiny_config(steps=4, **extra):
    return Config().with_overrides({
        "model.arch": "stylegan", "model.z_dim": 8, "model.w_dim": 8, "model.mapping_depth": 2,
        "model.g_channels": 4, "model.d_channels": 4, "optim.ema": 0.9, "optim.lr_g": 2e-3, "optim.lr_d": 2e-3,
        "train.batch_size": 8, "train.steps": steps, "train.log_every": 1, "train.sample_every": 0,
        "train.checkpoint_every": 0, "train.device": "cpu", "train.progress": False, **extra,
    })


def tiny_G(**kw):
    torch.manual_seed(0)
    return StyleGANGenerator(z_dim=8, channels=1, resolution=16, width=4, w_dim=8, mapping_depth=2, **kw)


# ---------------------------------------------------------------------------- the layers


def test_demodulation_keeps_unit_variance_whatever_the_style():
    torch.manual_seed(0)
    conv = ModulatedConv2d(64, 48, w_dim=16, kernel=3)
    x = torch.randn(8, 64, 24, 24)  # unit-variance inputs
    for scale in (0.1, 1.0, 10.0):  # styles of very different sizes
        w = torch.randn(8, 16) * scale
        with torch.no_grad():
            out = conv(x, w)[:, :, 1:-1, 1:-1]  # interior: zero padding shrinks the border's variance
        assert out.var().item() == pytest.approx(1.0, abs=0.05)
        # per sample too: demodulation normalises each sample's own effective weights
        assert out.flatten(1).var(dim=1).sub(1).abs().max().item() < 0.1
    # without demodulation the output variance follows the style (the property is not automatic)
    plain = ModulatedConv2d(64, 48, w_dim=16, kernel=3, demodulate=False)
    plain.load_state_dict(conv.state_dict())
    with torch.no_grad():
        plain.affine.bias.fill_(3.0)
        assert plain(x, torch.zeros(8, 16))[:, :, 1:-1, 1:-1].var().item() == pytest.approx(9.0, rel=0.1)


def test_shapes_at_28_and_32_pixels_and_the_number_of_styles():
    G28 = StyleGANGenerator(8, 1, 28, 4, w_dim=8, mapping_depth=1)  # 7x7 constant, 7 -> 14 -> 28
    G32 = StyleGANGenerator(8, 3, 32, 4, n_classes=3, mapping_depth=1)  # 4x4 constant, 3 levels
    assert G28.const.shape[1:] == (7, 7) and G28.num_ws == 6
    assert G32.const.shape[1:] == (4, 4) and G32.num_ws == 8 and G32.w_dim == 8
    assert G28(torch.randn(2, 8)).shape == (2, 1, 28, 28)
    assert G32(torch.randn(2, 8), torch.tensor([0, 2])).shape == (2, 3, 32, 32)
    D = StyleGANDiscriminator(3, 32, 4, n_classes=3)
    assert D(torch.randn(5, 3, 32, 32), torch.tensor([0, 1, 2, 0, 1])).shape == (5,)


# ---------------------------------------------------------------------------- style mixing


def test_style_mixing_takes_w1_before_the_crossover_and_w2_from_it():
    G = tiny_G().eval()
    z1, z2 = torch.randn(4, 8), torch.randn(4, 8)
    crossover = torch.tensor([1, 2, 3, 4])
    with torch.no_grad():
        w1, w2 = G.mapping(z1), G.mapping(z2)
        ws = G.styles(z1, z_mix=z2, crossover=crossover)  # (4, num_ws, w_dim)
        for b, k in enumerate(crossover.tolist()):
            assert torch.equal(ws[b, :k], w1[b].expand(k, -1))
            assert torch.equal(ws[b, k:], w2[b].expand(G.num_ws - k, -1))
        # the image is the synthesis of exactly these styles
        assert torch.equal(G(z1, z_mix=z2, crossover=crossover), G.synthesis(ws))
        # crossover num_ws: no mixing, the second z has no effect
        none = torch.full((4,), G.num_ws)
        assert torch.equal(G(z1, z_mix=z2, crossover=none), G(z1))
    # layers before the crossover depend only on z1, the others only on z2 (gradients)
    z2g = z2.clone().requires_grad_(True)
    ws = G.styles(z1, z_mix=z2g, crossover=torch.full((4,), 3))
    (g_first,) = torch.autograd.grad(ws[:, :3].sum(), z2g, allow_unused=True, retain_graph=True)
    assert g_first is None or torch.count_nonzero(g_first) == 0
    (g_rest,) = torch.autograd.grad(ws[:, 3:].sum(), z2g)
    assert torch.count_nonzero(g_rest) > 0


def test_crossover_draws_follow_the_probability_and_the_seed():
    g = torch.Generator().manual_seed(3)
    k = draw_crossover(4000, 6, 0.9, g)
    mixed = k < 6
    assert k.min() >= 1 and k.max() <= 6
    assert mixed.float().mean().item() == pytest.approx(0.9, abs=0.02)
    assert set(k[mixed].tolist()) == {1, 2, 3, 4, 5}
    assert torch.equal(draw_crossover(50, 6, 0.0, g), torch.full((50,), 6))
    assert torch.equal(draw_crossover(9, 6, 0.5, torch.Generator().manual_seed(1)),
                       draw_crossover(9, 6, 0.5, torch.Generator().manual_seed(1)))


# ---------------------------------------------------------------------------- truncation


def test_w_avg_is_a_moving_average_of_mapped_w_in_training_only():
    G = tiny_G().train()
    z = torch.randn(16, 8)
    G.mapping(z)
    with torch.no_grad():
        w = G.mapping.layers(normalize_2nd_moment(z))  # (16, w_dim): the mapped w
    assert torch.allclose(G.mapping.w_avg[0], (1 - 0.995) * w.mean(0), atol=1e-6)  # one call above
    before = G.mapping.w_avg.clone()
    G.eval()
    G(z)
    assert torch.equal(G.mapping.w_avg, before)  # sampling does not move it


def test_truncation_zero_gives_the_average_image_for_every_z():
    G = tiny_G()
    with torch.no_grad():
        G.mapping.w_avg.normal_()  # an average as training leaves it, not zeros
    G.eval()
    with torch.no_grad():
        x = G(torch.randn(6, 8), truncation=0.0)
        expected = G.synthesis(G.mapping.w_avg.expand(1, G.num_ws, -1))
        assert torch.allclose(x, expected.expand_as(x), atol=1e-6)
        assert (G(torch.randn(6, 8)) - G(torch.randn(6, 8))).abs().max() > 1e-3  # psi 1: they differ
        half = G.mapping(torch.ones(1, 8), truncation=0.5)
        full = G.mapping(torch.ones(1, 8))
        assert torch.allclose(half, 0.5 * (full + G.mapping.w_avg), atol=1e-6)


def test_conditional_truncation_pulls_to_each_class_average():
    G = tiny_G(n_classes=3)
    G.train()
    labels = torch.tensor([0, 0, 1, 1])  # class 2 absent: its average must not move
    G(torch.randn(4, 8), labels)
    assert torch.count_nonzero(G.mapping.w_avg[:2]) > 0 and torch.count_nonzero(G.mapping.w_avg[2]) == 0
    G.eval()
    with torch.no_grad():
        x = G(torch.randn(4, 8), torch.tensor([0, 0, 1, 1]), truncation=0.0)
    assert torch.equal(x[0], x[1]) and torch.equal(x[2], x[3]) and not torch.equal(x[0], x[2])


# ---------------------------------------------------------------------------- path length


def test_path_length_penalty_equals_its_formula_on_a_linear_generator():
    torch.manual_seed(0)
    B, L, W, H = 3, 2, 4, 2  # batch, style layers, w_dim, image side
    A = torch.randn(L * W, H * H, requires_grad=True)  # the "generator's weights"
    ws = torch.randn(B, L, W, requires_grad=True)
    fake = (ws.flatten(1) @ A).view(B, 1, H, H)  # image = linear map of the styles
    mean = torch.tensor(0.5)
    penalty, a = path_length_penalty(fake, ws, mean, decay=0.1, generator=torch.Generator().manual_seed(7))
    y = torch.randn(B, 1, H, H, generator=torch.Generator().manual_seed(7)) / H  # same draw, / sqrt(H W)
    grad = (y.flatten(1) @ A.detach().t()).view(B, L, W)  # J^T y per sample
    lengths = grad.square().sum(2).mean(1).sqrt()
    a_expected = 0.5 + 0.1 * (lengths.mean() - 0.5)
    assert a.item() == pytest.approx(a_expected.item(), rel=1e-5)
    assert penalty.item() == pytest.approx((lengths - a_expected).square().mean().item(), rel=1e-5)
    penalty.backward()  # differentiable in the generator's weights (create_graph)
    assert A.grad is not None and torch.count_nonzero(A.grad) > 0


# ---------------------------------------------------------------------------- training


def test_one_round_on_tiny_data_trains_every_part():
    t = Trainer(tiny_config(1, **{"model.conditional": True, "loss.pl_weight": 2.0, "loss.r1_weight": 1.0}),
                dataset=tiny_images(n=20))
    before = {k: v.clone() for k, v in t.G.state_dict().items()}
    stats = t.step()
    assert all(math.isfinite(stats[k]) for k in ("d_loss", "g_loss", "r1", "pl"))
    after = t.G.state_dict()
    for name in ("mapping.layers.0.weight", "mapping.embed.weight", "const", "rgb0.conv.weight", "convs.0.conv.weight"):
        assert not torch.equal(before[name], after[name]), name
    assert torch.count_nonzero(after["mapping.w_avg"]) > 0 and after["pl_mean"].item() > 0
    # G_ema carries the averages too (buffers are copied)
    assert torch.equal(t.G_ema.mapping.w_avg, t.G.mapping.w_avg) and torch.equal(t.G_ema.pl_mean, t.G.pl_mean)
    assert t.generator().generate(4, truncation=0.7).shape == (4, 1, 8, 8)


def test_path_length_and_lazy_r1_apply_at_their_intervals_only():
    t = Trainer(tiny_config(7, **{"loss.pl_weight": 2.0, "loss.pl_every": 3, "loss.r1_weight": 1.0,
                                  "loss.r1_every": 2}), dataset=tiny_images(n=20))
    pl_rounds, r1_rounds = [], []
    for i in range(7):
        stats = t.step()
        pl_rounds += [i] if "pl" in stats else []
        r1_rounds += [i] if "r1" in stats else []
    assert pl_rounds == [0, 3, 6]  # G updates 0, 3, 6
    assert r1_rounds == [0, 2, 4, 6]  # D updates 0, 2, 4, 6
    off = Trainer(tiny_config(2), dataset=tiny_images(n=20))
    assert "pl" not in off.step() and off.G.pl_mean.item() == 0.0


def test_resume_is_bit_exact_with_w_avg_and_pl_mean(tmp_path):
    extra = {"loss.pl_weight": 2.0, "loss.pl_every": 2, "loss.r1_weight": 1.0, "loss.r1_every": 3,
             "model.conditional": True}
    data = tiny_images(n=20)
    straight, half = train_straight_and_half(tmp_path, lambda steps: tiny_config(steps, **extra), 8, 5, data)
    saved_pl, saved_avg = half.G.pl_mean.clone(), half.G.mapping.w_avg.clone()
    del half
    resumed = resume_half(tmp_path, 8, data)
    assert torch.equal(resumed.G.pl_mean, saved_pl) and saved_pl.item() > 0
    assert torch.equal(resumed.G.mapping.w_avg, saved_avg) and torch.count_nonzero(saved_avg) > 0
    resumed.run()
    assert_identical(straight, resumed)  # weights and buffers (w_avg, pl_mean), EMA, optimizer moments
    a = [json.loads(x) for x in (tmp_path / "a" / "stats.jsonl").read_text().splitlines()]
    b = [json.loads(x) for x in (tmp_path / "b" / "stats.jsonl").read_text().splitlines()]
    keys = ("d_loss", "g_loss", "pl", "r1")
    assert [[r.get(k) for k in keys] for r in a] == [[r.get(k) for k in keys] for r in b]


def test_settings_that_do_not_fit_are_refused():
    with pytest.raises(ConfigError, match="loss.pl_weight .* needs a StyleGAN generator"):
        Config().with_overrides({"model.arch": "dcgan", "loss.pl_weight": 2.0})
    with pytest.raises(ConfigError, match="model.arch 'stylegan' .* not model.spectral_norm"):
        Config().with_overrides({"model.arch": "stylegan", "model.spectral_norm": True})
    with pytest.raises(ConfigError, match=r"model.style_mixing must be a finite number in \[0, 1\]"):
        Config().with_overrides({"model.style_mixing": 1.5})


# ---------------------------------------------------------------------------- sample


@pytest.fixture(scope="module")
def stylegan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("sg") / "run"
    args = ["train", "--preset", "digits", "--out", str(run), "--no-report"]
    for s in ("model.arch=stylegan", "model.g_channels=4", "model.d_channels=4", "model.mapping_depth=2",
              "train.steps=3", "train.batch_size=8", "train.progress=false", "loss.pl_weight=2"):
        args += ["--set", s]
    assert main(args) == 0
    return run


def test_sample_truncation_mix_and_walk_write_files(stylegan_run, tmp_path):
    from PIL import Image

    assert main(["sample", str(stylegan_run), "-n", "6", "--truncation", "0", "--out", str(tmp_path / "t0.npy")]) == 0
    x = torch.from_numpy(np.load(tmp_path / "t0.npy"))
    assert x.shape == (6, 1, 8, 8) and torch.allclose(x, x[:1].expand_as(x))  # psi 0: one image
    assert main(["sample", str(stylegan_run), "-n", "6", "--truncation", "0.7", "--out", str(tmp_path / "t.png")]) == 0
    assert main(["sample", str(stylegan_run), "--mix", "3", "--crossover", "1", "--out", str(tmp_path / "m.png")]) == 0
    sheet = Image.open(tmp_path / "m.png")
    assert sheet.size[0] == sheet.size[1]  # a square (3 + 1) x (3 + 1) sheet
    assert main(["sample", str(stylegan_run), "-n", "2", "--interpolate", "4", "--out", str(tmp_path / "w.npy")]) == 0
    walk = torch.from_numpy(np.load(tmp_path / "w.npy"))
    assert walk.shape == (8, 1, 8, 8) and walk.min() >= -1 and walk.max() <= 1


@pytest.mark.parametrize("args, message", [
    (["--truncation", "1.5"], "--truncation must be between 0 and 1 (1 = no truncation), got 1.5"),
    (["--truncation", "-0.1"], "--truncation must be between 0 and 1"),
    (["--mix", "0"], "--mix takes 1 to 32 samples per side, got 0"),
    (["--mix", "3", "--crossover", "4"], "--crossover must be between 1 and 3 (this G has 4 style layers), got 4"),
    (["--crossover", "2"], "--crossover goes with --mix"),
    (["--mix", "2", "--interpolate", "3"], "--mix cannot be combined with --interpolate or --sheet"),
])
def test_sample_refuses_bad_values_in_one_line(stylegan_run, tmp_path, capsys, args, message):
    assert main(["sample", str(stylegan_run), *args, "--out", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_sample_truncation_refused_for_a_generator_without_styles(tmp_path, capsys):
    run = tmp_path / "dcgan"
    args = ["train", "--preset", "digits", "--out", str(run), "--no-report"]
    for s in ("model.g_channels=4", "model.d_channels=4", "train.steps=1", "train.batch_size=8", "train.progress=false"):
        args += ["--set", s]
    assert main(args) == 0
    capsys.readouterr()
    for extra in (["--truncation", "0.7"], ["--mix"]):
        assert main(["sample", str(run), *extra, "--out", str(tmp_path / "x.png")]) == 1
        err = capsys.readouterr().err.strip()
        assert "needs a StyleGAN generator" in err and "model.arch dcgan" in err and len(err.splitlines()) == 1


def test_truncation_sheet_walks_each_latent_to_the_average_image(stylegan_run):
    from ganforge.commands.sample import truncation_sheet
    from ganforge.engine.generator import load_generator

    G = load_generator(stylegan_run)
    sheet, columns = truncation_sheet(G, 3, (1.0, 0.5, 0.0), gen=torch.Generator().manual_seed(0))
    assert columns == 3 and sheet.shape == (9, 1, 8, 8)
    grid = sheet.view(3, 3, 1, 8, 8)  # (row = latent, column = psi, C, H, W)
    assert torch.allclose(grid[:, 2], grid[:1, 2].expand(3, -1, -1, -1), atol=1e-6)  # psi 0: one image
    z = G.sample_z(3, torch.Generator().manual_seed(0))
    assert torch.allclose(grid[:, 0], G.generate(3, z=z), atol=1e-6)  # psi 1: the samples themselves
    assert (grid[:, 0] - grid[:, 1]).abs().max() > 1e-4  # psi 0.5 differs from both ends


def test_report_shows_truncation_and_mixing_for_a_stylegan_run_only(stylegan_run, tmp_path):
    from ganforge.report import build_report

    page = build_report(stylegan_run)
    assert "Styles: truncation and mixing" in page and "psi = 1, 0.85, 0.7, 0.5, 0.25, 0" in page
    assert page.count("data:image/png;base64") >= 2 and "first 2 of 4 layers" in page
    styles = lambda text: text.split("Styles: truncation and mixing")[1]  # noqa: E731
    assert styles(build_report(stylegan_run)) == styles(page)  # a fixed seed: the same sheets each time
    run = tmp_path / "dcgan"
    args = ["train", "--preset", "digits", "--out", str(run), "--no-report"]
    for s in ("model.g_channels=4", "model.d_channels=4", "train.steps=1", "train.batch_size=8", "train.progress=false"):
        args += ["--set", s]
    assert main(args) == 0
    assert "Styles: truncation" not in build_report(run)
