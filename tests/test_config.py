"""Configuration: presets, type-checked overrides, JSON round trip."""

import pytest

from ganforge.config import Config
from ganforge.errors import ConfigError
from ganforge.presets import PRESETS, load_preset

REQUIRED = {"grid25", "ring8", "digits", "mnist-dcgan", "mnist-cgan", "fashion-dcgan", "fashion-wgan-gp"}


def test_required_presets_exist_and_round_trip():
    assert REQUIRED <= set(PRESETS)
    for name in PRESETS:
        cfg = load_preset(name)
        assert cfg.preset == name and cfg.description
        assert Config.from_dict(cfg.to_dict()) == cfg


def test_pacgan_parameters_are_kept():
    assert load_preset("grid25").data.name == "grid25"
    assert load_preset("mnist-cgan").model.conditional is True
    assert load_preset("fashion-wgan-gp").loss.name == "wgan-gp"


def test_text_overrides_are_parsed_by_field_type():
    cfg = load_preset("grid25").with_overrides(
        ["optim.lr_d=4e-4", "train.steps=7", "model.spectral_norm=true", "data.path=none", "loss.name=hinge"]
    )
    assert cfg.optim.lr_d == 4e-4 and cfg.train.steps == 7 and cfg.model.spectral_norm is True
    assert cfg.data.path is None and cfg.loss.name == "hinge"


@pytest.mark.parametrize(
    "override, message",
    [
        ("optim.lr_dd=1", "unknown setting optim.lr_dd; valid keys of optim: .*lr_d"),
        ("optimizer.lr=1", "unknown setting 'optimizer.lr'"),
        ("train.steps=ten", "train.steps expects int, got 'ten'"),
        ("train.steps=1.5", "train.steps expects int"),
        ("model.spectral_norm=maybe", "model.spectral_norm expects bool"),
        ("optim.lr_d", "--set expects section.key=value"),
    ],
)
def test_bad_overrides_are_one_line_errors(override, message):
    with pytest.raises(ConfigError, match=message):
        load_preset("ring8").with_overrides([override])


def test_dict_overrides_check_types():
    with pytest.raises(ConfigError, match="train.batch_size expects int"):
        load_preset("ring8").with_overrides({"train.batch_size": "big"})
    assert load_preset("ring8").with_overrides({"optim.lr_g": 1}).optim.lr_g == 1.0


def test_unknown_preset_lists_valid_names():
    with pytest.raises(ConfigError, match="unknown preset 'grid26'; valid presets: .*grid25"):
        load_preset("grid26")


def test_from_dict_rejects_unknown_sections():
    with pytest.raises(ConfigError, match="unknown configuration section"):
        Config.from_dict({"trainer": {}})
