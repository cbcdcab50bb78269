"""A trained generator (or discriminator) that stands on its own, without the training data.

A checkpoint's ``state.json`` records, beside the configuration, what the networks need to be
rebuilt (:class:`NetworkSpec`: data shape, number of classes, class frequencies). So sampling,
export, the report and evaluation against given data load G with the run directory alone:

    G = ganforge.load_generator("runs/mnist")      # G_ema when the run has one
    x = G.generate(16)                             # (16, 1, 28, 28) in [-1, 1], on the CPU
    x = G(G.sample_z(16))                          # the same thing by hand (unconditional G)

:class:`Generator` is a plain ``nn.Module``: ``forward(z, labels=None)`` is the network itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from ganforge.config import Config
from ganforge.engine import checkpoint as ckpt
from ganforge.errors import CheckpointError, ConfigError, RunDirError
from ganforge.nets.spec import NetworkSpec


def draw_z(n: int, z_dim: int, noise: str, generator: torch.Generator, device) -> torch.Tensor:
    """Latent noise (n, z_dim): N(0, I) or U[-1, 1], drawn on ``generator``'s device, moved to ``device``."""
    if noise == "uniform":
        return torch.rand(n, z_dim, generator=generator, device=generator.device).mul_(2).sub_(1).to(device)
    return torch.randn(n, z_dim, generator=generator, device=generator.device).to(device)


class Generator(nn.Module):
    """G with its latent distribution and classes: everything needed to draw samples.

    ``forward(z, labels=None)`` is the network; :meth:`generate` draws the noise (and classes, with
    the training data's frequencies) itself. ``net`` is G or G_ema.
    """

    def __init__(self, net: nn.Module, z_dim: int, noise: str, spec: NetworkSpec, conditional: bool):
        super().__init__()
        self.net = net
        self.z_dim, self.noise, self.spec, self.conditional = z_dim, noise, spec, conditional

    @property
    def n_classes(self) -> int:
        return self.spec.n_classes if self.conditional else 0

    @property
    def device(self) -> torch.device:
        p = next(self.net.parameters(), None)
        return p.device if p is not None else torch.device("cpu")

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z, labels)

    def sample_z(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Latent noise (n, z_dim) on this generator's device."""
        return draw_z(n, self.z_dim, self.noise, generator or torch.Generator(), self.device)

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """Classes (n,) drawn with the training data's frequencies for a conditional G, else None."""
        if not self.conditional:
            return None
        g = generator or torch.Generator()
        prior = torch.tensor(self.spec.class_prior, dtype=torch.float64, device=g.device)
        return torch.multinomial(prior, n, replacement=True, generator=g).to(self.device)

    def check_labels(self, labels, n: int) -> torch.Tensor | None:
        """``labels`` as given to :meth:`generate` (an int, a tensor (n,), or None) -> tensor or None."""
        if not self.conditional:
            if labels is not None:
                raise ConfigError("this model is not conditional; sample without a class")
            return None
        if isinstance(labels, int):
            if not 0 <= labels < self.n_classes:
                raise ConfigError(f"class {labels} is out of range; this model has classes 0..{self.n_classes - 1}")
            labels = torch.full((n,), labels, dtype=torch.long)
        return torch.as_tensor(labels, device=self.device)

    @torch.no_grad()
    def generate(self, n: int, labels=None, z: torch.Tensor | None = None,
                 generator: torch.Generator | None = None, batch: int = 1000, truncation: float = 1.0) -> torch.Tensor:
        """``n`` samples on the CPU: points (n, dim), images (n, C, H, W) in [-1, 1].

        ``labels`` is an int (every sample of that class), a tensor (n,), or None (random classes
        for a conditional G). ``z`` replaces the drawn noise. ``truncation`` psi != 1 applies the
        truncation trick of a G that supports it (StyleGAN), else raises a ConfigError. The network
        runs in eval mode.
        """
        extra = {}
        if truncation != 1.0:
            if not getattr(self.net, "supports_truncation", False):
                raise ConfigError("truncation needs a generator with a mapping network (model.arch stylegan); "
                                  "this generator has none")
            extra["truncation"] = float(truncation)
        was_training = self.net.training
        self.net.eval()
        try:
            if z is None:
                z = self.sample_z(n, generator)
            if labels is None and self.conditional:
                labels = self.sample_labels(n, generator)
            labels = self.check_labels(labels, n)
            out = []
            for i in range(0, n, batch):
                li = labels[i : i + batch] if labels is not None else None
                out.append(self.net(z[i : i + batch].to(self.device), li, **extra).float().cpu())
        finally:
            self.net.train(was_training)
        return torch.cat(out) if out else torch.empty(0, *self.spec.data_shape)


class Discriminator(nn.Module):
    """D returning one logit per sample: with PacGAN packing each sample is judged on its own
    (repeated ``pack`` times), so callers never see packs. No gradients, no side effects."""

    def __init__(self, net: nn.Module, pack: int = 1):
        super().__init__()
        self.net, self.pack = net, pack

    @torch.no_grad()
    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(n, ...) -> (n,) logits, on the CPU."""
        p = next(self.net.parameters())
        x = x.to(p.device)
        if self.pack > 1:
            x = x.repeat_interleave(self.pack, dim=0)  # (n * pack, ...): pack copies of each sample, together
        was_training = self.net.training
        self.net.eval()  # spectral norm's power iteration only runs in training mode
        try:
            return self.net(x, labels).float().cpu()
        finally:
            self.net.train(was_training)


# ----------------------------------------------------------------------------- loading


def resolve_checkpoint(path_or_run: str | Path) -> Path:
    """A checkpoint directory from a run directory (its latest checkpoint) or a checkpoint path."""
    p = Path(path_or_run)
    if (p / "state.json").is_file():
        return p
    if (p / "checkpoints").is_dir() or (p / "config.json").is_file():
        found = ckpt.latest_checkpoint(p / "checkpoints")
        if found is None:
            raise RunDirError(f"run {p} has no complete checkpoint to load")
        return found
    raise RunDirError(f"{p} is not a ganforge run directory (no config.json) nor a checkpoint (no state.json)")


def read_spec(state: dict, cfg: Config, where) -> NetworkSpec:
    """The networks' description of a checkpoint's state (older checkpoints: rebuilt from the data)."""
    if "networks" in state:
        return NetworkSpec.from_dict(state["networks"], str(where))
    # checkpoints written before the description was saved: the data tells the shape and classes
    from ganforge.data import load_dataset
    from ganforge.games import make_game

    return make_game(cfg, load_dataset(cfg.data)).spec()


def load_networks(path_or_run: str | Path, device: str | torch.device = "cpu"):
    """(config, spec, {name: network}) of a checkpoint, weights loaded, in eval mode.

    The game the run played (``model.game``) rebuilds its networks from the checkpoint's own
    description; averaged networks come back under their checkpoint names (``G_ema``).
    """
    import copy

    from ganforge.games import make_game

    path = resolve_checkpoint(path_or_run)
    _, weights, state = ckpt.read_checkpoint(path)
    try:
        cfg = Config.from_dict(state["config"])
    except (KeyError, ConfigError) as e:
        raise CheckpointError(f"checkpoint {path}: its configuration is not valid ({e})") from None
    spec = read_spec(state, cfg, path)
    with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the caller's RNG alone
        built = make_game(cfg).build(spec)
    nets = {}
    for name in weights:
        base = name.removesuffix("_ema")
        if base not in built:
            raise CheckpointError(f"checkpoint {path} holds weights {name!r} that its game has no network for")
        net = copy.deepcopy(built[base]) if name != base else built[base]
        load_weights(net, weights[name], name, path)
        nets[name] = net.to(device).eval().requires_grad_(False)
    return cfg, spec, nets


def load_weights(module: nn.Module, tensors: dict, name: str, path) -> None:
    """Load a state dict with a one-line error when it does not fit the module."""
    try:
        module.load_state_dict(tensors)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise CheckpointError(f"checkpoint {path} does not fit this {name}: "
                              f"{first[1].strip() if len(first) > 1 else first[0]}") from None


def init_from_run(nets: dict[str, nn.Module], names, path_or_run: str | Path) -> None:
    """Copy the trained weights of networks ``names`` (their moving averages when kept) from a run
    or checkpoint into ``nets``: ``model.init_from``, e.g. SRGAN starting from its PSNR run."""
    try:
        _, _, trained = load_networks(path_or_run)
    except (RunDirError, CheckpointError) as e:
        raise ConfigError(f"model.init_from {path_or_run}: {e} (train that run first, or set model.init_from)") from None
    for name in names:
        source = trained.get(f"{name}_ema", trained.get(name))
        if source is None:
            raise ConfigError(f"model.init_from {path_or_run} has no {name} weights to start from")
        load_weights(nets[name], source.state_dict(), name, f"{path_or_run} (model.init_from)")


def tabular_refusal(run) -> str:
    """The one line that sends a tabular run (or one of its checkpoints) to the tabular commands."""
    run = Path(run)
    if run.parent.name == "checkpoints" and (run / "state.json").is_file():
        run = run.parent.parent  # `tabular sample` reads the run directory (its table transformer)
    return (f"{run} is a tabular model (model.game 'tabular'): its rows are decoded by the run's table "
            f"transformer; use `ganforge tabular sample {run} -n N --out synth.csv` "
            f"(and `ganforge tabular evaluate` for scores)")


def load_generator(path_or_run: str | Path, ema: bool = True, device: str | torch.device = "cpu") -> Generator:
    """The trained generator of a run directory (its latest checkpoint) or of a checkpoint directory.

    ``ema``: G_ema when the checkpoint has one (the default), else G. The result is a
    :class:`Generator` (an ``nn.Module``) in eval mode on ``device``; the training data is not needed.
    """
    cfg, spec, nets = load_networks(path_or_run, device)
    if cfg.model.game == "tabular":  # G makes encoded rows, which only the run's table transformer decodes
        raise ConfigError(tabular_refusal(path_or_run))
    if spec.input_shape is not None:  # G maps images to images: no latent noise to sample from
        command = {"inpaint": "ganforge inpaint", "super-resolution": "ganforge upscale"}.get(cfg.model.game,
                                                                                             "ganforge translate")
        raise ConfigError(f"{path_or_run} is a model.game {cfg.model.game!r} model, which takes images rather "
                          f"than noise: use `{command}` (and its run's test split for scores)")
    net = nets.get("G_ema") if ema and "G_ema" in nets else nets.get("G")
    if net is None:
        raise CheckpointError(f"checkpoint {path_or_run} has no generator weights")
    return Generator(net, cfg.model.z_dim, cfg.model.noise, spec, cfg.model.conditional)


def load_discriminator(path_or_run: str | Path, device: str | torch.device = "cpu") -> Discriminator:
    """The trained discriminator of a run or checkpoint, returning one logit per sample."""
    cfg, _, nets = load_networks(path_or_run, device)
    if "D" not in nets:
        raise CheckpointError(f"checkpoint {path_or_run} has no discriminator weights")
    return Discriminator(nets["D"], cfg.model.pack)


def checkpoint_step(path: Path) -> int:
    """The round a checkpoint was saved at (from its state.json)."""
    try:
        return int(json.loads((Path(path) / "state.json").read_text())["step"])
    except (OSError, ValueError, KeyError, TypeError):
        raise CheckpointError(f"checkpoint {path}: state.json has no readable step") from None


class Translator(nn.Module):
    """A trained image-to-image translator (pix2pix's G, or one direction of CycleGAN).

    ``forward(x)`` maps images (N, in_channels, H, W) in [-1, 1] to (N, out_channels, H, W); it was
    trained at ``resolution`` x ``resolution`` (the U-Net needs sides that are multiples of
    2**depth; :func:`ganforge.translate.translate_any_size` handles any size).
    """

    def __init__(self, net: nn.Module, in_channels: int, out_channels: int, resolution: int, direction: str,
                 game: str):
        super().__init__()
        self.net = net
        self.in_channels, self.out_channels, self.resolution = in_channels, out_channels, resolution
        self.direction, self.game = direction, game

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def load_translator(path_or_run: str | Path, direction: str | None = None, ema: bool = True,
                    device: str | torch.device = "cpu") -> Translator:
    """The translator of a pix2pix or CycleGAN run (its latest checkpoint) or checkpoint directory.

    ``direction``: for CycleGAN "AtoB" (default) or "BtoA"; pix2pix learns one direction (the
    run's ``data.direction``) and accepts that name or None. ``ema``: the moving average when kept.
    """
    from ganforge.games import make_game

    cfg, spec, nets = load_networks(path_or_run, device)
    if cfg.model.game == "gan" or spec.input_shape is None:
        raise ConfigError(f"{path_or_run} is not a translator (model.game {cfg.model.game!r}); "
                          f"use `ganforge sample` for generators")
    if cfg.model.game == "super-resolution":
        raise ConfigError(f"{path_or_run} is a super-resolution model; use `ganforge upscale`")
    game = make_game(cfg)
    choices = getattr(game, "directions")
    if cfg.model.game == "pix2pix":
        if direction not in (None, cfg.data.direction):
            raise ConfigError(f"this pix2pix model was trained {cfg.data.direction} only; "
                              f"--direction {direction} is not available")
        name, direction, c_in, c_out = "G", cfg.data.direction, spec.input_shape[0], spec.data_shape[0]
    else:
        direction = direction or "AtoB"
        if direction not in choices:
            raise ConfigError(f"unknown direction {direction!r}; this CycleGAN model translates {', '.join(choices)}")
        name = "G_AB" if direction == "AtoB" else "G_BA"
        c_in, c_out = spec.input_shape[0], spec.data_shape[0]
        if direction == "BtoA":
            c_in, c_out = c_out, c_in
    net = nets.get(f"{name}_ema") if ema and f"{name}_ema" in nets else nets[name]
    return Translator(net, c_in, c_out, spec.data_shape[1], direction, cfg.model.game)
