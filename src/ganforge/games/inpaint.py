"""Inpainting: complete the hidden part of an image from what is left of it.

G sees the masked image and the mask, G(x * (1 - m), m) (Iizuka et al. 2017; DeepFill v2, Yu et al.
2019), and its output fills the hole: completed = m * G(...) + (1 - m) * x, the known pixels kept.
Two critics judge the *completed* image, as in Iizuka et al.'s "Globally and Locally Consistent
Image Completion": ``D`` is a PatchGAN on (completed, mask), one logit per local patch (the
mask-aware SN-PatchGAN of DeepFill v2, spectral norm with ``model.spectral_norm``), and ``D_global``
a DCGAN-style critic with one logit for the whole image, which checks that the completion fits its
surroundings. G minimises ``loss.l1_weight`` times the L1 error inside the hole (averaged over the
hole's pixels, so the weight means the same for small and large holes) plus ``loss.gan_weight``
times both adversarial terms. ``loss.gan_weight`` 0 drops both critics: the same G trained on the
reconstruction alone, the baseline that shows what the adversarial term buys (sharper, more
plausible holes) and what it costs (PSNR in the hole, Blau and Michaeli 2018).

Training masks are drawn fresh for every batch from their own seeded generator
(:class:`~ganforge.data.masks.MaskSampler`), saved in checkpoints so resume is bit-exact.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.data.masks import MaskSampler, fixed_masks
from ganforge.games.base import Game, Terms
from ganforge.games.translation import (
    patch_critic,
    save_triplets,
    translation_spec,
    translator,
)
from ganforge.objectives import minimax_value

Tensor = torch.Tensor


class InpaintNet(nn.Module):
    """G as the inpaint game uses it: (N, C + 1, H, W) = masked image and mask -> (N, C, H, W).

    The last input channel is the mask; any value away from 0 (|v| > 0.01) counts as hole, so a mask
    that was resized (softened, overshooting) grows rather than shrinks, and the image's pixels
    under the hole are zeroed here whatever the caller left there. Inputs are padded (by reflection)
    to ``net_size``, the side the translator needs (a power of two for the U-Net: MNIST's 28 px
    become 32), and the output is cropped back.
    """

    def __init__(self, net: nn.Module, net_size: int):
        super().__init__()
        self.net, self.net_size = net, net_size

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        m = (x[:, -1:].abs() > 0.01).to(x.dtype)  # (N, 1, H, W) 1 in the hole
        inp = torch.cat([x[:, :-1] * (1 - m), m], 1)  # (N, C + 1, H, W)
        ph, pw = max(0, self.net_size - h), max(0, self.net_size - w)
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            inp = F.pad(inp, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode=mode)
        out = self.net(inp)  # (N, C, H + ph, W + pw)
        return out[:, :, ph // 2:ph // 2 + h, pw // 2:pw // 2 + w]


def net_size(arch: str, resolution: int) -> int:
    """The side G's translator is built for: the next power of two for the U-Net, else ``resolution``."""
    if arch == "unet":
        side = 1
        while side < resolution:
            side *= 2
        return side
    return resolution


def g_input(x: Tensor, masks: Tensor) -> Tensor:
    """G's input: images (N, C, H, W) in [-1, 1] with the hole zeroed, and the mask -> (N, C + 1, H, W)."""
    m = masks.to(x.dtype)
    return torch.cat([x * (1 - m), m], 1)


def composite(fill: Tensor, x: Tensor, masks: Tensor) -> Tensor:
    """G's output inside the hole, the known pixels of ``x`` outside it: (N, C, H, W)."""
    return torch.where(masks, fill, x)


def hole_l1(fake: Tensor, real: Tensor, masks: Tensor) -> Tensor:
    """Mean |fake - real| over the hole's pixels and channels (0 when no pixel is hidden)."""
    m = masks.to(fake.dtype).expand_as(fake)
    return ((fake - real).abs() * m).sum() / m.sum().clamp(min=1)


def global_critic(m, channels: int, resolution: int) -> nn.Module:
    """A DCGAN discriminator over the whole image: the global critic of Iizuka et al. 2017."""
    from ganforge.nets.dcgan import DCGANDiscriminator

    return DCGANDiscriminator(channels, resolution, m.d_channels, m.spectral_norm)


class InpaintGame(Game):
    name = "inpaint"

    def __init__(self, cfg, data=None):
        super().__init__(cfg, data)
        self.adversarial = cfg.loss.gan_weight > 0  # 0: reconstruction alone, no critics
        self.d_side = ("D", "D_global") if self.adversarial else ()
        self.sampler = None  # built once the image size is known (spec)
        self._batch = None  # (x, masks, completed) of the last D update, for the G update

    def spec(self):
        from ganforge.data.base import ImageDataset
        from ganforge.errors import ConfigError

        if not isinstance(self.data, ImageDataset):
            raise ConfigError(f"model.game 'inpaint' trains on images (mnist, cifar10, folder, ...); "
                              f"{self.cfg.data.name!r} is not an image dataset")
        spec = translation_spec(self.data.images[:1], self.data.images[:1])
        c, h, w = spec.data_shape
        spec.input_shape = (c + 1, h, w)
        self._sampler(h, w)
        return spec

    def _sampler(self, h: int, w: int) -> MaskSampler:
        if self.sampler is None:
            d = self.cfg.data
            self.sampler = MaskSampler(d.mask, h, w, d.mask_size, self.cfg.train.seed + 7)
        return self.sampler

    def build(self, spec):
        c, size, _ = spec.data_shape
        m = self.cfg.model
        nets = {"G": InpaintNet(translator(m, c + 1, c, net_size(m.arch, size)), net_size(m.arch, size))}
        if self.adversarial:
            nets["D"] = patch_critic(m, c + 1, size)  # judges (completed, mask)
            nets["D_global"] = global_critic(m, c, size)
        return nets

    def _complete_batch(self, tr):
        """The next (x, masks, completed) on the device; ``completed`` keeps G's graph."""
        x, _ = tr.stream.next(tr.cfg.train.batch_size)  # (B, C, H, W) in [-1, 1]
        masks = self._sampler(*x.shape[-2:])(x.shape[0])  # (B, 1, H, W) bool
        x, masks = tr.dist.shard(x.to(tr.device)), tr.dist.shard(masks.to(tr.device))
        fill = tr.G_train(g_input(x, masks)).float()  # (B, C, H, W)
        return x, masks, composite(fill, x, masks)

    def _critics(self, tr, images: Tensor, masks: Tensor, train: bool) -> tuple[Tensor, Tensor]:
        """(patch logits (B, 1, h, w), global logits (B,)) of images (B, C, H, W)."""
        nets = tr.train_nets if train else tr.nets
        patch = nets["D"](torch.cat([images, masks.to(images.dtype)], 1)).float()
        return patch, nets["D_global"](images).float()

    def d_loss(self, tr) -> Terms:
        x, masks, completed = self._batch = self._complete_batch(tr)
        real_patch, real_global = self._critics(tr, x, masks, True)
        fake_patch, fake_global = self._critics(tr, completed.detach(), masks, True)
        terms = Terms()
        # each critic's loss halved, as pix2pix divides D's objective by 2 (Isola et al. 2017, sec. 3.3)
        d_patch = tr.objective.d_loss(real_patch, fake_patch)
        d_global = tr.objective.d_loss(real_global, fake_global)
        terms.add("d_loss", d_patch + d_global, 0.5)
        with torch.no_grad():
            terms.note("d_patch", d_patch)
            terms.note("d_global", d_global)
            terms.note("value", minimax_value(real_global, fake_global))
            terms.note("d_real", torch.sigmoid(real_global).mean())
            terms.note("d_fake", torch.sigmoid(fake_global).mean())
        return terms

    def g_loss(self, tr) -> Terms:
        x, masks, completed = self._batch or self._complete_batch(tr)
        self._batch = None
        terms = Terms()
        if self.adversarial:
            fake_patch, fake_global = self._critics(tr, completed, masks, False)
            g_patch, g_global = tr.objective.g_loss(fake_patch), tr.objective.g_loss(fake_global)
            terms.add("g_loss", g_patch + g_global, tr.cfg.loss.gan_weight)
            terms.note("g_patch", g_patch.detach())
            terms.note("g_global", g_global.detach())
            terms.note("d_fake_g", torch.sigmoid(fake_global.detach()).mean())
        terms.add("l1", hole_l1(completed, x, masks), tr.cfg.loss.l1_weight)
        return terms

    def save_samples(self, tr, path, n: int = 6):
        """masked | completed | original for the first ``n`` training images under the fixed
        "train" masks, with G_ema when kept."""
        from ganforge.games.translation import translate_batch

        x, _ = self.data.batch(torch.arange(min(n, len(self.data))))  # (n, C, H, W)
        masks = fixed_masks(self.cfg.data.mask, len(x), *x.shape[-2:], "train", self.cfg.data.mask_size)
        fill = translate_batch(tr.ema_nets.get("G", tr.G), g_input(x, masks))
        shown = torch.where(masks, torch.ones_like(x), x)  # the hole in white
        return save_triplets(path, list(zip(shown, composite(fill, x, masks), x)))

    def state_dict(self) -> dict:
        return {"masks": self.sampler.state_dict()} if self.sampler is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.sampler is not None:
            self.sampler.load_state_dict(state.get("masks", {}))
