"""The adversarial round: ``d_steps`` D updates, then one G update (Goodfellow et al. 2014, Alg. 1).

Losses come from :mod:`ganforge.objectives` as pure functions of logits and regularisers from the
trainer's list (:mod:`ganforge.engine.regularizers`); these functions own ``zero_grad``,
``backward``, ``step``, clipping and EMA. They act on a :class:`~ganforge.engine.trainer.Trainer`
(its networks, optimizers, noise and data stream) and report every statistic they compute.
"""

from __future__ import annotations

import torch

from ganforge.engine.optim import grad_norm, update_ema
from ganforge.engine.regularizers import due
from ganforge.engine.stats import report
from ganforge.objectives import minimax_value


def report_all(values: dict[str, torch.Tensor]) -> dict[str, float]:
    """Turn 0-dim tensors into floats with a single device sync, and report each."""
    numbers = torch.stack([v.detach().float().reshape(()) for v in values.values()]).tolist()
    out = dict(zip(values.keys(), numbers))
    for k, v in out.items():
        report(k, v)
    return out


def d_step(tr) -> dict[str, float]:
    """One D update on a real batch and a batch of detached fakes; returns its statistics.

    With several processes each rank takes its slice of the global batch (see
    :mod:`ganforge.engine.distributed`).
    """
    B, shard = tr.cfg.train.batch_size, tr.dist.shard
    real, labels = tr.real_batch(B)
    real, labels, z = shard(real), shard(labels), shard(tr.sample_z(B))
    with torch.no_grad(), tr.autocast():
        fake = tr.G(z, labels).float()  # fakes conditioned on the real batch's classes
    tr.D.requires_grad_(True)
    with tr.autocast():
        loss, values, real_logits, fake_logits = _d_objective(tr, real, fake, labels)
    tr.opt_d.zero_grad(set_to_none=True)
    loss.backward()
    values["d_grad_norm"] = grad_norm(tr.D.parameters(), tr.cfg.optim.grad_clip)
    tr.opt_d.step()
    if tr.objective.clip_weights:  # the Wasserstein critic's Lipschitz bound (Arjovsky et al. 2017)
        with torch.no_grad():
            for p in tr.D.parameters():
                p.clamp_(-tr.cfg.loss.clip, tr.cfg.loss.clip)
    tr.d_updates += 1
    with torch.no_grad():
        values["value"] = minimax_value(real_logits, fake_logits)
        values["d_real"] = torch.sigmoid(real_logits).mean()
        values["d_fake"] = torch.sigmoid(fake_logits).mean()
        values["real_logit"] = real_logits.mean()
        values["fake_logit"] = fake_logits.mean()
        values["d_acc"] = 0.5 * ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean())
    return report_all(values)


def _d_objective(tr, real, fake, labels):
    """D's loss with the regularisers due now: (loss, values to report, real_logits, fake_logits)."""
    # one forward over real and fake together: D has no batch norm, so this equals two calls,
    # and DDP sees a single forward per backward
    both_labels = torch.cat([labels, labels]) if labels is not None else None
    logits = tr.D_train(torch.cat([real, fake]), both_labels).float()  # (2B / pack,)
    real_logits, fake_logits = logits.chunk(2)
    loss = tr.objective.d_loss(real_logits, fake_logits)
    values = {"d_loss": loss}
    for reg in due(tr.regularizers, tr.d_updates):
        penalty = reg.penalty(lambda x: tr.D(x, labels), real, fake, tr.noise_gen)
        loss = loss + reg.scale() * penalty
        values[reg.name] = penalty
    return loss, values, real_logits, fake_logits


def g_step(tr) -> dict[str, float]:
    """One G update against the current D; it ends a round (``tr.step_count`` grows by one)."""
    B, shard = tr.cfg.train.batch_size, tr.dist.shard
    z = tr.sample_z(B)
    labels = tr.sample_labels(B)
    z, labels = shard(z), shard(labels)
    tr.D.requires_grad_(False)  # G's loss needs D's input gradients, not its weight gradients
    with tr.autocast():
        fake_logits = tr.D(tr.G_train(z, labels), labels).float()
        loss = tr.objective.g_loss(fake_logits)
    tr.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    tr.D.requires_grad_(True)
    g_norm = grad_norm(tr.G.parameters(), tr.cfg.optim.grad_clip)
    tr.opt_g.step()
    if tr.G_ema is not None:
        update_ema(tr.G_ema, tr.G, tr.step_count, tr.cfg.optim.ema)
    tr.g_updates += 1
    tr.step_count += 1
    return report_all({"g_loss": loss, "g_grad_norm": g_norm, "d_fake_g": torch.sigmoid(fake_logits.detach()).mean()})
