"""Super-resolution: SRResNet trained for PSNR, then SRGAN (Ledig et al. 2017).

Each round takes a batch of high-resolution (HR) patches, applies a random one of the 8 flips and
rotations of the square to each (EDSR's augmentation, Lim et al. 2017), makes their low-resolution
(LR) inputs with ``data.degradation`` (:mod:`ganforge.data.degrade`) and upscales them with G.

Two stages, one game:

* **PSNR pre-training** (``loss.gan_weight`` 0, preset ``sr-psnr-x4``): G alone, no D, on the
  pixel loss ``loss.content_pixel`` (L1, or L2 = MSE) weighted by ``loss.content_weight``. This is
  SRResNet; it maximises PSNR and gives smooth textures (the regression-to-the-mean of Ledig et
  al., sec. 2.2).
* **adversarial** (``loss.gan_weight`` > 0, preset ``srgan-x4``): G starts from a PSNR run's
  weights (``model.init_from``, as SRGAN starts from SRResNet, Ledig et al. sec. 3.2) and a
  PatchGAN D judges HR patches against G's outputs. G's loss is the content loss plus
  ``loss.gan_weight`` times the adversarial term. No VGG weights are shipped, so the content loss
  is the pixel loss plus feature matching on D's layers (``loss.fm_weight``; pix2pixHD, Wang et al.
  2018), and optionally a perceptual loss (Johnson et al. 2016; SRGAN's VGG loss) on a feature
  network the user gives as a TorchScript file (``loss.content_net``): mean squared difference of
  its features of G(LR) and of HR, weighted by ``loss.content_net_weight``. The network takes
  (N, C, H, W) images in [-1, 1] (resized to ``loss.content_net_size`` first when it is not 0,
  e.g. 299 for the Inception file FID uses) and returns a tensor or a list/tuple of tensors.

The Blau and Michaeli (2018) perception-distortion trade-off is expected: the GAN's outputs are
sharper and score a lower patch-FID, at some cost in PSNR (see docs/benchmarks.md).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.data.base import ImageDataset
from ganforge.data.degrade import Degradation, bicubic_up
from ganforge.errors import ConfigError
from ganforge.games.base import Game, Terms
from ganforge.games.translation import patch_critic, save_triplets, translate_batch
from ganforge.nets.spec import NetworkSpec
from ganforge.nets.srresnet import DEFAULT_BLOCKS, SRResNet
from ganforge.objectives import minimax_value
from ganforge.objectives.reconstruction import feature_matching_loss, l1_loss


def dihedral(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Square images (B, C, R, R) each under one of the 8 symmetries of the square, ``k`` (B,) in 0..7:
    bit 0 mirrors left-right, bit 1 top-bottom, bit 2 transposes."""
    k = k.view(-1, 1, 1, 1)
    x = torch.where(k % 2 == 1, x.flip(-1), x)
    x = torch.where((k // 2) % 2 == 1, x.flip(-2), x)
    return torch.where(k // 4 == 1, x.transpose(-1, -2), x)


def load_feature_net(path: str) -> torch.nn.Module:
    """The user's TorchScript feature network for the perceptual loss, frozen; one-line errors."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"loss.content_net {p} is not a file; give a TorchScript feature network (.pt)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is what the file is
            net = torch.jit.load(str(p), map_location="cpu")
    except (RuntimeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConfigError(f"loss.content_net {p} is not a TorchScript file torch.jit.load accepts ({first})") from None
    for param in net.parameters():  # frozen: only G learns from it
        param.requires_grad_(False)
    return net.eval()


class SuperResolutionGame(Game):
    name = "super-resolution"

    def __init__(self, cfg, data=None):
        super().__init__(cfg, data)
        self.scale = cfg.data.scale
        self.adversarial = cfg.loss.gan_weight > 0
        self.d_side = ("D",) if self.adversarial else ()  # PSNR pre-training: no D, no D updates
        self.degrade = Degradation(self.scale, cfg.data.degradation, cfg.data.blur_max, cfg.data.noise_max)
        self.rng = torch.Generator().manual_seed(cfg.train.seed + 7)  # augmentation and degradation draws
        self.feature_net = None
        if data is not None and cfg.loss.content_net:
            self.feature_net = load_feature_net(cfg.loss.content_net)
        self._batch = None  # (lr, hr, G(lr)) of the last D update, for the G update

    def spec(self) -> NetworkSpec:
        if not isinstance(self.data, ImageDataset):
            raise ConfigError(f"model.game 'super-resolution' trains on HR images (data.name sr-facades, sr-cifar10, "
                              f"sr-folder); {self.cfg.data.name!r} is not one")
        c, h, w = self.data.shape
        if h != w or h % self.scale:
            raise ConfigError(f"super-resolution patches must be square with sides divisible by data.scale "
                              f"({self.scale}); these are {w}x{h} (set data.resolution)")
        return NetworkSpec((c, h, w), input_shape=(c, h // self.scale, w // self.scale))

    def build(self, spec):
        c, size = spec.data_shape[0], spec.data_shape[1]
        m = self.cfg.model
        nets = {"G": SRResNet(c, self.scale, m.g_channels, m.g_blocks or DEFAULT_BLOCKS)}
        if self.adversarial:
            nets["D"] = patch_critic(m, c, size)  # judges HR patches alone, as SRGAN's D
        return nets

    def _sr_batch(self, tr):
        """The next (LR, HR, G(LR)) on the device; G(LR) keeps its graph."""
        hr, _ = tr.stream.next(tr.cfg.train.batch_size)  # (B, C, R, R) in [-1, 1]
        hr = dihedral(hr, torch.randint(0, 8, (hr.shape[0],), generator=self.rng))
        lr = self.degrade(hr, self.rng)  # (B, C, R / s, R / s)
        lr, hr = tr.dist.shard(lr.to(tr.device)), tr.dist.shard(hr.to(tr.device))
        return lr, hr, tr.G_train(lr).float()

    def d_loss(self, tr) -> Terms:
        _, hr, sr = self._batch = self._sr_batch(tr)
        real_logits = tr.D_train(hr).float()  # (B, 1, h, w): one logit per patch
        fake_logits = tr.D_train(sr.detach()).float()
        terms = Terms()
        terms.add("d_loss", tr.objective.d_loss(real_logits, fake_logits))
        with torch.no_grad():
            terms.note("value", minimax_value(real_logits, fake_logits))
            terms.note("d_real", torch.sigmoid(real_logits).mean())
            terms.note("d_fake", torch.sigmoid(fake_logits).mean())
        return terms

    def _perceptual(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        """Mean squared difference of the user's feature network on G(LR) and HR (over its outputs)."""
        net = self.feature_net.to(sr.device)
        size = self.cfg.loss.content_net_size
        if size:
            sr, hr = (F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False) for t in (sr, hr))
        if sr.shape[1] == 1:  # a grayscale model fed to an RGB feature network
            sr, hr = sr.expand(-1, 3, -1, -1), hr.expand(-1, 3, -1, -1)
        fake, real = net(sr), net(hr)
        fake = list(fake) if isinstance(fake, (list, tuple)) else [fake]
        real = list(real) if isinstance(real, (list, tuple)) else [real]
        return torch.stack([F.mse_loss(f.float(), r.detach().float()) for f, r in zip(fake, real)]).mean()

    def g_loss(self, tr) -> Terms:
        _, hr, sr = self._batch or self._sr_batch(tr)
        self._batch = None
        loss = tr.cfg.loss
        terms = Terms()
        if loss.content_pixel == "l1":
            terms.add("l1", l1_loss(sr, hr), loss.content_weight)
        else:
            terms.add("l2", F.mse_loss(sr, hr), loss.content_weight)
        if self.feature_net is not None:
            terms.add("perceptual", self._perceptual(sr, hr), loss.content_net_weight)
        if self.adversarial:
            fm = loss.fm_weight
            fake_features = tr.D.features(sr) if fm > 0 else None
            fake_logits = (fake_features[-1] if fm > 0 else tr.D(sr)).float()
            terms.add("g_loss", tr.objective.g_loss(fake_logits), loss.gan_weight)
            if fm > 0:  # content: D's layers on G(LR) against HR (pix2pixHD feature matching)
                with torch.no_grad():
                    real_features = tr.D.features(hr)
                terms.add("fm", feature_matching_loss(real_features[:-1], fake_features[:-1]), fm)
            terms.note("d_fake_g", torch.sigmoid(fake_logits.detach()).mean())
        return terms

    def upscaler_net(self, nets: dict) -> torch.nn.Module:
        """The trained upscaler among a checkpoint's networks (what ``ganforge upscale`` uses)."""
        return nets.get("G_ema", nets.get("G"))

    def save_samples(self, tr, path, n: int = 6):
        """bicubic | G(LR) | HR for the first ``n`` training patches (G_ema when kept)."""
        hr, _ = self.data.batch(torch.arange(min(n, len(self.data))))
        lr = self.degrade(hr, torch.Generator().manual_seed(0))
        sr = translate_batch(tr.ema_nets.get("G", tr.G), lr).clamp(-1, 1)
        return save_triplets(path, list(zip(bicubic_up(lr, self.scale), sr, hr)))

    def state_dict(self) -> dict:
        return {"rng": self.rng.get_state()}

    def load_state_dict(self, state: dict) -> None:
        if "rng" in state:
            self.rng.set_state(state["rng"])
