"""The round: ``d_steps`` D updates, then one G update (Goodfellow et al. 2014, Algorithm 1).

The game (:mod:`ganforge.games`) gives each update's loss as named, weighted terms; these
functions own ``zero_grad``, ``backward``, ``step``, gradient clipping, EMA and the counters, the
same for every game, and report every term and statistic.
"""

from __future__ import annotations

import torch

from ganforge.engine.optim import grad_norm, update_ema
from ganforge.engine.stats import report


def report_all(values: dict[str, torch.Tensor]) -> dict[str, float]:
    """Turn 0-dim tensors into floats with a single device sync, and report each."""
    numbers = torch.stack([v.detach().float().reshape(()) for v in values.values()]).tolist()
    out = dict(zip(values.keys(), numbers))
    for k, v in out.items():
        report(k, v)
    return out


def _side(tr, names) -> list[torch.nn.Module]:
    return [tr.nets[n] for n in names]


def _params(nets):
    return [p for net in nets for p in net.parameters()]


def d_step(tr) -> dict[str, float]:
    """One update of the D side on the game's D loss; returns its statistics.

    With several processes each rank takes its slice of the global batch (see
    :mod:`ganforge.engine.distributed`).
    """
    d_nets = _side(tr, tr.game.d_side)
    for net in d_nets:
        net.requires_grad_(True)
    with tr.autocast():
        terms = tr.game.d_loss(tr)
    tr.opt_d.zero_grad(set_to_none=True)
    terms.total.backward()
    values = dict(terms.values)
    values["d_grad_norm"] = grad_norm(_params(d_nets), tr.cfg.optim.grad_clip)
    tr.opt_d.step()
    tr.game.after_d_update(tr)
    tr.d_updates += 1
    tr.augment.after_d_update(tr.d_updates)  # ADA adjusts p every 4 D updates
    return report_all(values)


def g_step(tr) -> dict[str, float]:
    """One update of the G side against the frozen D side; it ends a round (``tr.step_count`` + 1)."""
    d_nets = _side(tr, tr.game.d_side)
    for net in d_nets:
        net.requires_grad_(False)  # G's loss needs D's input gradients, not its weight gradients
    with tr.autocast():
        terms = tr.game.g_loss(tr)
    tr.opt_g.zero_grad(set_to_none=True)
    terms.total.backward()
    for net in d_nets:
        net.requires_grad_(True)
    values = dict(terms.values)
    values["g_grad_norm"] = grad_norm(_params(_side(tr, tr.game.g_side)), tr.cfg.optim.grad_clip)
    tr.opt_g.step()
    for name, averaged in tr.ema_nets.items():
        update_ema(averaged, tr.nets[name], tr.step_count, tr.cfg.optim.ema)
    tr.g_updates += 1
    tr.step_count += 1
    return report_all(values)
