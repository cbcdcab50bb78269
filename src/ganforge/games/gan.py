"""The GAN game: G(z, y) against D(x, y), unconditional or class-conditional.

One D update judges a real batch and a batch of detached fakes conditioned on the real batch's
classes, with the objective's D loss and the regularisers due now; one G update asks D to call
fresh fakes real (Goodfellow et al. 2014, Algorithm 1; the objective decides the exact losses).
With ``model.reuse_fakes`` (and one D update per round) the G update judges the D update's fakes
instead: one G forward per round, as in PyTorch's DCGAN example.
"""

from __future__ import annotations

import torch

from ganforge.data import is_point_data
from ganforge.errors import ConfigError
from ganforge.games.base import Game, Terms
from ganforge.games.style import add_path_length, mixing_inputs
from ganforge.nets import build_networks
from ganforge.nets.spec import NetworkSpec
from ganforge.objectives import minimax_value


class GANGame(Game):
    name = "gan"
    _fakes = None  # model.reuse_fakes: (fakes with their graph, labels) from the D update to the G update

    def spec(self) -> NetworkSpec:
        """Shape of one sample and, for a conditional model, the classes and their frequencies: a
        conditional G is trained and sampled with classes drawn as often as the data has them."""
        data, cfg = self.data, self.cfg
        if cfg.model.conditional and getattr(data, "labels", None) is None:
            raise ConfigError(f"model.conditional needs a labelled dataset; {cfg.data.name!r} has no labels "
                              f"(data.clusters=K labels it by K clusters of its pixels)")
        if cfg.data.clusters and not cfg.model.conditional:
            raise ConfigError("data.clusters makes pseudo-labels for a conditional model; set model.conditional=true")
        shape = (data.dim,) if is_point_data(data) else tuple(data.shape)
        n_classes = cfg.model.n_classes or getattr(data, "n_classes", 0)
        prior = None
        if cfg.model.conditional:
            prior = torch.bincount(data.labels, minlength=n_classes).double().tolist()
        return NetworkSpec(shape, n_classes, prior)

    def build(self, spec):
        G, D = build_networks(self.cfg.model, spec.data_shape, spec.n_classes)
        if self.cfg.data.clusters and self.cfg.model.conditional and len(spec.data_shape) == 1:
            # self-conditioned points: D labels an unlabelled point by its cluster (ganforge.data.clusters);
            # rebuilt without the data, the centroids come from the checkpoint's weights
            from ganforge.data.clusters import CentroidLabelledD

            centroids = getattr(self.data, "centroids", None)
            D = CentroidLabelledD(D, centroids if centroids is not None else
                                  torch.zeros(self.cfg.data.clusters, spec.data_shape[0]))
        return {"G": G, "D": D}

    def d_loss(self, tr) -> Terms:
        B, shard = tr.cfg.train.batch_size, tr.dist.shard
        real, labels = tr.real_batch(B)
        real, labels, z = shard(real), shard(labels), shard(tr.sample_z(B))
        if tr.cfg.model.reuse_fakes:
            # G's update of this round judges these very fakes against the updated D, so their graph
            # is kept (one G forward per round, as PyTorch's DCGAN example); D's loss sees them detached
            fake = tr.G_train(z, labels, **mixing_inputs(tr, B)).float()  # (B, ...) conditioned on the real batch's classes
            self._fakes, fake = (fake, labels), fake.detach()
        else:
            with torch.no_grad():
                fake = tr.G(z, labels, **mixing_inputs(tr, B)).float()  # fakes conditioned on the real batch's classes
        # D sees real and fake through the same augmentation (tr.augment is the identity when off)
        if tr.cfg.model.d_norm == "batch":
            # batch norm in D: real and fake in two forwards, each normalised by its own batch (DCGAN)
            if tr.regularizers:
                raise ConfigError("model.d_norm batch cannot be combined with a gradient penalty or R1: "
                                  "set model.d_norm=none or the penalty's weight to 0")
            real_logits = tr.D_train(tr.augment(real), labels).float()  # (B / pack,)
            fake_logits = tr.D_train(tr.augment(fake), labels).float()  # (B / pack,)
        else:
            # one forward over real and fake together: D has no batch norm, so this equals two calls,
            # and DDP sees a single forward per backward
            both_labels = torch.cat([labels, labels]) if labels is not None else None
            logits = tr.D_train(torch.cat([tr.augment(real), tr.augment(fake)]), both_labels).float()  # (2B / pack,)
            real_logits, fake_logits = logits.chunk(2)
        tr.augment.observe(real_logits)  # ADA's r_t = E[sign(D(real))]
        terms = Terms()
        terms.add("d_loss", tr.objective.d_loss(real_logits, fake_logits))
        for reg in tr.regularizers_due():
            terms.add(reg.name, reg.penalty(lambda x: tr.D(tr.augment(x), labels), real, fake, tr.noise_gen), reg.scale())
        with torch.no_grad():
            terms.note("value", minimax_value(real_logits, fake_logits))
            terms.note("d_real", torch.sigmoid(real_logits).mean())
            terms.note("d_fake", torch.sigmoid(fake_logits).mean())
            terms.note("real_logit", real_logits.mean())
            terms.note("fake_logit", fake_logits.mean())
            terms.note("d_acc", 0.5 * ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean()))
        return terms

    def g_loss(self, tr) -> Terms:
        B, shard = tr.cfg.train.batch_size, tr.dist.shard
        if self._fakes is not None:  # model.reuse_fakes: the fakes of this round's D update, graph kept
            (fake, labels), self._fakes = self._fakes, None
        else:
            z = tr.sample_z(B)
            labels = tr.sample_labels(B)
            z, labels = shard(z), shard(labels)
            fake = tr.G_train(z, labels, **mixing_inputs(tr, B))
        fake_logits = tr.D(tr.augment(fake), labels).float()
        terms = Terms()
        terms.add("g_loss", tr.objective.g_loss(fake_logits))
        add_path_length(tr, terms)  # StyleGAN2's lazy path-length term, when due
        terms.note("d_fake_g", torch.sigmoid(fake_logits.detach()).mean())
        return terms

    def save_samples(self, tr, path, n: int = 64):
        """A grid of images (one row per class when conditional) or a scatter over the real points.

        The latent noise is the same at every round (seeded by ``train.seed``), so pictures compare.
        """
        from ganforge.viz import save_image_grid, save_scatter

        fixed = torch.Generator(tr.device).manual_seed(tr.cfg.train.seed + 3)
        if is_point_data(tr.data):
            fake = tr.generate(2000, generator=fixed)
            real = tr.data.sample(2000, torch.Generator().manual_seed(tr.cfg.train.seed + 4))
            return save_scatter(real, fake, path, title=f"{tr.cfg.data.name}, round {tr.step_count}",
                                centers=tr.data.centers)
        if tr.cfg.model.conditional:
            per = max(1, n // tr.n_classes)
            labels = torch.arange(tr.n_classes).repeat_interleave(per)
            return save_image_grid(tr.generate(len(labels), labels=labels, generator=fixed), path, nrow=per)
        return save_image_grid(tr.generate(n, generator=fixed), path)

    def after_d_update(self, tr) -> None:
        if tr.objective.clip_weights:  # the Wasserstein critic's Lipschitz bound (Arjovsky et al. 2017)
            with torch.no_grad():
                for p in tr.D.parameters():
                    p.clamp_(-tr.cfg.loss.clip, tr.cfg.loss.clip)
