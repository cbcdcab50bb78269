"""The StyleGAN parts of the GAN game's G calls: style mixing and the lazy path-length term.

Both act only for a generator that takes per-layer styles (``num_ws``: :mod:`ganforge.nets.stylegan`),
so other generators see exactly the calls (and random draws) they always had. Every random draw
comes from the engine's seeded generator ``tr.noise_gen`` (saved in checkpoints), so resume stays
bit-exact.
"""

from __future__ import annotations

import torch

from ganforge.games.base import Terms
from ganforge.nets.stylegan import draw_crossover
from ganforge.objectives import path_length_penalty

PL_BATCH_SHRINK = 2  # the path-length batch is this many times smaller than the training batch (StyleGAN2)


def mixing_inputs(tr, n: int) -> dict:
    """Extra G inputs for ``n`` samples (before sharding): a second z and a crossover layer per sample
    (style-mixing regularisation, Karras et al. 2019 sec. 3.1, probability ``model.style_mixing``);
    {} for a G without styles or with mixing off."""
    num_ws = getattr(tr.G, "num_ws", 0)
    p = tr.cfg.model.style_mixing
    if not num_ws or p <= 0:
        return {}
    z_mix = tr.sample_z(n)  # (n, z_dim)
    crossover = draw_crossover(n, num_ws, p, tr.noise_gen).to(tr.device)  # (n,)
    return {"z_mix": tr.dist.shard(z_mix), "crossover": tr.dist.shard(crossover)}


def path_length_due(tr) -> bool:
    """Whether this G update adds the path-length term: ``loss.pl_weight`` > 0, every ``loss.pl_every``
    G updates (lazy regularisation, Karras et al. 2020 sec. 3.1), for a G with styles."""
    w = tr.cfg.loss
    return w.pl_weight > 0 and getattr(tr.G, "num_ws", 0) > 0 and tr.g_updates % w.pl_every == 0


def add_path_length(tr, terms: Terms) -> None:
    """Add the path-length penalty (Karras et al. 2020 sec. 3.2) to G's terms when it is due, weighted
    ``pl_weight * pl_every``, on fresh fakes from a batch ``PL_BATCH_SHRINK`` times smaller; G's
    ``pl_mean`` buffer (saved with G) keeps the running mean of the path lengths. Reported as "pl"."""
    if not path_length_due(tr):
        return
    w = tr.cfg.loss
    n = max(1, tr.cfg.train.batch_size // PL_BATCH_SHRINK)
    z, labels = tr.sample_z(n), tr.sample_labels(n)
    mix = mixing_inputs(tr, n)
    z, labels = tr.dist.shard(z), tr.dist.shard(labels)
    fake, ws = tr.G_train(z, labels, return_ws=True, **mix)  # (n, C, H, W), (n, num_ws, w_dim)
    penalty, mean = path_length_penalty(fake.float(), ws, tr.G.pl_mean, generator=tr.noise_gen)
    with torch.no_grad():
        tr.G.pl_mean.copy_(mean)
    terms.add("pl", penalty, w.pl_weight * w.pl_every)
    terms.note("pl_mean", mean)
