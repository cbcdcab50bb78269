"""CycleGAN (Zhu et al. 2017): unpaired translation between domains A and B, both ways.

Two generators, G_AB: A -> B and G_BA: B -> A, and two PatchGAN critics, D_A (real A against
G_BA's fakes) and D_B. G's loss is the two adversarial terms, ``loss.cycle_weight`` times the two
cycle-consistency terms |G_BA(G_AB(a)) - a| and |G_AB(G_BA(b)) - b|, and ``identity_weight *
cycle_weight`` times the identity terms |G_AB(b) - b| and |G_BA(a) - a| (sec. 5.2, which keeps
colours). Each D judges a history pool of 50 earlier fakes rather than only the newest
(Shrivastava et al. 2017); the pools' contents are part of the checkpoint.

The paper uses least squares (``loss.name=lsgan``). ganforge's least-squares losses are those of
Mao et al. 2017: D's equals the paper's code (1/2 (D(y) - 1)^2 + 1/2 D(G(x))^2), G's carries a
factor 1/2 ((D(G(x)) - 1)^2 / 2) that the paper's code does not, so the paper's lambda = 10
corresponds here to ``loss.cycle_weight=5`` (every term then half the paper's; Adam is unaffected).
As in pix2pix, one round's fakes serve both updates.
"""

from __future__ import annotations

import torch

from ganforge.games.base import Game, Terms
from ganforge.games.image_pool import ImagePool
from ganforge.games.translation import (
    Jitter, patch_critic, save_triplets, translate_batch, translation_spec, translator,
)
from ganforge.objectives.reconstruction import cycle_loss, identity_loss


class CycleGANGame(Game):
    name = "cyclegan"
    g_side = ("G_AB", "G_BA")
    d_side = ("D_A", "D_B")
    ema = ("G_AB", "G_BA")
    directions = ("AtoB", "BtoA")

    def __init__(self, cfg, data=None):
        super().__init__(cfg, data)
        self.pools = {"A": ImagePool(cfg.train.pool_size), "B": ImagePool(cfg.train.pool_size)}
        self.pool_rng = torch.Generator().manual_seed(cfg.train.seed + 6)
        self.jitter = Jitter(cfg.data.jitter, cfg.train.seed + 5)
        self._round = None  # (real_a, real_b, fake_a, fake_b) of the last D update

    def spec(self):
        from ganforge.data.paired import PairedImages, UnpairedImages
        from ganforge.errors import ConfigError

        if isinstance(self.data, PairedImages):
            # the two halves of a paired set, shuffled independently: unpaired training that can
            # still be scored against the ground truth
            self.data = UnpairedImages(self.data.a, self.data.b, self.data.names, self.data.names,
                                       self.data.source_hash, dict(self.data.info, unpaired_from="pairs"))
        if not isinstance(self.data, UnpairedImages):
            raise ConfigError(f"model.game 'cyclegan' needs two image sets (data.name facades, pairs or "
                              f"unpaired); {self.cfg.data.name!r} is not one")
        if self.cfg.data.direction == "BtoA":
            raise ConfigError("model.game 'cyclegan' learns both directions; leave data.direction at AtoB "
                              "and choose the direction when translating")
        if self.data.a.shape[2:] != self.data.b.shape[2:]:
            raise ConfigError("CycleGAN needs A and B images of one size; set data.resolution")
        return translation_spec(self.data.a, self.data.b)

    def build(self, spec):
        (c_b, size, _), c_a = spec.data_shape, spec.input_shape[0]
        m = self.cfg.model
        return {"G_AB": translator(m, c_a, c_b, size), "G_BA": translator(m, c_b, c_a, size),
                "D_A": patch_critic(m, c_a, size), "D_B": patch_critic(m, c_b, size)}

    def translators(self, nets) -> dict:
        """The trained translators by direction name (what ``ganforge translate`` uses)."""
        return {"AtoB": nets["G_AB"], "BtoA": nets["G_BA"]}

    def _fakes(self, tr):
        a, b = tr.stream.next(tr.cfg.train.batch_size)  # (B, C_a, H, W), (B, C_b, H, W) in [-1, 1]
        a, b = self.jitter.single(a), self.jitter.single(b)  # unrelated images: a crop and flip each
        a, b = tr.dist.shard(a.to(tr.device)), tr.dist.shard(b.to(tr.device))
        # kept with their graphs: the G update backpropagates through them
        return a, b, tr.train_nets["G_BA"](b).float(), tr.train_nets["G_AB"](a).float()

    def d_loss(self, tr) -> Terms:
        a, b, fake_a, fake_b = self._round = self._fakes(tr)
        terms = Terms()
        for domain, real, fake in (("A", a, fake_a), ("B", b, fake_b)):
            D = tr.train_nets[f"D_{domain}"]
            old = self.pools[domain].query(fake.detach(), self.pool_rng)  # (B, C, H, W), detached
            real_logits, fake_logits = D(real).float(), D(old).float()  # (B, 1, h, w) patch logits
            terms.add(f"d_loss_{domain}", tr.objective.d_loss(real_logits, fake_logits))
            with torch.no_grad():
                terms.note(f"d_real_{domain}", torch.sigmoid(real_logits).mean())
                terms.note(f"d_fake_{domain}", torch.sigmoid(fake_logits).mean())
        with torch.no_grad():  # the pair's means, for the monitor and the progress line
            terms.note("d_loss", (terms.values["d_loss_A"] + terms.values["d_loss_B"]) / 2)
            terms.note("d_real", (terms.values["d_real_A"] + terms.values["d_real_B"]) / 2)
            terms.note("d_fake", (terms.values["d_fake_A"] + terms.values["d_fake_B"]) / 2)
        return terms

    def g_loss(self, tr) -> Terms:
        a, b, fake_a, fake_b = self._round or self._fakes(tr)
        self._round = None
        G_AB, G_BA = tr.train_nets["G_AB"], tr.train_nets["G_BA"]
        lam, ident = tr.cfg.loss.cycle_weight, tr.cfg.loss.identity_weight * tr.cfg.loss.cycle_weight
        terms = Terms()
        terms.add("g_loss_AB", tr.objective.g_loss(tr.nets["D_B"](fake_b).float()), tr.cfg.loss.gan_weight)
        terms.add("g_loss_BA", tr.objective.g_loss(tr.nets["D_A"](fake_a).float()), tr.cfg.loss.gan_weight)
        terms.add("cycle_A", cycle_loss(a, G_BA(fake_b).float()), lam)  # a -> b -> a
        terms.add("cycle_B", cycle_loss(b, G_AB(fake_a).float()), lam)  # b -> a -> b
        if ident > 0:
            terms.add("identity_A", identity_loss(a, G_BA(a).float()), ident)
            terms.add("identity_B", identity_loss(b, G_AB(b).float()), ident)
        with torch.no_grad():
            terms.note("g_loss", (terms.values["g_loss_AB"] + terms.values["g_loss_BA"]) / 2)
        return terms

    def save_samples(self, tr, path, n: int = 4):
        """For ``n`` images of each domain: a | G_AB(a) | G_BA(G_AB(a)), then b | G_BA(b) | G_AB(G_BA(b))."""
        from ganforge.data.paired import to_float

        rows = []
        for src, dst, back in (("A", "G_AB", "G_BA"), ("B", "G_BA", "G_AB")):
            x = to_float((self.data.a if src == "A" else self.data.b)[:n])
            there = translate_batch(tr.ema_nets.get(dst, tr.nets[dst]), x)
            again = translate_batch(tr.ema_nets.get(back, tr.nets[back]), there)
            rows += list(zip(x, there, again))
        return save_triplets(path, rows)

    def state_dict(self) -> dict:
        return {"pool_A": self.pools["A"].state_dict(), "pool_B": self.pools["B"].state_dict(),
                "pool_rng": self.pool_rng.get_state(), "jitter": self.jitter.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        for domain in ("A", "B"):
            if f"pool_{domain}" in state:
                self.pools[domain].load_state_dict(state[f"pool_{domain}"])
        if "pool_rng" in state:
            self.pool_rng.set_state(state["pool_rng"])
        self.jitter.load_state_dict(state.get("jitter", {}))
