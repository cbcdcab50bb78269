"""Configuration: one dataclass per section, every setting checked once, JSON round-trip.

A :class:`Config` is everything needed to reproduce a run. ``config.json`` in a run directory is
``Config.to_dict()``; ``--set section.key=value`` goes through :meth:`Config.with_overrides`, which
checks that the key exists and that the value parses as the field's type.

Every setting carries its :class:`Rule` beside its default (allowed names, range, finiteness, size
cap), and a few rules tie settings together (:data:`COMBINATIONS`). They are checked once, when a
configuration is built (:meth:`Config.from_dict`) or overridden (:meth:`Config.with_overrides`), so
a configuration that ``--dry-run`` prints is one that training accepts, and no bad value reaches
torch. Each violation is one :class:`~ganforge.errors.ConfigError` line naming the setting, the
value and what is accepted. Name tables (losses, architectures, ...) belong to the packages that
use them and are imported only when a check needs them: this module imports nothing of ganforge
but its errors.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

from ganforge.errors import ConfigError, unknown_name

INT64_MAX = 2**63 - 1  # torch keeps integers (seeds, sizes) in 64 bits


@dataclass(frozen=True)
class Rule:
    """What one setting accepts; :meth:`check` raises a one-line ConfigError otherwise.

    Numbers: floats must be finite; ``ge``/``gt`` and ``le``/``lt`` bound them; integers never
    exceed ``INT64_MAX``. ``cap`` is a sanity cap on a size (batch, widths, ...), lifted by
    ``train.size_limits=false`` for people who mean it. Strings: ``names`` is ``"module:TABLE"``,
    the table (or a function returning it) of accepted names, imported only when checked;
    ``pattern`` a regular expression the whole string must match, described by ``accepted``.
    ``choices`` lists a few literal accepted values. ``note`` is appended to the error.
    """

    ge: float | None = None  # value >= ge
    gt: float | None = None  # value > gt
    le: float | None = None  # value <= le, always
    lt: float | None = None  # value < lt
    cap: int | None = None  # value <= cap while train.size_limits is true
    names: str | None = None  # "module:TABLE" of accepted names
    kind: str = ""  # noun of a name in errors: "unknown {kind} 'x'; valid {kind}s: ..."
    pattern: str | None = None  # full-match regular expression for strings
    accepted: str = ""  # the pattern's accepted values, in words
    choices: tuple = ()  # the accepted values when they are a few literals
    note: str = ""  # what special values mean, e.g. "0 = off"

    def check(self, value: Any, where: str, size_limits: bool = True) -> None:
        """Raise ConfigError when ``value`` of setting ``where`` breaks this rule."""
        if value is None:  # optional settings (paths) may be empty
            return
        note = f" ({self.note})" if self.note else ""
        if self.choices and value not in self.choices:
            raise ConfigError(f"{where} must be one of {', '.join(map(str, self.choices))}{note}, got {value!r}")
        if self.names is not None:
            table = _name_table(self.names)
            if value not in table:
                raise ConfigError(f"{where}: {unknown_name(self.kind, value, table)}")
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise ConfigError(f"{where} must be {self.accepted}, got {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self._check_number(value, where, size_limits, note)

    def _check_number(self, value: int | float, where: str, size_limits: bool, note: str) -> None:
        is_int = isinstance(value, int)
        high = self.le if self.le is not None else (INT64_MAX if is_int else None)
        ok = (is_int or math.isfinite(value)) and not (
            (self.ge is not None and value < self.ge) or (self.gt is not None and value <= self.gt)
            or (high is not None and value > high) or (self.lt is not None and value >= self.lt))
        what = ("an integer" if is_int else "a finite number") + self._range(high if self.le is not None else None)
        if not ok:
            raise ConfigError(f"{where} must be {what}{note}, got {value!r}")
        if size_limits and self.cap is not None and value > self.cap:
            raise ConfigError(f"{where} must be {what}{note} and at most {self.cap} (a size cap; "
                              f"train.size_limits=false lifts the caps), got {value!r}")

    def _range(self, high: float | None) -> str:
        """The bounds in words: ' > 0', ' >= 1', ' in [0, 1)'."""
        low = (f"[{_num(self.ge)}" if self.ge is not None else f"({_num(self.gt)}" if self.gt is not None else None)
        top = (f"{_num(high)}]" if high is not None else f"{_num(self.lt)})" if self.lt is not None else None)
        if low and top:
            return f" in {low}, {top}"
        if low:
            return f" {'>=' if low[0] == '[' else '>'} {low[1:]}"
        if top:
            return f" {'<=' if top[-1] == ']' else '<'} {top[:-1]}"
        return ""


def _num(x: float) -> str:
    return "2**63 - 1" if x == INT64_MAX else f"{x:g}"


def _name_table(ref: str):
    """The table that ``"module:ATTR"`` names (called when it is a function), imported now."""
    module, _, attr = ref.partition(":")
    table = getattr(importlib.import_module(module), attr)
    return table() if callable(table) else table


def setting(default: Any, **rule) -> Any:
    """A dataclass field with ``default`` whose values must follow ``Rule(**rule)``."""
    return field(default=default, metadata={"rule": Rule(**rule)})


# sanity caps on sizes (train.size_limits=false lifts them); far above every preset
MAX_BATCH = 65536
MAX_WIDTH = 8192  # MLP hidden units
MAX_CHANNELS = 2048  # conv channels at the finest level (doubled per coarser level)
MAX_DEPTH = 64  # MLP hidden layers
MAX_Z_DIM = 4096
MAX_RESOLUTION = 1024
MAX_STEPS = 100_000_000
MAX_D_STEPS = 100
MAX_PACK = 64
MAX_CLASSES = 100_000
MAX_IMAGES = 100_000_000  # data.limit
MAX_THREADS = 1024


# where the accepted names of each enumerated setting live, imported only when a value is checked
_DATASETS = "ganforge.data:dataset_names"
_SPLITS = "ganforge.data.images:SPLITS"
_ARCHITECTURES = "ganforge.nets:ARCHITECTURES"
_NOISES = "ganforge.nets:NOISES"
_ACTIVATIONS = "ganforge.nets.layers:ACTIVATIONS"
_LOSSES = "ganforge.objectives:OBJECTIVES"
_GP_MODES = "ganforge.objectives:GP_MODES"
_OPTIMIZERS = "ganforge.engine.optim:OPTIMIZERS"
_SCHEDULES = "ganforge.engine.optim:SCHEDULES"
_GAMES = "ganforge.games:GAMES"
_DEVICE = dict(pattern=r"auto|cpu|mps|cuda(:\d+)?", accepted="auto, cpu, cuda, cuda:N or mps")


def one_of(default: str, table: str, kind: str) -> Any:
    """A setting whose value must be a name of ``table`` ("module:TABLE"); ``kind`` names it in errors."""
    return setting(default, names=table, kind=kind)


@dataclass
class DataConfig:
    name: str = one_of("ring8", _DATASETS, "dataset")  # dataset or 2D distribution (see `ganforge.data.DATASETS`)
    path: str | None = None  # user file or folder for `points`, `folder` (images or archive)
    data_dir: str | None = None  # where named datasets are looked up (then $GANFORGE_DATA, cache)
    split: str = one_of("train", _SPLITS, "split")  # "train" or "test" for datasets that have both
    resolution: int = setting(0, ge=0, cap=MAX_RESOLUTION, note="0 = native size")  # resize images to this square size
    channels: int = setting(0, choices=(0, 1, 3), note="0 native, 1 grayscale, 3 RGB")  # channels of image data
    limit: int = setting(0, ge=0, cap=MAX_IMAGES, note="0 = all")  # use at most this many images; for quick experiments
    noise_std: float = setting(0.0, ge=0)  # extra Gaussian noise on 2D/ND point data (0 = the distribution's own)
    # >0: label images by this many k-means clusters of their pixels (self-conditioning)
    clusters: int = setting(0, ge=0, cap=MAX_CLASSES, note="0 = the dataset's own labels")
    direction: str = setting("AtoB", choices=("AtoB", "BtoA"))  # translation data: "AtoB" translates A into B
    jitter: bool = True  # translation games: pix2pix's random jitter (resize up, random crop) and mirroring
    log_frequency: bool = True  # tabular: conditional vectors ask for categories by log-frequency (CTGAN); false: by frequency
    scale: int = setting(4, choices=(2, 4, 8))  # super-resolution: upscaling factor (LR side = data.resolution / scale)
    degradation: str = one_of("bicubic", "ganforge.data.degrade:DEGRADATIONS", "degradation")  # SR: how LR inputs are made
    blur_max: float = setting(2.0, ge=0.2)  # SR "blur-noise": Gaussian blur sigma drawn in [0.2, this] HR pixels
    noise_max: float = setting(10.0, ge=1)  # SR "blur-noise": noise std drawn in [1, this] 8-bit levels
    mask: str = one_of("center", "ganforge.data.masks:MASK_KINDS", "mask kind")  # inpaint game: hole shape (center, lower-half, rectangles, free-form)
    mask_size: int = setting(0, ge=0, cap=MAX_RESOLUTION, note="0 = half the image side")  # inpaint game: side of the center hole
    atoms: str = setting("C,N,O,F", pattern=r"\s*[A-Z][a-z]?[+-]?\s*(,\s*[A-Z][a-z]?[+-]?\s*)*",
                         accepted="comma-separated atom types such as C,N,O,F,N+,O-")  # molgan: atom vocabulary
    max_atoms: int = setting(9, ge=2, le=64)  # molgan: heavy atoms per graph (QM9: 9); larger molecules are dropped
    # ssl game: labelled examples per class, a fixed balanced choice from the train split (seeded by label_seed)
    labels_per_class: int = setting(100, ge=1, cap=MAX_IMAGES)
    label_seed: int = setting(0, ge=0, le=INT64_MAX)  # ssl game: seed of the labelled subset's choice (not train.seed)
    # image datasets: train on this fraction of the images, a seeded class-stratified subset (1 = all)
    fraction: float = setting(1.0, gt=0, le=1, note="1 = all images")
    fraction_seed: int = setting(0, ge=0, le=INT64_MAX)  # seed of data.fraction's choice (not train.seed)


@dataclass
class ModelConfig:
    game: str = one_of("gan", _GAMES, "game")  # what is trained: "gan" (G(z, y) against D), "pix2pix", "cyclegan", "inpaint"
    arch: str = one_of("mlp", _ARCHITECTURES, "architecture")  # "mlp" (points), "dcgan" or "resnet" (images)
    z_dim: int = setting(2, ge=1, cap=MAX_Z_DIM)  # latent dimension
    noise: str = one_of("gaussian", _NOISES, "noise")  # latent distribution: "gaussian" (N(0, I)) or "uniform" (U[-1, 1])
    g_width: int = setting(128, ge=1, cap=MAX_WIDTH)  # MLP: hidden units per layer of G
    g_depth: int = setting(3, ge=0, cap=MAX_DEPTH)  # MLP: hidden layers of G
    d_width: int = setting(128, ge=1, cap=MAX_WIDTH)  # MLP: hidden units per layer of D
    d_depth: int = setting(3, ge=0, cap=MAX_DEPTH)  # MLP: hidden layers of D
    activation: str = one_of("relu", _ACTIVATIONS, "activation")  # MLP hidden activation: relu, leaky_relu, tanh, elu, gelu
    d_maxout: int = setting(0, ge=0, cap=MAX_PACK, note="0 or 1 = off")  # MLP: >1 makes D's hidden units maxouts of this many
    # DCGAN/ResNet: channels of G's last and D's first hidden layer (doubled per coarser level)
    g_channels: int = setting(64, ge=1, cap=MAX_CHANNELS)
    d_channels: int = setting(64, ge=1, cap=MAX_CHANNELS)
    spectral_norm: bool = False  # spectral normalisation on every D layer (Miyato et al. 2018)
    pack: int = setting(1, ge=1, cap=MAX_PACK)  # PacGAN packing: D judges this many samples at once (Lin et al. 2018)
    conditional: bool = False  # class-conditional G (embedding) and projection D
    n_classes: int = setting(0, ge=0, cap=MAX_CLASSES, note="0 = from the dataset")  # classes for conditional models
    norm: str = setting("batch", choices=("batch", "instance", "none"))  # translation G's normalisation (D: instance)
    dropout: bool = True  # pix2pix U-Net: dropout 0.5 as the noise source, in training and at test time (Isola et al.)
    g_blocks: int = setting(0, ge=0, cap=MAX_DEPTH, note="0 = 6 below 256 px, else 9")  # ResNet translator: blocks
    d_layers: int = setting(3, ge=1, le=8)  # PatchGAN D: strided layers (3 = the 70x70 PatchGAN)
    d_dropout: float = setting(0.5, ge=0, lt=1)  # tabular D: dropout after each hidden layer (CTGAN: 0.5)
    gumbel_tau: float = setting(0.2, gt=0, le=10)  # tabular G: Gumbel-softmax temperature of one-hot outputs (CTGAN: 0.2)
    # gan (train.d_steps 1) and tabular games: G's update reuses the D update's fakes (one G forward per
    # round, as PyTorch's DCGAN example) instead of drawing fresh ones
    reuse_fakes: bool = False
    # weights at the start: "default" (PyTorch's own) or "dcgan": conv/linear N(0, 0.02), batch-norm
    # scales N(1, 0.02), biases 0 (Radford et al. 2016); "dcgan" for model.game gan with mlp, dcgan, resnet
    init: str = setting("default", choices=("default", "dcgan"))
    # DCGAN D: "batch" = batch norm after every strided conv but the first (DCGAN's D; one process,
    # no gradient penalty or R1: D then judges real and fake in two forwards), "none" = no normalisation
    d_norm: str = setting("none", choices=("none", "batch"))
    mol_dropout: float = setting(0.0, ge=0, lt=1)  # molgan: dropout in G, D and the reward network (MolGAN: 0)
    init_from: str | None = None  # run or checkpoint whose G weights start this run (SRGAN from its PSNR run)
    w_dim: int = setting(0, ge=0, cap=MAX_Z_DIM, note="0 = model.z_dim")  # stylegan: dimension of the intermediate latent w
    mapping_depth: int = setting(4, ge=1, cap=MAX_DEPTH)  # stylegan: layers of the mapping network z -> w (StyleGAN: 8)
    style_mixing: float = setting(0.9, ge=0, le=1)  # stylegan: probability of style mixing per generated sample (StyleGAN2: 0.9)


@dataclass
class LossConfig:
    name: str = one_of("nonsaturating", _LOSSES, "loss")  # objective (see `ganforge.objectives.OBJECTIVES`)
    gp_weight: float = setting(0.0, ge=0)  # gradient penalty weight (10 for WGAN-GP; 0 = the objective's default)
    gp_mode: str = one_of("two-sided", _GP_MODES, "gradient-penalty mode")  # "two-sided" or "one-sided" (only norm > 1)
    r1_weight: float = setting(0.0, ge=0)  # R1 penalty on real data, gamma/2 * |grad D(x)|^2 (Mescheder et al. 2018)
    r1_every: int = setting(1, ge=1, cap=MAX_STEPS)  # lazy R1: every this many D updates, weighted by as many (StyleGAN2)
    gan_weight: float = setting(1.0, ge=0)  # translation games: adversarial term in G's loss (0 = no D: L1 only)
    fm_weight: float = setting(0.0, ge=0)  # pix2pix: feature matching on D's layers (pix2pixHD: 10; 0 = off)
    l1_weight: float = setting(100.0, ge=0)  # pix2pix: weight of L1(G(x), y) beside the adversarial term (Isola et al.)
    cycle_weight: float = setting(10.0, ge=0)  # CycleGAN: weight of the two cycle-consistency L1 terms (Zhu et al.)
    identity_weight: float = setting(0.5, ge=0)  # CycleGAN: identity L1 weight, a fraction of cycle_weight (Zhu et al.)
    content_pixel: str = setting("l1", choices=("l1", "l2"))  # super-resolution: pixel loss, L1 or L2 (MSE)
    content_weight: float = setting(1.0, ge=0)  # super-resolution: weight of the pixel loss
    content_net: str | None = None  # SR: TorchScript feature network file for a perceptual loss (none = off)
    content_net_weight: float = setting(1.0, ge=0)  # SR: weight of the perceptual loss (with content_net)
    content_net_size: int = setting(0, ge=0, cap=MAX_RESOLUTION, note="0 = as is")  # SR: resize for content_net
    cond_weight: float = setting(1.0, ge=0)  # tabular: G's cross-entropy on the asked category (CTGAN's L_cond)
    reward: str = setting("qed", choices=("qed", "logp", "sa"))  # molgan: property the reward network learns
    reward_weight: float = setting(0.0, ge=0, le=1)  # molgan: lambda of (1 - lambda) * adversarial + lambda * reward (0 = plain GAN)
    clip: float = setting(0.01, gt=0)  # weight-clipping bound for the Wasserstein critic (Arjovsky et al. 2017)
    unsup_weight: float = setting(1.0, ge=0)  # ssl game: weight of D's real/fake terms beside its labelled cross-entropy
    d_input_noise: float = setting(0.0, ge=0)  # ssl game: std of Gaussian noise on D's inputs (Salimans et al. 2016: 0.3)
    pl_weight: float = setting(0.0, ge=0, note="0 = off")  # stylegan: path-length regularisation weight (StyleGAN2: 2)
    pl_every: int = setting(4, ge=1, cap=MAX_STEPS)  # stylegan: path-length term every this many G updates, weighted by as many


@dataclass
class OptimConfig:
    g: str = one_of("adam", _OPTIMIZERS, "optimizer")  # G optimizer: adam, sgd, rmsprop
    d: str = one_of("adam", _OPTIMIZERS, "optimizer")  # D optimizer: adam, sgd, rmsprop
    lr_g: float = setting(2e-4, gt=0)  # G learning rate
    lr_d: float = setting(2e-4, gt=0)  # D learning rate (TTUR: set it higher than lr_g, Heusel et al. 2017)
    beta1: float = setting(0.5, ge=0, lt=1)  # Adam beta1 (0.5 is the DCGAN choice)
    beta2: float = setting(0.999, ge=0, lt=1)  # Adam beta2
    momentum: float = setting(0.0, ge=0, lt=1)  # SGD momentum
    grad_clip: float = setting(0.0, ge=0, note="0 = off")  # clip each network's gradient norm to this
    weight_decay: float = setting(0.0, ge=0)  # L2 weight decay of both optimizers (CTGAN's Adam: 1e-6)
    fused: bool = False  # Adam: one fused kernel updates every parameter (on a CPU 6x faster steps for small nets)
    ema: float = setting(0.0, ge=0, lt=1, note="0 = off")  # decay of the moving average of G's weights (0.999 typical)
    schedule: str = one_of("constant", _SCHEDULES, "schedule")  # learning rates: "constant", or "linear" to 0 at train.steps
    decay_start: int = setting(0, ge=0, cap=MAX_STEPS)  # "linear": constant until this round, then linear to 0


@dataclass
class TrainConfig:
    steps: int = setting(2000, ge=1, cap=MAX_STEPS)  # total training rounds (one round = d_steps D updates + one G update)
    batch_size: int = setting(256, ge=1, cap=MAX_BATCH)  # samples per batch (real and fake each)
    d_steps: int = setting(1, ge=1, cap=MAX_D_STEPS)  # D updates per round
    seed: int = setting(0, ge=0, le=INT64_MAX)  # seed for initialisation, latent noise and data order
    device: str = setting("auto", **_DEVICE)  # "auto" (cuda, then mps, then cpu), "cpu", "cuda", "cuda:N", "mps"
    log_every: int = setting(10, ge=1)  # write a stats.jsonl line every this many rounds
    sample_every: int = setting(500, ge=0, note="0 = only at the end")  # write a sample picture every this many rounds
    checkpoint_every: int = setting(1000, ge=0, note="0 = only at the end")  # write a checkpoint every this many rounds
    keep_checkpoints: int = setting(3, ge=0, note="0 = keep all")  # keep this many most recent checkpoints
    tensorboard: bool = False  # also log stats to TensorBoard (needs the tensorboard package)
    progress: bool = True  # show a progress bar with rate and ETA
    threads: int = setting(0, ge=0, cap=MAX_THREADS, note="0 = torch's default")  # torch CPU threads
    precision: str = setting("fp32", choices=("fp32", "bf16"))  # "fp32", or "bf16" autocast for G and D forward passes
    pool_size: int = setting(50, ge=0, cap=MAX_BATCH, note="0 = off")  # CycleGAN: history of fakes per D (Shrivastava et al.)
    compile: bool = False  # torch.compile the training forward passes of G and D
    size_limits: bool = True  # enforce the sanity caps on sizes (batch, widths, steps, ...); false lifts them
    # DiffAugment (Zhao et al. 2020) on every image D sees, real and fake: comma-separated ops
    # color, translation, cutout ("" = off); with ada_target > 0, the ops ADA draws from ("" = all three)
    diffaugment: str = ""
    # ADA (Karras et al. 2020): target of r_t = E[sign(D(real))]; each op applied with probability p
    # adjusted toward it every 4 D updates (0 = off; StyleGAN2-ADA uses 0.6)
    ada_target: float = setting(0.0, ge=0, lt=1, note="0 = off; StyleGAN2-ADA uses 0.6")
    ada_kimg: int = setting(500, ge=1, cap=MAX_STEPS)  # ADA speed: p can go 0 -> 1 in this many thousand real images


def _pack_divides_batch(cfg: "Config") -> str | None:
    m, t = cfg.model, cfg.train
    if t.batch_size % m.pack:
        return (f"train.batch_size ({t.batch_size}) must be divisible by model.pack ({m.pack}): "
                f"D judges packs of that many samples")
    return None


def _no_packed_conditional(cfg: "Config") -> str | None:
    if cfg.model.conditional and cfg.model.pack > 1:
        return (f"model.conditional and model.pack > 1 cannot be combined (a pack mixes samples of "
                f"different classes); set model.pack=1 or model.conditional=false, got pack {cfg.model.pack}")
    return None


def _clusters_need_conditional(cfg: "Config") -> str | None:
    d, m = cfg.data, cfg.model
    if d.clusters and not m.conditional:
        return (f"data.clusters={d.clusters} makes pseudo-labels for a conditional model; "
                f"set model.conditional=true or data.clusters=0")
    if d.clusters and m.n_classes and m.n_classes < d.clusters:
        return (f"model.n_classes ({m.n_classes}) must be 0 or at least data.clusters ({d.clusters}): "
                f"every cluster is a class")
    return None


def _arch_fits_game(cfg: "Config") -> str | None:
    game, arch = cfg.model.game, cfg.model.arch
    if arch == "stylegan" and cfg.model.spectral_norm:
        return "model.arch 'stylegan' uses equalised learning rates and R1 (loss.r1_weight), not model.spectral_norm: set it false"
    if arch != "stylegan" and cfg.loss.pl_weight > 0:
        return (f"loss.pl_weight (path-length regularisation) needs a StyleGAN generator: set model.arch=stylegan "
                f"or loss.pl_weight=0, got model.arch {arch!r}")
    if game == "super-resolution" or arch == "srresnet":  # the SR generator and its game go together
        if (game, arch) != ("super-resolution", "srresnet"):
            return f"model.game 'super-resolution' goes with model.arch 'srresnet' only; got {game!r} with {arch!r}"
        return None if cfg.model.pack == 1 and not cfg.model.conditional else \
            "model.game 'super-resolution' takes no model.conditional or model.pack (its input image is the condition)"
    if (game == "molgan") != (arch == "molgan"):  # graph networks and the molecule game go together
        return f"model.game 'molgan' goes with model.arch 'molgan' (and only it), got game {game!r}, arch {arch!r}"
    if game == "molgan":
        return None if not cfg.model.conditional else "model.game 'molgan' is unconditional: set model.conditional=false"
    translators = ("unet", "resnet")
    if (game == "tabular") != (arch == "ctgan"):
        return f"model.game 'tabular' goes with model.arch 'ctgan' (and only it), got game {game!r}, arch {arch!r}"
    if game == "tabular":
        return None
    if game == "ssl":  # the (K+1)-class D is a DCGAN or MLP D with K outputs; G is unconditional
        if not (arch in ("dcgan", "mlp") and not cfg.model.conditional and cfg.model.pack == 1):
            return (f"model.game 'ssl' goes with model.arch 'dcgan' or 'mlp', model.conditional false and model.pack 1; "
                    f"got arch {arch!r}, conditional {cfg.model.conditional}, pack {cfg.model.pack}")
        if arch == "mlp" and cfg.model.spectral_norm:
            return ("model.spectral_norm applies to the ssl game's dcgan D; the mlp D is weight-normalised: "
                    "set model.spectral_norm=false or model.arch=dcgan")
        return None
    if game == "gan" and arch == "unet":
        return "model.arch 'unet' is a translator: use it with model.game pix2pix or cyclegan"
    if game != "gan" and arch not in translators:
        return f"model.game {game!r} needs a translator: model.arch unet or resnet, got {arch!r}"
    if game != "gan" and (cfg.model.conditional or cfg.model.pack > 1):
        return f"model.game {game!r} takes no model.conditional or model.pack (its input image is the condition)"
    return None


# games that apply train.diffaugment / train.ada_target where D sees images
AUGMENT_GAMES = ("gan", "ssl")


def _augment_fits(cfg: "Config") -> str | None:
    t, d = cfg.train, cfg.data
    if t.diffaugment.strip():
        importlib.import_module("ganforge.engine.augment_pipe").parse_ops(t.diffaugment)  # unknown ops: one line
    if not (t.diffaugment.strip() or t.ada_target > 0):
        return None
    what = "train.diffaugment" if t.diffaugment.strip() else "train.ada_target"
    if cfg.model.game not in AUGMENT_GAMES:
        return (f"{what} augments the images D judges in model.game {' and '.join(AUGMENT_GAMES)}; "
                f"model.game {cfg.model.game!r} does not take it: set train.diffaugment= and train.ada_target=0")
    if d.name in _name_table("ganforge.data.mixtures:POINT_DATASETS"):
        return (f"{what} augments images; {d.name!r} is a point distribution: "
                f"set train.diffaugment= and train.ada_target=0")
    return None


# architectures whose weights model.init may set (the others have their own initialisation)
INIT_ARCHS = ("mlp", "dcgan", "resnet")


def _reuse_and_init_fit(cfg: "Config") -> str | None:
    m, t = cfg.model, cfg.train
    if m.reuse_fakes and m.game not in ("gan", "tabular"):
        return f"model.reuse_fakes applies to model.game gan and tabular; model.game {m.game!r} does not take it"
    if m.reuse_fakes and m.game == "gan" and t.d_steps > 1:
        return (f"model.reuse_fakes needs train.d_steps 1 (got {t.d_steps}): the G update reuses the fakes of the "
                f"round's one D update, so several D updates would leave all but the last batch of fakes unused")
    if m.init != "default" and (m.game != "gan" or m.arch not in INIT_ARCHS):
        return (f"model.init {m.init!r} applies to model.game gan with model.arch {', '.join(INIT_ARCHS)}; "
                f"got game {m.game!r}, arch {m.arch!r} (set model.init=default)")
    if m.d_norm != "none" and (m.game != "gan" or m.arch != "dcgan"):
        return f"model.d_norm {m.d_norm!r} applies to model.game gan with model.arch dcgan; got game {m.game!r}, arch {m.arch!r}"
    if m.d_norm == "batch":
        objective = importlib.import_module("ganforge.objectives").get_objective(cfg.loss.name)
        penalties = [r.name for r in importlib.import_module("ganforge.engine.regularizers").build_regularizers(
            cfg.loss, objective)]
        if penalties:
            return (f"model.d_norm batch cannot be combined with {' and '.join(penalties)} (loss {cfg.loss.name!r}): "
                    f"a per-sample gradient penalty is wrong when D's output for one image depends on the batch; "
                    f"set model.d_norm=none")
    return None


def _fraction_of_images(cfg: "Config") -> str | None:
    d = cfg.data
    if d.fraction < 1 and d.name not in _name_table("ganforge.data.images:IMAGE_DATASETS"):
        images = ", ".join(_name_table("ganforge.data.images:IMAGE_DATASETS"))
        return f"data.fraction keeps part of an image dataset ({images}); {d.name!r} is not one: set data.fraction=1"
    return None


# rules between settings that are pure facts of the configuration (what depends on the data, such
# as image sizes or labels, is checked when the data is loaded); each returns an error or None
COMBINATIONS: tuple[Callable[["Config"], str | None], ...] = (
    _pack_divides_batch, _no_packed_conditional, _clusters_need_conditional, _arch_fits_game, _augment_fits,
    _fraction_of_images, _reuse_and_init_fit,
)


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
        """Build a Config from a dict, rejecting unknown sections and keys and invalid values."""
        return cls._from_dict_unchecked(d).validate()

    @classmethod
    def _from_dict_unchecked(cls, d: dict[str, Any]) -> "Config":
        if not isinstance(d, dict):
            raise ConfigError("a configuration must be a JSON object")
        top = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - top
        if unknown:
            raise ConfigError(f"unknown configuration section(s) {sorted(unknown)}; valid: {sorted(top)}")
        cfg = cls(preset=str(d.get("preset", "")), description=str(d.get("description", "")))
        for section in cls.SECTIONS:
            values = d.get(section, {})
            if not isinstance(values, dict):
                raise ConfigError(f"configuration section {section!r} must be an object of settings, "
                                  f"got {type(values).__name__}")
            obj = getattr(cfg, section)
            for key, value in values.items():
                _set_field(obj, section, key, value)
        return cfg

    def with_overrides(self, overrides: dict[str, Any] | list[str]) -> "Config":
        """Return a copy with ``section.key`` overrides applied, then checked (:meth:`validate`).

        ``overrides`` is either a list of ``"section.key=value"`` strings (as given to ``--set``,
        values parsed from text) or a dict ``{"section.key": value}`` (values checked as given).
        The whole result is checked once, after every override, so their order does not matter.
        """
        cfg = Config._from_dict_unchecked(self.to_dict())
        items = _parse_set_args(overrides) if isinstance(overrides, list) else list(overrides.items())
        for dotted, value in items:
            section, _, key = dotted.partition(".")
            if section not in self.SECTIONS or not key:
                raise ConfigError(
                    f"unknown setting {dotted!r}; settings are section.key with section one of "
                    f"{', '.join(self.SECTIONS)}"
                )
            _set_field(getattr(cfg, section), section, key, value)
        return cfg.validate()

    def validate(self) -> "Config":
        """Check every setting against its :class:`Rule` and the :data:`COMBINATIONS`; return self.

        Raises a one-line ConfigError naming the first setting at fault, its value and what is
        accepted. ``from_dict`` and ``with_overrides`` call it; call it yourself after changing
        fields by hand.
        """
        size_limits = self.train.size_limits is not False
        for section in self.SECTIONS:
            obj = getattr(self, section)
            for f in dataclasses.fields(obj):
                where = f"{section}.{f.name}"
                value = _coerce(_field_type(obj, f.name), getattr(obj, f.name), where)
                setattr(obj, f.name, value)
                rule = f.metadata.get("rule")
                if rule is not None:
                    rule.check(value, where, size_limits)
        for combination in COMBINATIONS:
            problem = combination(self)
            if problem:
                raise ConfigError(problem)
        return self


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
    return _type_hints(type(obj))[key]


@functools.lru_cache(maxsize=None)
def _type_hints(cls) -> dict:
    """The resolved field types of a section class (resolving them costs milliseconds: done once)."""
    return typing.get_type_hints(cls)


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
