"""Games on the one engine: pix2pix and CycleGAN train, resume bit-exactly and load alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.config import Config
from ganforge.engine import Trainer
from ganforge.engine.generator import load_translator
from ganforge.engine.rundir import create_run_dir
from ganforge.errors import ConfigError


def pairs_folder(root, n=6, size=16):
    """Side-by-side RGB pairs (2*size x size): A on the left, B = A's colours inverted on the right."""
    g = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        a = g.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(np.concatenate([a, 255 - a], axis=1)).save(root / f"{i}.png")
    return root


def translation_config(folder, game, **extra):
    base = {"model.game": game, "data.name": "pairs", "data.path": str(folder), "model.g_channels": 4,
            "model.d_channels": 4, "train.batch_size": 2, "train.progress": False, "train.device": "cpu",
            "train.sample_every": 0, "train.log_every": 1, "model.d_layers": 1}
    if game == "pix2pix":
        base.update({"model.arch": "unet"})
    else:
        base.update({"model.arch": "resnet", "model.g_blocks": 1, "model.norm": "instance", "loss.name": "lsgan",
                     "loss.cycle_weight": 5.0, "train.pool_size": 3})
    return Config().with_overrides({**base, **extra})


def weights(trainer) -> dict[str, torch.Tensor]:
    return {f"{m}.{k}": v.clone() for m, net in trainer.modules().items() for k, v in net.state_dict().items()}


@pytest.mark.parametrize("game, extra, keys", [
    ("pix2pix", {}, {"d_loss", "g_loss", "l1", "d_real", "d_fake"}),
    ("pix2pix", {"loss.gan_weight": 0.0}, {"l1"}),
    ("cyclegan", {}, {"d_loss_A", "d_loss_B", "g_loss_AB", "g_loss_BA", "cycle_A", "cycle_B", "identity_A"}),
])
def test_one_round_of_each_game_moves_every_network(tmp_path, game, extra, keys):
    trainer = Trainer(translation_config(pairs_folder(tmp_path / "p"), game, **extra))
    before = weights(trainer)
    stats = trainer.step()
    assert keys <= set(stats) and all(np.isfinite(v) for v in stats.values())
    after = weights(trainer)
    for name in trainer.nets:
        moved = [k for k in before if k.startswith(name + ".") and not torch.equal(before[k], after[k])]
        assert moved, f"{name} did not move"
    assert trainer.step_count == 1 and trainer.d_updates == (0 if extra else 1)


def test_l1_only_baseline_has_no_discriminator(tmp_path):
    trainer = Trainer(translation_config(pairs_folder(tmp_path / "p"), "pix2pix", **{"loss.gan_weight": 0.0}))
    assert set(trainer.nets) == {"G"} and trainer.opt_d is None


def run_rounds(cfg, run_dir, rounds, resume=False):
    if resume:
        trainer = Trainer.from_checkpoint(run_dir / "checkpoints" / "step-0000004", run_dir=run_dir)
    else:
        trainer = Trainer(cfg, run_dir=create_run_dir(run_dir, cfg))
    trainer.run(rounds)
    return trainer


@pytest.mark.parametrize("game", ["cyclegan", "pix2pix"])
def test_resume_is_bit_exact(tmp_path, game):
    """N rounds + resume + N rounds = 2N rounds: networks, averages, optimizers, pools, jitter,
    data order and the learning-rate schedule all continue exactly."""
    folder = pairs_folder(tmp_path / "p")
    cfg = translation_config(folder, game, **{"train.steps": 8, "train.checkpoint_every": 4, "optim.ema": 0.9,
                                              "optim.schedule": "linear", "optim.decay_start": 3})
    straight = run_rounds(cfg, tmp_path / "a", 8)
    run_rounds(cfg, tmp_path / "b", 4)
    resumed = run_rounds(cfg, tmp_path / "b", 8, resume=True)
    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:5]
    if game == "cyclegan":
        for domain in ("A", "B"):
            sa, sb = straight.game.pools[domain].state_dict(), resumed.game.pools[domain].state_dict()
            assert int(sa["count"]) == 3 and torch.equal(sa["images"], sb["images"])
    lr = [g["lr"] for g in resumed.opt_g.param_groups]
    assert lr == [g["lr"] for g in straight.opt_g.param_groups] and 0 < lr[0] < cfg.optim.lr_g


def test_translators_load_without_the_data(tmp_path):
    import shutil

    folder = pairs_folder(tmp_path / "p")
    for game in ("pix2pix", "cyclegan"):
        cfg = translation_config(folder, game, **{"train.steps": 2})
        Trainer(cfg, run_dir=create_run_dir(tmp_path / game, cfg)).run()
    shutil.rmtree(folder)
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    T = load_translator(tmp_path / "pix2pix")
    assert isinstance(T, torch.nn.Module) and T.resolution == 16 and T(x).shape == (3, 3, 16, 16)
    with pytest.raises(ConfigError, match="trained AtoB only"):
        load_translator(tmp_path / "pix2pix", direction="BtoA")
    back = load_translator(tmp_path / "cyclegan", direction="BtoA")
    assert back.direction == "BtoA" and back(x).shape == (3, 3, 16, 16)
    with pytest.raises(ConfigError, match="unknown direction 'sideways'"):
        load_translator(tmp_path / "cyclegan", direction="sideways")


def test_a_gan_run_is_not_a_translator(tmp_path):
    from ganforge.presets import load_preset

    cfg = load_preset("ring8").with_overrides({"train.steps": 2, "train.progress": False})
    Trainer(cfg, run_dir=create_run_dir(tmp_path / "r", cfg)).run()
    with pytest.raises(ConfigError, match="is not a translator"):
        load_translator(tmp_path / "r")


@pytest.mark.parametrize("overrides, message", [
    ({"model.game": "pix2pix", "model.arch": "dcgan"}, "needs a translator"),
    ({"model.game": "gan", "model.arch": "unet"}, "is a translator"),
    ({"model.game": "chess"}, "unknown game 'chess'"),
])
def test_game_settings_are_checked_when_built(overrides, message):
    with pytest.raises(ConfigError, match=message):
        Config().with_overrides(overrides)


def test_games_refuse_data_of_the_wrong_kind(tmp_path):
    folder = pairs_folder(tmp_path / "p")
    with pytest.raises(ConfigError, match="learns both directions"):
        Trainer(translation_config(folder, "cyclegan", **{"data.direction": "BtoA"}))
    with pytest.raises(ConfigError, match="needs paired images"):
        Trainer(translation_config(folder, "pix2pix", **{"data.name": "unpaired"}))
    with pytest.raises(ConfigError, match="power-of-two"):
        Trainer(translation_config(folder, "pix2pix", **{"data.resolution": 24}))


@pytest.mark.data
def test_pix2pix_round_on_the_real_facades(shared_data, monkeypatch):
    monkeypatch.setenv("GANFORGE_DATA", str(shared_data))
    cfg = Config().with_overrides({"model.game": "pix2pix", "model.arch": "unet", "data.name": "facades",
                                   "data.direction": "BtoA", "data.resolution": 32, "data.limit": 8,
                                   "model.g_channels": 4, "model.d_channels": 4, "train.batch_size": 2,
                                   "train.progress": False, "train.device": "cpu"})
    trainer = Trainer(cfg)
    assert trainer.spec.input_shape == (3, 32, 32) and trainer.spec.data_shape == (3, 32, 32)
    assert np.isfinite(trainer.step()["l1"])


@pytest.mark.data
def test_data_commands_know_the_translation_datasets(shared_data):
    import subprocess
    import sys

    env = {"GANFORGE_DATA": str(shared_data), "PATH": "/usr/bin:/bin"}
    listing = subprocess.run([sys.executable, "-m", "ganforge", "data", "list"], capture_output=True, text=True,
                             env=env, timeout=120)
    assert listing.returncode == 0 and f"found: {shared_data}/facades.tar.gz" in listing.stdout
    fetch = subprocess.run([sys.executable, "-m", "ganforge", "data", "fetch", "pairs"], capture_output=True,
                           text=True, env=env, timeout=120)
    assert fetch.returncode != 0 and fetch.stderr.strip().endswith("there is nothing to fetch")
    assert len(fetch.stderr.strip().splitlines()) == 1


def test_pix2pix_feature_matching_term(tmp_path):
    """loss.fm_weight adds pix2pixHD's term; the PatchGAN's features end with its logits."""
    trainer = Trainer(translation_config(pairs_folder(tmp_path / "p"), "pix2pix", **{"loss.fm_weight": 10.0}))
    x = torch.rand(2, 6, 16, 16)
    features = trainer.D.features(x)
    # n_layers strided layers, one more of stride 1, then the logits (C64-C128-C256-C512 for 3 layers)
    assert torch.equal(features[-1], trainer.D(x)) and len(features) == trainer.cfg.model.d_layers + 2
    stats = trainer.step()
    assert stats["fm"] > 0 and np.isfinite(stats["fm"])
