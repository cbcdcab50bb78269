"""pix2pix (Isola et al. 2017): a conditional GAN that translates an input image into a target.

G is a U-Net (or a ResNet translator) with dropout as its noise; D is a PatchGAN that judges
(input, output) pairs, concatenated along channels, one logit per 70x70 patch. D's loss is
halved ("we divide the objective by 2 while optimizing D", sec. 3.3); G minimises the adversarial
term plus ``loss.l1_weight`` (100) times L1(G(x), y). As in the paper's code, one G(x) per round
serves both updates: the D update sees it detached, the G update backpropagates through it.
"""

from __future__ import annotations

import torch

from ganforge.games.base import Game, Terms
from ganforge.games.translation import (
    Jitter, patch_critic, save_triplets, translate_batch, translation_spec, translator,
)
from ganforge.objectives import minimax_value
from ganforge.objectives.reconstruction import feature_matching_loss, l1_loss


class Pix2PixGame(Game):
    name = "pix2pix"
    directions = ("forward",)

    def __init__(self, cfg, data=None):
        super().__init__(cfg, data)
        # loss.gan_weight 0 drops D altogether: the same G trained on L1 alone (the paper's baseline)
        self.adversarial = cfg.loss.gan_weight > 0
        self.d_side = ("D",) if self.adversarial else ()
        self.jitter = Jitter(cfg.data.jitter, cfg.train.seed + 5)
        self._pair = None  # (input, target, G(input)) of the last D update, for the G update

    def spec(self):
        from ganforge.data.paired import PairedImages
        from ganforge.errors import ConfigError

        if not isinstance(self.data, PairedImages):
            raise ConfigError(f"model.game 'pix2pix' needs paired images (data.name facades or pairs); "
                              f"{self.cfg.data.name!r} is not paired")
        return translation_spec(self.data.inputs, self.data.targets)

    def build(self, spec):
        (c_out, size, _), c_in = spec.data_shape, spec.input_shape[0]
        m = self.cfg.model
        nets = {"G": translator(m, c_in, c_out, size)}
        if self.adversarial:
            nets["D"] = patch_critic(m, c_in + c_out, size)
        return nets

    def translators(self, nets) -> dict:
        """The trained translators by direction name (what ``ganforge translate`` uses)."""
        return {"forward": nets["G"]}

    def _translate_batch(self, tr):
        """The next (input, target, G(input)) on the device; G(input) keeps its graph."""
        x, y = tr.stream.next(tr.cfg.train.batch_size)  # (B, C_in, H, W), (B, C_out, H, W) in [-1, 1]
        x, y = self.jitter(x, y)
        x, y = tr.dist.shard(x.to(tr.device)), tr.dist.shard(y.to(tr.device))
        return x, y, tr.G_train(x).float()

    def d_loss(self, tr) -> Terms:
        x, y, fake = self._pair = self._translate_batch(tr)
        real_logits = tr.D_train(torch.cat([x, y], 1)).float()  # (B, 1, h, w): one logit per patch
        fake_logits = tr.D_train(torch.cat([x, fake.detach()], 1)).float()
        terms = Terms()
        terms.add("d_loss", tr.objective.d_loss(real_logits, fake_logits), 0.5)
        with torch.no_grad():
            terms.note("value", minimax_value(real_logits, fake_logits))
            terms.note("d_real", torch.sigmoid(real_logits).mean())
            terms.note("d_fake", torch.sigmoid(fake_logits).mean())
        return terms

    def g_loss(self, tr) -> Terms:
        x, y, fake = self._pair or self._translate_batch(tr)
        self._pair = None
        terms = Terms()
        if self.adversarial:
            fm = tr.cfg.loss.fm_weight
            fake_features = tr.D.features(torch.cat([x, fake], 1)) if fm > 0 else None
            fake_logits = (fake_features[-1] if fm > 0 else tr.D(torch.cat([x, fake], 1))).float()
            terms.add("g_loss", tr.objective.g_loss(fake_logits), tr.cfg.loss.gan_weight)
            if fm > 0:  # pix2pixHD's feature matching: D's layers on (x, G(x)) against (x, y)
                with torch.no_grad():
                    real_features = tr.D.features(torch.cat([x, y], 1))
                terms.add("fm", feature_matching_loss(real_features[:-1], fake_features[:-1]), fm)
            terms.note("d_fake_g", torch.sigmoid(fake_logits.detach()).mean())
        terms.add("l1", l1_loss(fake, y), tr.cfg.loss.l1_weight)
        return terms

    def save_samples(self, tr, path, n: int = 6):
        """input | output | target for the first ``n`` training pairs (no jitter), G_ema if kept."""
        from ganforge.data.paired import to_float

        x, y = to_float(self.data.inputs[:n]), to_float(self.data.targets[:n])
        out = translate_batch(tr.ema_nets.get("G", tr.G), x)
        return save_triplets(path, list(zip(x, out, y)))

    def state_dict(self) -> dict:
        return {"jitter": self.jitter.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.jitter.load_state_dict(state.get("jitter", {}))
