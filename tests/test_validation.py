"""Every setting is checked once, when a configuration is built or overridden: names, ranges,
finiteness, size caps and the rules between settings, each as one line naming the setting."""

import json
import subprocess
import sys

import pytest

from ganforge.cli import main
from ganforge.config import INT64_MAX, MAX_BATCH, Config
from ganforge.engine.rundir import read_run_config
from ganforge.errors import ConfigError, RunDirError
from ganforge.presets import PRESETS, load_preset

# (override as typed after --set, a fragment the one-line error must contain)
BAD = [
    ("optim.lr_d=nan", "optim.lr_d must be a finite number > 0, got nan"),
    ("optim.lr_d=-1", "optim.lr_d must be a finite number > 0, got -1"),
    ("optim.lr_g=inf", "optim.lr_g must be a finite number > 0, got inf"),
    ("optim.beta1=2", "optim.beta1 must be a finite number in [0, 1), got 2"),
    ("optim.beta2=1", "optim.beta2 must be a finite number in [0, 1), got 1"),
    ("optim.momentum=-0.5", "optim.momentum must be a finite number in [0, 1)"),
    ("optim.grad_clip=-1", "optim.grad_clip must be a finite number >= 0"),
    ("model.pack=0", "model.pack must be an integer >= 1, got 0"),
    ("train.log_every=0", "train.log_every must be an integer >= 1, got 0"),
    ("model.n_classes=-1", "model.n_classes must be an integer >= 0"),
    ("train.seed=100000000000000000000000", "train.seed must be an integer in [0, 2**63 - 1], got 100000000000000000000000"),
    ("train.seed=-1", "train.seed must be an integer in [0, 2**63 - 1], got -1"),
    ("train.batch_size=1000000000", f"train.batch_size must be an integer >= 1 and at most {MAX_BATCH} (a size cap; "
                                    "train.size_limits=false lifts the caps), got 1000000000"),
    ("model.g_width=10000000", "model.g_width must be an integer >= 1 and at most 8192"),
    ("loss.clip=-1", "loss.clip must be a finite number > 0, got -1"),
    ("loss.clip=0", "loss.clip must be a finite number > 0, got 0"),
    ("loss.gp_weight=nan", "loss.gp_weight must be a finite number >= 0, got nan"),
    ("loss.r1_weight=-2", "loss.r1_weight must be a finite number >= 0"),
    ("optim.ema=nan", "optim.ema must be a finite number in [0, 1) (0 = off), got nan"),
    ("optim.ema=1", "optim.ema must be a finite number in [0, 1) (0 = off), got 1"),
    ("train.checkpoint_every=-1", "train.checkpoint_every must be an integer >= 0 (0 = only at the end), got -1"),
    ("train.sample_every=-5", "train.sample_every must be an integer >= 0"),
    ("train.d_steps=1000000000", "train.d_steps must be an integer >= 1 and at most 100"),
    ("train.d_steps=0", "train.d_steps must be an integer >= 1, got 0"),
    ("train.steps=0", "train.steps must be an integer >= 1, got 0"),
    ("train.threads=-1", "train.threads must be an integer >= 0"),
    ("train.keep_checkpoints=-1", "train.keep_checkpoints must be an integer >= 0"),
    ("model.z_dim=0", "model.z_dim must be an integer >= 1"),
    ("model.g_depth=-1", "model.g_depth must be an integer >= 0"),
    ("model.d_channels=100000", "model.d_channels must be an integer >= 1 and at most 2048"),
    ("data.resolution=-1", "data.resolution must be an integer >= 0 (0 = native size)"),
    ("data.resolution=100000", "data.resolution must be an integer >= 0 (0 = native size) and at most 1024"),
    ("data.limit=-3", "data.limit must be an integer >= 0 (0 = all)"),
    ("data.noise_std=nan", "data.noise_std must be a finite number >= 0, got nan"),
    ("data.channels=2", "data.channels must be one of 0, 1, 3 (0 native, 1 grayscale, 3 RGB), got 2"),
    ("data.split=val", "data.split: unknown split 'val'; valid splits: test, train"),
    ("data.name=imagenet", "data.name: unknown dataset 'imagenet'; valid datasets: "),
    ("model.arch=gpt", "model.arch: unknown architecture 'gpt'; valid architectures: ctgan, dcgan, mlp, molgan, resnet, srresnet, stylegan, unet"),
    ("model.noise=cauchy", "model.noise: unknown noise 'cauchy'; valid noises: gaussian, uniform"),
    ("model.activation=swish", "model.activation: unknown activation 'swish'; valid activations: "),
    ("loss.name=vanilla", "loss.name: unknown loss 'vanilla'; valid losses: hinge, "),
    ("loss.gp_mode=both", "loss.gp_mode: unknown gradient-penalty mode 'both'; valid gradient-penalty modes: one-sided, two-sided"),
    ("optim.d=lbfgs", "optim.d: unknown optimizer 'lbfgs'; valid optimizers: adam, rmsprop, sgd"),
    ("optim.schedule=cosine", "optim.schedule: unknown schedule 'cosine'; valid schedules: constant, linear"),
    ("train.precision=fp8", "train.precision must be one of fp32, bf16, got 'fp8'"),
    ("train.device=tpu", "train.device must be auto, cpu, cuda, cuda:N or mps, got 'tpu'"),
    ("train.device=cuda:x", "train.device must be auto, cpu, cuda, cuda:N or mps, got 'cuda:x'"),
]


@pytest.mark.parametrize("override, message", BAD, ids=[b[0] for b in BAD])
def test_bad_value_is_one_line_error_naming_setting_value_and_accepted(override, message):
    with pytest.raises(ConfigError) as err:
        load_preset("ring8").with_overrides([override])
    text = str(err.value)
    assert message in text and "\n" not in text


@pytest.mark.parametrize("override", ["optim.lr_d=nan", "train.seed=100000000000000000000000", "loss.clip=-1",
                                      "train.batch_size=1000000000", "model.pack=0"])
def test_cli_dry_run_refuses_what_training_would_refuse(override, capsys):
    assert main(["train", "--preset", "ring8", "--set", override, "--dry-run"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("ganforge: error: ") and err.count("\n") == 1
    assert override.partition("=")[0] in err


def test_cli_is_a_one_line_error_in_a_real_process(tmp_path):
    p = subprocess.run([sys.executable, "-m", "ganforge", "train", "--preset", "grid25", "--set", "optim.ema=nan",
                        "--out", str(tmp_path / "r")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stderr.strip().splitlines() == ["ganforge: error: optim.ema must be a finite number in [0, 1) (0 = off), got nan"]
    assert not (tmp_path / "r").exists()


def test_edges_are_accepted():
    cfg = load_preset("ring8").with_overrides({
        "train.seed": INT64_MAX, "optim.ema": 0.0, "optim.beta1": 0.0, "optim.beta2": 0.9999, "loss.gp_weight": 0.0,
        "train.batch_size": MAX_BATCH, "train.checkpoint_every": 0, "train.sample_every": 0, "model.g_depth": 0,
        "train.device": "cuda:1", "data.channels": 3, "loss.gp_mode": "one-sided", "train.precision": "bf16",
    })
    assert cfg.train.seed == 2**63 - 1 and cfg.train.device == "cuda:1"


def test_size_limits_false_lifts_the_caps_but_not_the_ranges():
    base = load_preset("ring8")
    with pytest.raises(ConfigError, match="size cap"):
        base.with_overrides(["train.batch_size=131072"])
    # checked once after every override: the order of --set does not matter
    big = base.with_overrides(["train.batch_size=131072", "train.size_limits=false", "model.g_width=10000"])
    assert big.train.batch_size == 131072 and big.model.g_width == 10000 and big.train.size_limits is False
    assert Config.from_dict(big.to_dict()) == big
    with pytest.raises(ConfigError, match="train.batch_size must be an integer >= 1, got 0"):
        base.with_overrides(["train.size_limits=false", "train.batch_size=0"])
    with pytest.raises(ConfigError, match=r"train.seed must be an integer in \[0, 2\*\*63 - 1\]"):
        base.with_overrides(["train.size_limits=false", f"train.seed={2**63}"])
    with pytest.raises(ConfigError, match="optim.lr_d must be a finite number > 0"):
        base.with_overrides({"train.size_limits": False, "optim.lr_d": float("inf")})


@pytest.mark.parametrize("overrides, message", [
    ({"model.pack": 3}, r"train.batch_size \(256\) must be divisible by model.pack \(3\)"),
    ({"model.conditional": True, "model.pack": 2, "data.name": "mnist", "model.arch": "dcgan"},
     "model.conditional and model.pack > 1 cannot be combined"),
    ({"data.name": "mnist", "model.arch": "dcgan", "data.clusters": 10, "model.pack": 1},
     "data.clusters=10 makes pseudo-labels for a conditional model; set model.conditional=true"),
    ({"data.name": "mnist", "model.arch": "dcgan", "data.clusters": 10, "model.pack": 1, "model.conditional": True,
      "model.n_classes": 5}, r"model.n_classes \(5\) must be 0 or at least data.clusters \(10\)"),
])
def test_rules_between_settings(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_preset("ring8").with_overrides(overrides)


def test_rules_between_settings_accept_consistent_values():
    cfg = load_preset("ring8").with_overrides({"model.pack": 4, "train.batch_size": 64})
    assert cfg.model.pack == 4
    cfg = load_preset("mnist-cgan").with_overrides({"data.clusters": 20, "model.n_classes": 20})
    assert cfg.data.clusters == 20


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_validates_and_round_trips(name):
    cfg = load_preset(name)
    assert cfg.validate() is cfg
    assert Config.from_dict(cfg.to_dict()) == cfg
    assert Config.from_dict(json.loads(cfg.to_json())) == cfg


def test_every_name_of_the_package_tables_is_accepted():
    from ganforge.data import dataset_names
    from ganforge.engine.optim import OPTIMIZERS, SCHEDULES
    from ganforge.nets import ARCHITECTURES, NOISES
    from ganforge.nets.layers import ACTIVATIONS
    from ganforge.objectives import GP_MODES, OBJECTIVES

    base = load_preset("ring8")
    for key, table in [("data.name", dataset_names()), ("model.arch", ARCHITECTURES), ("model.noise", NOISES),
                       ("model.activation", ACTIVATIONS), ("loss.name", OBJECTIVES), ("loss.gp_mode", GP_MODES),
                       ("optim.g", OPTIMIZERS), ("optim.schedule", SCHEDULES)]:
        for value in table:
            # a translator architecture is only accepted with a translation game
            game = {"model.game": "pix2pix", "model.pack": 1} if (key, value) == ("model.arch", "unet") else {}
            if (key, value) == ("model.arch", "srresnet"):  # the SR generator goes with its game only
                game = {"model.game": "super-resolution", "model.pack": 1}
            if (key, value) == ("model.arch", "molgan"):  # the graph networks go with the molecule game only
                game = {"model.game": "molgan"}
            if (key, value) == ("model.arch", "ctgan"):  # the table networks go with the tabular game only
                game = {"model.game": "tabular"}
            cfg = base.with_overrides({key: value, **game})
            assert getattr(getattr(cfg, key.split(".")[0]), key.split(".")[1]) == value


def test_validate_catches_fields_changed_by_hand():
    cfg = load_preset("ring8")
    cfg.train.batch_size = 0
    with pytest.raises(ConfigError, match="train.batch_size must be an integer >= 1, got 0"):
        cfg.validate()
    cfg.train.batch_size = "big"
    with pytest.raises(ConfigError, match="train.batch_size expects int"):
        cfg.validate()
    cfg.train.batch_size = True  # a bool is not a size
    with pytest.raises(ConfigError, match="train.batch_size expects int"):
        cfg.validate()


def test_from_dict_checks_values_and_section_shapes():
    good = load_preset("grid25").to_dict()
    for section, key, value, message in [
        ("optim", "lr_d", float("nan"), "optim.lr_d must be a finite number > 0, got nan"),
        ("train", "steps", 1e300, "train.steps must be an integer >= 1"),
        ("model", "pack", [2], "model.pack expects int"),
    ]:
        bad = json.loads(json.dumps(good))
        bad[section][key] = value
        with pytest.raises(ConfigError, match=message):
            Config.from_dict(bad)
    with pytest.raises(ConfigError, match="configuration section 'train' must be an object of settings, got list"):
        Config.from_dict({"train": [1, 2]})


def test_an_older_run_with_a_value_out_of_range_is_a_one_line_error(tmp_path, capsys):
    run = tmp_path / "old"
    run.mkdir()
    cfg = load_preset("ring8").to_dict()
    cfg["loss"]["clip"] = -1.0  # accepted before the checks existed: it set every D weight to -1
    del cfg["train"]["size_limits"]  # older runs predate the setting; it defaults to true
    (run / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(RunDirError) as err:
        read_run_config(run)
    assert "loss.clip must be a finite number > 0, got -1.0" in str(err.value) and "\n" not in str(err.value)
    assert main(["train", "--resume", str(run), "--dry-run"]) == 1
    assert "loss.clip must be a finite number > 0" in capsys.readouterr().err
    cfg["loss"]["clip"] = 0.01
    (run / "config.json").write_text(json.dumps(cfg))
    assert read_run_config(run).train.size_limits is True


def test_config_module_imports_nothing_of_ganforge_but_its_errors():
    code = ("import sys, ganforge.config; "
            "print(sorted(m for m in sys.modules if m.startswith('ganforge')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "['ganforge', 'ganforge.config', 'ganforge.errors']"
