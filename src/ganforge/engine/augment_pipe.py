"""Augmentation of everything D sees: DiffAugment and adaptive augmentation (ADA).

Training a GAN on a few thousand images or fewer lets D memorise the training set; its feedback
to G then stops making sense and FID gets worse as training goes on. Two remedies, both applied to
*every* image D judges (real and fake alike, in D's update, in its regularisers and in G's
update), differentiably, so that G's gradients flow through the augmentation:

* **DiffAugment** (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
  Training"): ``train.diffaugment`` lists the ops, each applied to every image:

  - ``color``: brightness (add U[-0.5, 0.5)), saturation (scale each pixel's distance to its
    channel mean by U[0, 2)), contrast (scale the distance to the image mean by U[0.5, 1.5));
  - ``translation``: shift by a whole number of pixels in [-s, s] along each axis, s = 1/8 of the
    side (rounded), filling with zeros;
  - ``cutout``: zero a square of half the image side (rounded) centred at a random pixel (the
    part that falls outside the image is cut off).

* **ADA** (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data"):
  with ``train.ada_target`` > 0 each of the five transforms above (brightness, saturation,
  contrast, translation, cutout) is applied to each image independently with probability ``p``.
  ``p`` starts at 0 and every 4 D updates moves by ``sign(r_t - target) * (4 * batch) /
  (ada_kimg * 1000)``, where ``r_t = E[sign(D(real))]`` over those updates' (augmented) real
  images, so that it could go from 0 to 1 in ``ada_kimg`` thousand real images (the paper: 500);
  it stays in [0, 1]. The pipeline is the DiffAugment op set (the ops ``train.diffaugment`` lists,
  all three when it is empty), not the paper's 18 transforms.

Every random number comes from the generator the engine gives (seeded with ``train.seed + 8``
and saved in checkpoints), and ``p`` with its accumulators is in :meth:`AugmentPipe.state_dict`,
so resume stays bit-exact. With several processes every rank draws the whole batch's parameters
and keeps its own slice, as for the latent noise.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganforge.engine.stats import report
from ganforge.errors import ConfigError

# op name -> what it does (train.diffaugment); applied in this order whatever order they are listed in
OPS = {
    "color": "brightness, saturation and contrast, each drawn per image",
    "translation": "shift by up to 1/8 of the image side, zero fill",
    "cutout": "zero a square of half the image side at a random place",
}
ADA_INTERVAL = 4  # D updates between two adjustments of p (StyleGAN2-ADA's ada_interval)
TRANSLATION_RATIO = 0.125  # largest shift, as a fraction of the side (DiffAugment)
CUTOUT_RATIO = 0.5  # side of the cut-out square, as a fraction of the image side (DiffAugment)


def parse_ops(text: str) -> tuple[str, ...]:
    """The ops a ``train.diffaugment`` value names, in application order ("" -> ()).

    Raises a one-line ConfigError naming an unknown op and the accepted ones.
    """
    names = [part.strip() for part in (text or "").split(",") if part.strip()]
    for name in names:
        if name not in OPS:
            raise ConfigError(f"train.diffaugment: unknown op {name!r}; accepted: {', '.join(OPS)} "
                              f"(comma-separated, empty = off)")
    return tuple(op for op in OPS if op in names)


# ----------------------------------------------------------------------------- the transforms
# Each takes a batch x (B, C, H, W) and per-image parameters (B,), and is differentiable in x.


def brightness(x: Tensor, shift: Tensor) -> Tensor:
    """x + shift per image; shift (B,) (DiffAugment draws it from U[-0.5, 0.5))."""
    return x + shift.view(-1, 1, 1, 1).to(x.dtype)


def saturation(x: Tensor, factor: Tensor) -> Tensor:
    """Scale each pixel's distance to its mean over channels by factor (B,) (DiffAugment: U[0, 2))."""
    mean = x.mean(dim=1, keepdim=True)  # (B, 1, H, W)
    return (x - mean) * factor.view(-1, 1, 1, 1).to(x.dtype) + mean


def contrast(x: Tensor, factor: Tensor) -> Tensor:
    """Scale the distance to each image's mean by factor (B,) (DiffAugment: U[0.5, 1.5))."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1)
    return (x - mean) * factor.view(-1, 1, 1, 1).to(x.dtype) + mean


def translate(x: Tensor, dy: Tensor, dx: Tensor) -> Tensor:
    """Move image b by dy[b] rows down and dx[b] columns right, filling with zeros.

    out[b, :, i, j] = x[b, :, i - dy[b], j - dx[b]] where that pixel exists, else 0; dy, dx (B,) int.
    """
    B, C, H, W = x.shape
    rows = torch.arange(H, device=x.device).view(1, H, 1) - dy.view(B, 1, 1).to(x.device)  # (B, H, 1) source row
    cols = torch.arange(W, device=x.device).view(1, 1, W) - dx.view(B, 1, 1).to(x.device)  # (B, 1, W) source column
    inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)  # (B, H, W)
    src = (rows.clamp(0, H - 1) * W + cols.clamp(0, W - 1)).reshape(B, 1, H * W).expand(B, C, H * W)
    out = x.reshape(B, C, H * W).gather(2, src).reshape(B, C, H, W)  # gather: gradients flow back to x
    return out * inside.unsqueeze(1).to(x.dtype)


def cutout_mask(shape: tuple[int, ...], cy: Tensor, cx: Tensor, size: tuple[int, int],
                apply: Tensor | None = None) -> Tensor:
    """1 outside, 0 inside the square of ``size`` (h, w) whose rows start at cy - h // 2 and columns
    at cx - w // 2 (cut off at the borders): (B, 1, H, W). ``apply`` (B,) bool: images left whole where False."""
    B, _, H, W = shape
    h, w = size
    top = (cy.view(B, 1, 1) - h // 2)  # (B, 1, 1)
    left = (cx.view(B, 1, 1) - w // 2)
    r = torch.arange(H, device=cy.device).view(1, H, 1)
    c = torch.arange(W, device=cy.device).view(1, 1, W)
    hole = (r >= top) & (r < top + h) & (c >= left) & (c < left + w)  # (B, H, W)
    if apply is not None:
        hole = hole & apply.view(B, 1, 1)
    return (~hole).unsqueeze(1)


def cutout(x: Tensor, cy: Tensor, cx: Tensor, apply: Tensor | None = None) -> Tensor:
    """Zero a square of half the image side (rounded) centred at (cy, cx) (B,) int in each image."""
    size = cutout_size(x.shape[2], x.shape[3])
    return x * cutout_mask(x.shape, cy.to(x.device), cx.to(x.device), size, apply).to(x.dtype)


def cutout_size(h: int, w: int) -> tuple[int, int]:
    """Side of the cut-out square for an h x w image: half the side, rounded (DiffAugment)."""
    return int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)


def max_shift(h: int, w: int) -> tuple[int, int]:
    """Largest translation (rows, columns) for an h x w image: 1/8 of the side, rounded (DiffAugment)."""
    return int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)


# ----------------------------------------------------------------------------- the pipeline


class AugmentPipe:
    """What D sees: ``pipe(x)`` augments a batch (B, C, H, W); identity when nothing is on.

    ``ops``: the DiffAugment ops (see :data:`OPS`); ``generator``: every random draw; ``ada_target``
    > 0 turns on ADA (each transform with probability ``p``, adjusted from ``observe``'d real
    logits every 4 D updates, see the module docstring); ``batch_size``: the global batch (real
    images per D update), ``ada_kimg``: ADA's speed; ``dist``: the process group info (a
    :class:`~ganforge.engine.distributed.DistInfo`), None for one process.
    """

    def __init__(self, ops: tuple[str, ...], generator: torch.Generator | None, ada_target: float = 0.0,
                 batch_size: int = 1, ada_kimg: int = 500, dist=None):
        self.ada = ada_target > 0
        self.ops = tuple(ops) or (tuple(OPS) if self.ada else ())
        self.generator = generator
        self.ada_target = float(ada_target)
        self.step_size = batch_size * ADA_INTERVAL / (ada_kimg * 1000)  # p's move per adjustment
        self.dist = dist
        self.p = 0.0 if self.ada else 1.0  # probability of each transform per image
        self.signs: float | Tensor = 0.0  # sum of sign(D(real)) since the last adjustment (kept on the device)
        self.count = 0  # real logits observed since the last adjustment

    @classmethod
    def from_config(cls, train_cfg, generator: torch.Generator, dist=None) -> AugmentPipe:
        """The pipe ``train.diffaugment``, ``train.ada_target`` and ``train.ada_kimg`` describe."""
        return cls(parse_ops(train_cfg.diffaugment), generator, train_cfg.ada_target, train_cfg.batch_size,
                   train_cfg.ada_kimg, dist)

    @property
    def active(self) -> bool:
        """True when D's inputs are augmented (DiffAugment or ADA on)."""
        return bool(self.ops)

    # -------------------------------------------------------------- drawing and applying
    def _rand(self, n: int) -> Tensor:
        return torch.rand(n, generator=self.generator, device=self.generator.device)

    def _randint(self, low: int, high: int, n: int) -> Tensor:
        return torch.randint(low, high, (n,), generator=self.generator, device=self.generator.device)

    def draw(self, n: int, height: int, width: int) -> dict[str, Tensor]:
        """Parameters for ``n`` images of height x width: one entry (n,) per transform, and with ADA
        one ``apply_*`` (n,) bool per transform (True with probability p). The same dict given to
        :meth:`apply` transforms two batches identically."""
        params: dict[str, Tensor] = {}
        names: list[str] = []
        if "color" in self.ops:
            params["brightness"] = self._rand(n) - 0.5  # U[-0.5, 0.5)
            params["saturation"] = self._rand(n) * 2  # U[0, 2)
            params["contrast"] = self._rand(n) + 0.5  # U[0.5, 1.5)
            names += ["brightness", "saturation", "contrast"]
        if "translation" in self.ops:
            sy, sx = max_shift(height, width)
            params["dy"] = self._randint(-sy, sy + 1, n)
            params["dx"] = self._randint(-sx, sx + 1, n)
            names.append("translation")
        if "cutout" in self.ops:
            h, w = cutout_size(height, width)
            # centres as DiffAugment draws them: [0, side] for an even square, [0, side - 1] for an odd one
            params["cy"] = self._randint(0, height + (1 - h % 2), n)
            params["cx"] = self._randint(0, width + (1 - w % 2), n)
            names.append("cutout")
        if self.ada:
            for name in names:
                params[f"apply_{name}"] = self._rand(n) < self.p
        return params

    def apply(self, x: Tensor, params: dict[str, Tensor]) -> Tensor:
        """Transform x (B, C, H, W) with drawn ``params`` (each (B,)); differentiable in x."""
        def on(name: str) -> Tensor | None:
            flag = params.get(f"apply_{name}")
            return flag.to(x.device) if flag is not None else None

        def maybe(op, x: Tensor, name: str) -> Tensor:
            out = op(x, params[name].to(x.device))
            flag = on(name)  # with ADA, images whose flag is False stay exactly as they were
            return out if flag is None else torch.where(flag.view(-1, 1, 1, 1), out, x)

        if "brightness" in params:
            x = maybe(brightness, x, "brightness")
            x = maybe(saturation, x, "saturation")
            x = maybe(contrast, x, "contrast")
        if "dy" in params:
            flag = on("translation")
            dy, dx = params["dy"].to(x.device), params["dx"].to(x.device)
            if flag is not None:
                dy, dx = dy * flag, dx * flag
            x = translate(x, dy, dx)
        if "cy" in params:
            x = cutout(x, params["cy"], params["cx"], on("cutout"))
        return x

    def __call__(self, x: Tensor) -> Tensor:
        """Augment a batch (B, C, H, W) with fresh draws; x itself when the pipe is off (no draw)."""
        if not self.ops:
            return x
        world = self.dist.world if self.dist is not None else 1
        params = self.draw(x.shape[0] * world, x.shape[2], x.shape[3])  # the whole batch's draws
        if self.ada and self.p == 0:  # drawn all the same, so the generator's use does not depend on p
            return x
        if world > 1:
            params = {k: self.dist.shard(v) for k, v in params.items()}  # this rank's slice
        return self.apply(x, params)

    # -------------------------------------------------------------- ADA's probability
    def observe(self, real_logits: Tensor) -> None:
        """Count sign(D(real)) of a D update's (augmented) real logits toward ADA's r_t."""
        if not self.ada:
            return
        logits = real_logits.detach().reshape(-1)
        self.signs = self.signs + torch.sign(logits).sum().double()  # no device sync until p is adjusted
        self.count += logits.numel()

    def after_d_update(self, d_updates: int) -> None:
        """After D update number ``d_updates`` (counted from 1): adjust p every 4 updates; report it."""
        if not self.ada:
            return
        if d_updates % ADA_INTERVAL == 0 and self.count:
            signs, count = float(self.signs), float(self.count)
            if self.dist is not None and self.dist.world > 1:  # r_t over every rank's real images
                signs, count = (v * self.dist.world for v in self.dist.mean([signs, count], self.generator.device))
            r_t = signs / count
            report("ada_rt", r_t)
            self.adjust(r_t)
            self.signs, self.count = 0.0, 0
        report("ada_p", self.p)

    def adjust(self, r_t: float) -> None:
        """Move p by one step toward less augmentation (r_t < target) or more (r_t > target), in [0, 1]."""
        direction = (r_t > self.ada_target) - (r_t < self.ada_target)  # sign(r_t - target)
        self.p = min(1.0, max(0.0, self.p + direction * self.step_size))

    # -------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict:
        """p and r_t's accumulators (JSON numbers; the random generator is saved with the engine's)."""
        return {"p": self.p, "signs": float(self.signs), "count": self.count} if self.ada else {}

    def load_state_dict(self, state: dict) -> None:
        if not self.ada or not state:  # a run that turns ADA on when resumed starts from p = 0
            return
        try:
            p, signs, count = float(state["p"]), float(state["signs"]), int(state["count"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"malformed augmentation state {state!r}") from None
        if not (math.isfinite(p) and 0.0 <= p <= 1.0 and math.isfinite(signs) and count >= 0):
            raise ValueError(f"augmentation state out of range: {state!r}")
        self.p, self.signs, self.count = p, signs, count
