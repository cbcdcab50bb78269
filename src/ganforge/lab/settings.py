"""The lab's settings for one session, and how they map onto an engine :class:`Config`.

Changes fall into four kinds, by what they cost:

* ``LIVE``: applied to the running trainer at once (learning rates, objective, D steps, penalty);
* ``VIEW``: only change what is drawn or how fast (speed, D* view);
* ``KEEP_WEIGHTS``: need a new trainer (optimizers, batch, noise, target) but the networks keep
  their weights, copied over;
* ``ARCH``: change the networks' shapes, so G and D are built anew.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

import torch

from ganforge.config import Config
from ganforge.data.mixtures import PointDistribution, make_distribution

LIVE = frozenset({"objective", "lr_g", "lr_d", "d_steps", "gp_weight"})
VIEW = frozenset({"speed", "show_dstar"})
KEEP_WEIGHTS = frozenset({"opt_g", "opt_d", "noise", "batch_size", "target", "drawn", "draw_std"})
ARCH = frozenset({"g_depth", "g_width", "d_depth", "d_width", "z_dim", "spectral_norm", "pack"})


@dataclass
class LabSettings:
    target: str = "ring8"  # a name of protocol.TARGETS ("drawn" = the user's points)
    objective: str = "nonsaturating"  # a name of ganforge.objectives.OBJECTIVES
    spectral_norm: bool = False  # spectral normalisation on D's layers
    gp_weight: float = 0.0  # gradient penalty weight (0 = the objective's default)
    pack: int = 1  # PacGAN packing
    opt_g: str = "adam"  # G optimizer
    opt_d: str = "adam"  # D optimizer
    lr_g: float = 1e-3  # G learning rate
    lr_d: float = 1e-3  # D learning rate
    d_steps: int = 1  # D updates per round
    g_depth: int = 3  # hidden layers of G
    g_width: int = 128  # hidden units per layer of G
    d_depth: int = 3  # hidden layers of D
    d_width: int = 128  # hidden units per layer of D
    z_dim: int = 2  # latent dimension
    noise: str = "gaussian"  # latent distribution: gaussian or uniform
    batch_size: int = 256  # real and fake samples per batch
    speed: float = 0.0  # rounds per second (0 = as fast as possible)
    show_dstar: bool = False  # also compute and show the optimal discriminator D*
    drawn: list[list[float]] = field(default_factory=list)  # the user's points when target == "drawn"
    draw_std: float = 0.05  # std of the Gaussian on each drawn point
    seed: int = 0  # seed of initialisation and sampling

    def replace(self, **changes) -> "LabSettings":
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def public(self) -> dict:
        """The settings as shown to the page (drawn points summarised by their count)."""
        d = dataclasses.asdict(self)
        d["drawn"] = len(self.drawn)
        return d

    def to_config(self) -> Config:
        """The engine configuration these settings describe (CPU, in memory, no progress bar)."""
        data_name = "points" if self.target == "drawn" else self.target
        # built from the defaults, not a tuned preset, so every knob that matters is on the page
        return Config(description="lab session").with_overrides({
            "data.name": data_name,
            "model.arch": "mlp",
            "model.z_dim": self.z_dim,
            "model.noise": self.noise,
            "model.g_width": self.g_width,
            "model.g_depth": self.g_depth,
            "model.d_width": self.d_width,
            "model.d_depth": self.d_depth,
            "model.spectral_norm": self.spectral_norm,
            "model.pack": self.pack,
            "loss.name": self.objective,
            "loss.gp_weight": self.gp_weight,
            "optim.g": self.opt_g,
            "optim.d": self.opt_d,
            "optim.lr_g": self.lr_g,
            "optim.lr_d": self.lr_d,
            "train.batch_size": self.batch_size,
            "train.d_steps": self.d_steps,
            "train.seed": self.seed,
            "train.device": "cpu",
            "train.progress": False,
        })

    def target_key(self) -> str:
        """A name for the target distribution: equal keys mean the same distribution."""
        if self.target != "drawn":
            return self.target
        digest = hashlib.sha256(json.dumps([self.drawn, self.draw_std]).encode()).hexdigest()[:16]
        return f"drawn-{digest}"

    def distribution(self) -> PointDistribution:
        """The target distribution: a named one, or Gaussians on the drawn points."""
        if self.target == "drawn":
            return PointDistribution.from_points(torch.tensor(self.drawn, dtype=torch.float32), self.draw_std)
        return make_distribution(self.target)


def change_kind(old: LabSettings, new: LabSettings) -> str:
    """The costliest kind of change from ``old`` to ``new``: "arch", "keep", "live", "view" or "none"."""
    changed = {f.name for f in dataclasses.fields(old) if getattr(old, f.name) != getattr(new, f.name)}
    if not changed:
        return "none"
    if changed & ARCH or _data_dim(old) != _data_dim(new):
        return "arch"
    if changed & KEEP_WEIGHTS:
        return "keep"
    if changed & LIVE:
        return "live"
    return "view"


def _data_dim(s: LabSettings) -> int:
    return 1 if s.target.endswith("1d") else 2


def check_consistent(s: LabSettings) -> str | None:
    """A reason why these settings cannot train together, or None."""
    if s.batch_size % s.pack:
        return f"batch size {s.batch_size} must be a multiple of the packing {s.pack}"
    if s.target == "drawn" and not s.drawn:
        return "draw at least one point before training on a drawing"
    return None
