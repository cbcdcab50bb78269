"""DiffAugment and ADA (engine/augment_pipe.py), and data.fraction (data/subset.py).

Each op on planted images, differentiability, the same transform for real and fake under the same
draw, ADA's probability moving by the paper's step, bit-exact resume with both, bad settings
refused in one line, and the stratified subset's counts.
"""

import pytest
import torch

from ganforge.cli import main
from ganforge.config import Config
from ganforge.data.subset import choose_fraction, fraction_subset, stratified_counts
from ganforge.engine import Trainer
from ganforge.engine.augment_pipe import (
    ADA_INTERVAL,
    AugmentPipe,
    brightness,
    contrast,
    cutout,
    cutout_size,
    max_shift,
    parse_ops,
    saturation,
    translate,
)
from ganforge.engine.checkpoint import latest_checkpoint
from ganforge.engine.rundir import create_run_dir
from ganforge.errors import ConfigError
from tests.test_resume import assert_identical, small_config
from tests.test_training_round import tiny_images

ALL = ("color", "translation", "cutout")


def pipe(ops=ALL, seed=0, **kw) -> AugmentPipe:
    return AugmentPipe(ops, torch.Generator().manual_seed(seed), **kw)


# ----------------------------------------------------------------------------- each op on planted images


def test_translation_moves_a_pixel_by_the_shift_and_fills_with_zeros():
    x = torch.zeros(2, 1, 8, 8)
    x[0, 0, 3, 4] = 1.0
    x[1, 0, 5, 1] = 2.0
    out = translate(x, torch.tensor([2, -1]), torch.tensor([-1, 3]))  # (rows down, columns right) per image
    assert out[0, 0, 5, 3] == 1.0 and out[0].sum() == 1.0
    assert out[1, 0, 4, 4] == 2.0 and out[1].sum() == 2.0
    ones = translate(torch.ones(1, 3, 8, 8), torch.tensor([2]), torch.tensor([-3]))
    assert (ones[0, :, :2] == 0).all() and (ones[0, :, :, 5:] == 0).all()  # what came from outside is zero
    assert (ones[0, :, 2:, :5] == 1).all()


def test_translation_draws_cover_one_eighth_of_the_side():
    assert max_shift(28, 32) == (4, 4) and max_shift(8, 8) == (1, 1)
    params = pipe(("translation",)).draw(4000, 28, 32)
    assert params["dy"].min() == -4 and params["dy"].max() == 4
    assert params["dx"].min() == -4 and params["dx"].max() == 4


def test_cutout_zeros_a_square_of_half_the_side():
    assert cutout_size(28, 28) == (14, 14) and cutout_size(8, 8) == (4, 4)
    x = torch.ones(2, 3, 8, 8)
    out = cutout(x, torch.tensor([4, 0]), torch.tensor([4, 0]))
    assert (out[0, :, 2:6, 2:6] == 0).all() and out[0].sum() == 3 * (64 - 16)  # a whole 4x4 square, every channel
    assert (out[1, :, :2, :2] == 0).all() and out[1].sum() == 3 * (64 - 4)  # at a corner the rest is cut off


def test_color_ops_shift_brightness_and_scale_saturation_and_contrast():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 3, 6, 6, generator=g) * 2 - 1
    shift = torch.tensor([-0.5, 0.0, 0.25])
    out = brightness(x, shift)
    assert torch.allclose(out.mean(dim=(1, 2, 3)) - x.mean(dim=(1, 2, 3)), shift, atol=1e-6)
    grey = saturation(x, torch.zeros(3))  # factor 0: every channel equals the channel mean
    assert torch.allclose(grey, x.mean(dim=1, keepdim=True).expand_as(x), atol=1e-6)
    assert torch.allclose(saturation(x, torch.ones(3)), x, atol=1e-6)
    flat = contrast(x, torch.zeros(3))  # factor 0: a constant image at the image mean
    assert torch.allclose(flat, x.mean(dim=(1, 2, 3), keepdim=True).expand_as(x), atol=1e-6)
    doubled = contrast(x, torch.full((3,), 2.0))
    assert torch.allclose(doubled.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=1e-6)
    assert torch.allclose(doubled.std(dim=(1, 2, 3)), 2 * x.std(dim=(1, 2, 3)), atol=1e-5)


def test_color_draws_follow_diffaugment_ranges():
    p = pipe(("color",)).draw(5000, 8, 8)
    assert -0.5 <= p["brightness"].min() < -0.49 and 0.49 < p["brightness"].max() < 0.5
    assert 0 <= p["saturation"].min() < 0.01 and 1.99 < p["saturation"].max() < 2
    assert 0.5 <= p["contrast"].min() < 0.51 and 1.49 < p["contrast"].max() < 1.5


# ----------------------------------------------------------------------------- differentiable, same draw


def test_every_op_is_differentiable_in_the_image():
    g = torch.Generator().manual_seed(2)
    x = (torch.rand(2, 2, 6, 6, generator=g, dtype=torch.float64) * 2 - 1).requires_grad_(True)
    aug = pipe(seed=3)
    for ops in (("color",), ("translation",), ("cutout",), ALL):
        aug.ops = ops
        params = aug.draw(2, 6, 6)
        assert torch.autograd.gradcheck(lambda t, params=params: aug.apply(t, params), (x,), eps=1e-6, atol=1e-5), ops
    # a gradient through the whole pipe reaches the input, zero exactly where cutout removed the pixel
    aug.ops = ("cutout",)
    params = aug.draw(2, 6, 6)
    y = aug.apply(x, params)
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert torch.equal(grad, (y.detach() != 0).double() * (x.detach() != 0).double())


def test_same_generator_state_gives_the_same_transform_to_real_and_fake():
    real = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(4)) * 2 - 1
    fake = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(5)) * 2 - 1
    aug = pipe(seed=6)
    state = aug.generator.get_state()
    params = aug.draw(4, 8, 8)
    aug.generator.set_state(state)
    out_real = aug(real)
    aug.generator.set_state(state)
    out_fake = aug(fake)
    assert torch.equal(out_real, aug.apply(real, params)) and torch.equal(out_fake, aug.apply(fake, params))
    # the transforms are linear in the image given the draw except for the colour offsets, so the
    # same draw maps the difference of two images to the transformed difference without brightness
    aug.ops = ("translation", "cutout")
    aug.generator.set_state(state)
    geometric = aug.draw(4, 8, 8)
    assert torch.allclose(aug.apply(real, geometric) - aug.apply(fake, geometric), aug.apply(real - fake, geometric))
    # and a fresh draw differs
    assert not torch.equal(aug(real), out_real)


def test_off_is_the_identity_without_a_draw():
    g = torch.Generator().manual_seed(0)
    off = AugmentPipe((), g)
    x = torch.randn(2, 1, 8, 8)
    before = g.get_state()
    assert off(x) is x and torch.equal(g.get_state(), before) and not off.active


# ----------------------------------------------------------------------------- ADA


def test_ada_p_rises_on_an_overfitting_d_and_falls_otherwise_by_the_papers_step():
    batch = 64
    ada = pipe(ada_target=0.6, batch_size=batch, ada_kimg=500)
    step = batch * ADA_INTERVAL / 500_000  # p can go 0 -> 1 in 500k real images
    assert ada.p == 0.0 and ada.ops == ALL  # ADA with no op listed draws from all three
    overfit = torch.tensor([3.0, 2.0, 1.0, 0.5])  # every real scored real: r_t = 1 > 0.6
    for update in range(1, 4 * ADA_INTERVAL + 1):
        ada.observe(overfit)
        ada.after_d_update(update)
    assert ada.p == pytest.approx(4 * step, rel=1e-12)
    healthy = torch.tensor([1.0, -1.0, 2.0, -2.0])  # r_t = 0 < 0.6
    for update in range(4 * ADA_INTERVAL + 1, 5 * ADA_INTERVAL + 1):
        ada.observe(healthy)
        ada.after_d_update(update)
    assert ada.p == pytest.approx(3 * step, rel=1e-12)
    # r_t is taken over the whole interval: 3 updates at 1 and one at -1 make 0.5 < 0.6
    for update, logits in zip(range(5 * ADA_INTERVAL + 1, 6 * ADA_INTERVAL + 1), [overfit] * 3 + [-overfit]):
        ada.observe(logits)
        if update % ADA_INTERVAL:
            ada.after_d_update(update)
            assert ada.p == pytest.approx(3 * step, rel=1e-12)  # only every 4 D updates
    ada.after_d_update(6 * ADA_INTERVAL)
    assert ada.p == pytest.approx(2 * step, rel=1e-12)
    for update in range(6 * ADA_INTERVAL + 1, 12 * ADA_INTERVAL + 1):  # never below 0
        ada.observe(healthy)
        ada.after_d_update(update)
    assert ada.p == 0.0


def test_ada_applies_each_transform_with_probability_p():
    ada = pipe(ada_target=0.6)
    x = torch.rand(6, 3, 8, 8) * 2 - 1
    assert torch.equal(ada(x), x)  # p = 0: nothing is applied
    ada.p = 0.3
    params = ada.draw(20000, 8, 8)
    for name in ("brightness", "saturation", "contrast", "translation", "cutout"):
        assert abs(params[f"apply_{name}"].float().mean().item() - 0.3) < 0.015, name
    ada.p = 1.0
    state = ada.generator.get_state()
    always = ada(x)
    ada.generator.set_state(state)
    plain = pipe()
    plain.generator = ada.generator  # DiffAugment draws the same parameters first
    params = ada.draw(6, 8, 8)
    assert torch.equal(always, plain.apply(x, {k: v for k, v in params.items() if not k.startswith("apply_")}))


# ----------------------------------------------------------------------------- the engine: resume, stats


def image_config(steps, **extra):
    return small_config(steps, **{"model.arch": "dcgan", "model.g_channels": 4, "model.d_channels": 4,
                                  "train.batch_size": 8, "data.name": "mnist", **extra})


@pytest.mark.parametrize("extra", [
    {"train.diffaugment": "color,translation,cutout", "loss.r1_weight": 1.0},
    {"train.ada_target": 0.6, "train.ada_kimg": 1, "train.diffaugment": "translation,cutout"},
])
def test_resume_is_bit_exact_with_augmentation(tmp_path, extra):
    data = tiny_images(n=20)
    straight = Trainer(image_config(12, **extra), run_dir=create_run_dir(tmp_path / "a", image_config(12, **extra)),
                       dataset=data)
    cfg = image_config(6, **extra)
    half = Trainer(cfg, run_dir=create_run_dir(tmp_path / "b", cfg), dataset=data)
    if straight.augment.ada:  # start both mid-way, so that p moves either way within 12 rounds
        straight.augment.p = half.augment.p = 0.5
    straight.run()
    half.run()
    half_p, half_count = half.augment.p, half.augment.count
    del half
    resumed = Trainer.from_checkpoint(latest_checkpoint(tmp_path / "b" / "checkpoints"), run_dir=tmp_path / "b",
                                      dataset=data, overrides={"train.steps": 12})
    assert (resumed.augment.p, resumed.augment.count) == (half_p, half_count)
    resumed.run()
    assert_identical(straight, resumed)
    assert torch.equal(straight.augment_gen.get_state(), resumed.augment_gen.get_state())
    assert straight.augment.state_dict() == resumed.augment.state_dict()
    if "train.ada_target" in extra:
        # p moved (by 0.032 per adjustment), and the counts of a part-done interval were restored
        assert half_count > 0 and 0 < straight.augment.p < 1 and straight.augment.p != 0.5
        lines = (tmp_path / "b" / "stats.jsonl").read_text()
        assert '"ada_p"' in lines


def test_augmentation_changes_training_and_off_changes_nothing(tmp_path):
    data = tiny_images(n=20)

    def weights(**extra):
        tr = Trainer(image_config(3, **extra), dataset=data)
        for _ in range(3):
            tr.step()
        return torch.cat([p.flatten() for p in tr.G.parameters()])

    base = weights()
    assert torch.equal(base, weights(**{"train.ada_kimg": 7}))  # settings of an off ADA change nothing
    assert not torch.equal(base, weights(**{"train.diffaugment": "translation"}))


# ----------------------------------------------------------------------------- settings


@pytest.mark.parametrize("override, message", [
    ("train.diffaugment=colour", "train.diffaugment: unknown op 'colour'; accepted: color, translation, cutout"),
    ("train.diffaugment=color,,flip", "unknown op 'flip'"),
    ("train.ada_target=1.5", "train.ada_target must be a finite number in [0, 1)"),
    ("train.ada_target=-0.1", "train.ada_target must be a finite number in [0, 1)"),
    ("train.ada_kimg=0", "train.ada_kimg must be an integer >= 1"),
    ("data.fraction=0", "data.fraction must be a finite number in (0, 1]"),
    ("data.fraction=1.5", "data.fraction must be a finite number in (0, 1]"),
])
def test_bad_settings_are_refused_in_one_line(capsys, override, message):
    assert main(["train", "--preset", "mnist-dcgan", "--set", override, "--dry-run"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and message in err, err


@pytest.mark.parametrize("preset, override, message", [
    ("ring8", "train.diffaugment=color", "'ring8' is a point distribution"),
    ("ring8", "train.ada_target=0.6", "'ring8' is a point distribution"),
    ("facades-pix2pix", "train.diffaugment=cutout", "model.game gan and ssl; model.game 'pix2pix' does not take it"),
    ("qm9-molgan", "train.ada_target=0.6", "model.game 'molgan' does not take it"),
    ("ring8", "data.fraction=0.5", "data.fraction keeps part of an image dataset"),
])
def test_games_and_data_that_take_no_augmentation_refuse_it(capsys, preset, override, message):
    assert main(["train", "--preset", preset, "--set", override, "--dry-run"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and message in err, err


def test_parse_ops_keeps_the_application_order():
    assert parse_ops("cutout, color") == ("color", "cutout") and parse_ops("") == ()
    with pytest.raises(ConfigError, match="accepted: color, translation, cutout"):
        parse_ops("color,zoom")


def test_point_data_given_to_the_trainer_refuses_augmentation():
    cfg = small_config(1)
    cfg.train.diffaugment = "color"
    cfg.data.name = "mnist"  # the configuration names images, the dataset given is points
    from ganforge.data.mixtures import make_distribution

    with pytest.raises(ConfigError, match="this run trains on points"):
        Trainer(cfg, dataset=make_distribution("ring8", None, 0.0))


# ----------------------------------------------------------------------------- data.fraction


def test_fraction_gives_the_stated_count_stratified_and_seeded():
    labels = torch.cat([torch.full((500,), 0), torch.full((300,), 1), torch.full((200,), 2)])[
        torch.randperm(1000, generator=torch.Generator().manual_seed(0))]
    index = choose_fraction(labels, 1000, 0.1, seed=0)
    assert len(index) == 100 and torch.equal(torch.bincount(labels[index]), torch.tensor([50, 30, 20]))
    assert torch.equal(index, index.sort().values) and len(set(index.tolist())) == 100
    assert torch.equal(index, choose_fraction(labels, 1000, 0.1, seed=0))  # same seed, same subset
    assert not torch.equal(index, choose_fraction(labels, 1000, 0.1, seed=1))
    # uneven shares: largest remainders make the counts add up to round(f * N)
    assert stratified_counts(torch.tensor([5, 3, 2]), 3).tolist() == [1, 1, 1]  # shares 1.5, 0.9, 0.6
    assert stratified_counts(torch.tensor([6, 3, 1]), 5).tolist() == [3, 2, 0]  # 3, 1.5, 0.5: a tie to the lower
    assert stratified_counts(torch.tensor([7, 7, 7]), 10).sum() == 10
    assert len(choose_fraction(None, 1000, 0.013, seed=0)) == 13  # unlabelled: a plain seeded choice
    assert len(choose_fraction(labels, 1000, 1e-9, seed=0)) == 1  # never empty


def test_fraction_subset_of_a_dataset_and_through_the_config():
    data = tiny_images(n=30, classes=3)
    sub = fraction_subset(data, 0.2, seed=0)
    assert len(sub) == 6 and torch.bincount(sub.labels).tolist() == [2, 2, 2]
    assert sub.info["fraction_of"] == 30 and fraction_subset(data, 1.0, 0) is data
    from ganforge.data import load_dataset

    cfg = Config().with_overrides({"data.name": "digits", "data.fraction": 0.1}).data
    digits = load_dataset(cfg)
    assert len(digits) == 180  # round(0.1 * 1797)
    counts = torch.bincount(digits.labels, minlength=10)
    assert counts.min() >= 17 and counts.max() <= 19  # each class keeps its share (174 to 183 of 1797)
    assert torch.equal(load_dataset(cfg).images, digits.images)


def test_ssl_game_augments_and_resumes_bit_exactly(tmp_path):
    from tests.test_ssl import ssl_config, striped, weights

    data = striped()
    cfg = ssl_config(**{"train.ada_target": 0.6, "train.ada_kimg": 1})
    a = Trainer(cfg, dataset=data)
    a.augment.p = 0.5
    plain = Trainer(ssl_config(), dataset=data)
    for _ in range(2):
        a.step()
        plain.step()
    assert not torch.equal(a.augment_gen.get_state(), Trainer(cfg, dataset=data).augment_gen.get_state())
    assert not all(torch.equal(v, weights(plain)[k]) for k, v in weights(a).items())
    path = a.save_checkpoint(tmp_path / "ck")
    for _ in range(3):
        a.step()
    b = Trainer.from_checkpoint(path, dataset=data)
    for _ in range(3):
        b.step()
    wa, wb = weights(a), weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa) and a.augment.state_dict() == b.augment.state_dict()
    assert a.augment.p != 0.5  # ADA moved p (by 0.048 = 4 * 12 / 1000 at the 4th D update)
