"""Configuration: one dataclass per section, type-checked overrides, JSON round-trip.

A :class:`Config` is everything needed to reproduce a run. ``config.json`` in a run directory is
``Config.to_dict()``; ``--set section.key=value`` goes through :meth:`Config.with_overrides`, which
checks that the key exists and that the value parses as the field's type.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from ganforge.errors import ConfigError


@dataclass
class DataConfig:
    name: str = "ring8"  # dataset or 2D distribution (see `ganforge.data.DATASETS`)
    path: str | None = None  # user file or folder for `points`, `folder` (images or archive)
    data_dir: str | None = None  # where named datasets are looked up (then $GANFORGE_DATA, cache)
    split: str = "train"  # "train" or "test" for datasets that have both
    resolution: int = 0  # resize images to this square size; 0 keeps the native size
    channels: int = 0  # 1 (grayscale) or 3 (RGB) for image data; 0 keeps the native channels
    limit: int = 0  # use at most this many images (0 = all); handy for quick experiments
    noise_std: float = 0.0  # extra Gaussian noise on 2D/ND point data (0 = the distribution's own)
    clusters: int = 0  # >0: label images by this many k-means clusters of their pixels (self-conditioning)


@dataclass
class ModelConfig:
    arch: str = "mlp"  # network family: "mlp" (points), "dcgan" or "resnet" (images)
    z_dim: int = 2  # latent dimension
    noise: str = "gaussian"  # latent distribution: "gaussian" (N(0, I)) or "uniform" (U[-1, 1])
    g_width: int = 128  # MLP: hidden units per layer of G
    g_depth: int = 3  # MLP: hidden layers of G
    d_width: int = 128  # MLP: hidden units per layer of D
    d_depth: int = 3  # MLP: hidden layers of D
    activation: str = "relu"  # MLP hidden activation: relu, leaky_relu, tanh, elu, gelu
    d_maxout: int = 0  # MLP: >1 makes D's hidden layers maxout units with this many pieces
    g_channels: int = 64  # DCGAN/ResNet: channels of G's last hidden layer (doubled per coarser level)
    d_channels: int = 64  # DCGAN/ResNet: channels of D's first layer (doubled per coarser level)
    spectral_norm: bool = False  # spectral normalisation on every D layer (Miyato et al. 2018)
    pack: int = 1  # PacGAN packing: D judges this many samples at once (Lin et al. 2018)
    conditional: bool = False  # class-conditional G (embedding) and projection D
    n_classes: int = 0  # classes for conditional models; 0 = take it from the dataset


@dataclass
class LossConfig:
    name: str = "nonsaturating"  # objective (see `ganforge.objectives.OBJECTIVES`)
    gp_weight: float = 0.0  # gradient penalty weight (10 for WGAN-GP; 0 = off unless the objective sets it)
    gp_mode: str = "two-sided"  # "two-sided" (Gulrajani et al.) or "one-sided" (penalise only norm > 1)
    r1_weight: float = 0.0  # R1 penalty on real data, gamma/2 * |grad D(x)|^2 (Mescheder et al. 2018)
    r1_every: int = 1  # lazy R1: apply it every this many D updates, weighted by as many (StyleGAN2)
    clip: float = 0.01  # weight-clipping bound for the Wasserstein critic (Arjovsky et al. 2017)


@dataclass
class OptimConfig:
    g: str = "adam"  # G optimizer: adam, sgd, rmsprop
    d: str = "adam"  # D optimizer: adam, sgd, rmsprop
    lr_g: float = 2e-4  # G learning rate
    lr_d: float = 2e-4  # D learning rate (TTUR: set it higher than lr_g, Heusel et al. 2017)
    beta1: float = 0.5  # Adam beta1 (0.5 is the DCGAN choice)
    beta2: float = 0.999  # Adam beta2
    momentum: float = 0.0  # SGD momentum
    grad_clip: float = 0.0  # clip each network's gradient norm to this (0 = off)
    ema: float = 0.0  # decay of the exponential moving average of G's weights (0 = off, 0.999 typical)
    schedule: str = "constant"  # learning rates: "constant", or "linear" decay to 0 at train.steps


@dataclass
class TrainConfig:
    steps: int = 2000  # total training rounds (one round = d_steps D updates + one G update)
    batch_size: int = 256  # samples per batch (real and fake each)
    d_steps: int = 1  # D updates per round
    seed: int = 0  # seed for initialisation, latent noise and data order
    device: str = "auto"  # "auto" (cuda, then mps, then cpu), "cpu", "cuda", "cuda:N", "mps"
    log_every: int = 10  # write a stats.jsonl line every this many rounds
    sample_every: int = 500  # write a sample picture every this many rounds (0 = only at the end)
    checkpoint_every: int = 1000  # write a checkpoint every this many rounds (0 = only at the end)
    keep_checkpoints: int = 3  # keep this many most recent checkpoints (0 = keep all)
    tensorboard: bool = False  # also log stats to TensorBoard (needs the tensorboard package)
    progress: bool = True  # show a progress bar with rate and ETA
    threads: int = 0  # torch CPU threads (0 = torch's default)
    precision: str = "fp32"  # "fp32", or "bf16" to run G and D forward passes under bfloat16 autocast
    compile: bool = False  # torch.compile the training forward passes of G and D


@dataclass
class Config:
    preset: str = ""  # preset this configuration started from ("" = none)
    description: str = ""  # one line saying what the configuration is for
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    SECTIONS = ("data", "model", "loss", "optim", "train")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        """Build a Config from a dict, rejecting unknown sections and keys."""
        if not isinstance(d, dict):
            raise ConfigError("a configuration must be a JSON object")
        top = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - top
        if unknown:
            raise ConfigError(f"unknown configuration section(s) {sorted(unknown)}; valid: {sorted(top)}")
        cfg = cls(preset=str(d.get("preset", "")), description=str(d.get("description", "")))
        for section in cls.SECTIONS:
            values = d.get(section, {})
            obj = getattr(cfg, section)
            for key, value in values.items():
                _set_field(obj, section, key, value)
        return cfg

    def with_overrides(self, overrides: dict[str, Any] | list[str]) -> "Config":
        """Return a copy with ``section.key`` overrides applied.

        ``overrides`` is either a list of ``"section.key=value"`` strings (as given to ``--set``,
        values parsed from text) or a dict ``{"section.key": value}`` (values checked as given).
        """
        cfg = Config.from_dict(self.to_dict())
        items = _parse_set_args(overrides) if isinstance(overrides, list) else list(overrides.items())
        for dotted, value in items:
            section, _, key = dotted.partition(".")
            if section not in self.SECTIONS or not key:
                raise ConfigError(
                    f"unknown setting {dotted!r}; settings are section.key with section one of "
                    f"{', '.join(self.SECTIONS)}"
                )
            _set_field(getattr(cfg, section), section, key, value)
        return cfg


def _parse_set_args(args: list[str]) -> list[tuple[str, str]]:
    out = []
    for arg in args:
        if "=" not in arg:
            raise ConfigError(f"--set expects section.key=value, got {arg!r}")
        key, _, value = arg.partition("=")
        out.append((key.strip(), _TextValue(value.strip())))
    return out


class _TextValue(str):
    """A value that came from the command line and still needs parsing to the field's type."""


def _field_type(obj, key: str):
    hints = typing.get_type_hints(type(obj))
    return hints[key]


def _set_field(obj, section: str, key: str, value: Any) -> None:
    names = [f.name for f in dataclasses.fields(obj)]
    if key not in names:
        raise ConfigError(f"unknown setting {section}.{key}; valid keys of {section}: {', '.join(names)}")
    setattr(obj, key, _coerce(_field_type(obj, key), value, f"{section}.{key}"))


def _coerce(tp, value: Any, where: str):
    """Check (and for command-line text, parse) ``value`` as type ``tp``."""
    optional = False
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) < len(typing.get_args(tp))
        tp = args[0]
    text = isinstance(value, _TextValue)
    if value is None or (text and optional and value.lower() in ("none", "null", "")):
        if optional:
            return None
        raise ConfigError(f"{where} cannot be empty; expected {tp.__name__}")
    try:
        if tp is bool:
            if text:
                low = value.lower()
                if low in ("1", "true", "yes", "on"):
                    return True
                if low in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if isinstance(value, bool):
                return value
            raise ValueError
        if tp is int:
            if isinstance(value, bool):
                raise ValueError
            if text:
                return int(value)
            if isinstance(value, int):
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ValueError
        if tp is float:
            if isinstance(value, bool):
                raise ValueError
            if text:
                return float(value)
            if isinstance(value, (int, float)):
                return float(value)
            raise ValueError
        if tp is str:
            if isinstance(value, str):
                return str(value)
            raise ValueError
    except ValueError:
        raise ConfigError(f"{where} expects {tp.__name__}, got {value!r}") from None
    raise ConfigError(f"{where}: unsupported type {tp}")
