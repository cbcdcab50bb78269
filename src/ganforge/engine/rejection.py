"""Discriminator rejection sampling (Azadi et al. 2019): a sampling-time correction of a trained G.

If D*(x) = p_data(x) / (p_data(x) + p_g(x)) is the optimal discriminator for a fixed G, then
exp(logit D*(x)) = p_data(x) / p_g(x), and accepting each sample of G with probability
exp(logit(x) - M), M the largest logit, is rejection sampling from p_data. Samples between modes
(where p_data is near 0) are dropped and under-produced modes are kept more often.

The D left by training is rarely optimal for the final G, and a packed D (PacGAN) judges groups of
samples, not single ones, so :func:`fit_density_ratio` first trains a ratio estimator: an unpacked D
of the same family, started from the trained D when that one is unpacked, trained with the logistic
loss to tell real data from the frozen generator's samples (DRS, sec. 3.2 "keep training D").

The corrected samples are no longer G's; report the raw generator's figures beside them.
"""

from __future__ import annotations

import dataclasses
import time

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.engine.batches import make_stream
from ganforge.errors import ConfigError, GanforgeError
from ganforge.nets import build_networks


def fit_density_ratio(trainer, steps: int = 0, seconds: float = 0.0, batch: int = 0,
                      lr: float | None = None, ema: bool = True) -> nn.Module:
    """An unpacked D trained to separate real data from ``trainer``'s (frozen) G; returns it in eval mode.

    Trains for ``steps`` updates, or for ``seconds`` of wall time when ``steps`` is 0. ``batch`` and
    ``lr`` default to the run's batch size and D learning rate; ``ema`` picks G_ema's samples.
    """
    if trainer.cfg.model.conditional:
        raise ConfigError("rejection sampling supports unconditional models only")
    if steps <= 0 and seconds <= 0:
        raise ConfigError("fit_density_ratio needs steps > 0 or seconds > 0")
    cfg = trainer.cfg
    model = dataclasses.replace(cfg.model, pack=1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.train.seed + 3)
        D = build_networks(model, trainer.data_shape, trainer.n_classes)[1].to(trainer.device)
    if cfg.model.pack == 1:
        D.load_state_dict(trainer.D.state_dict())  # warm start: keep training the game's D
    D.train()
    o = cfg.optim
    opt = torch.optim.Adam(D.parameters(), lr=lr or o.lr_d, betas=(o.beta1, o.beta2))
    B = batch or cfg.train.batch_size
    noise = torch.Generator(trainer.noise_gen.device).manual_seed(cfg.train.seed + 4)
    stream = make_stream(trainer.data, cfg.train.seed + 5)  # its own data order: training's is untouched
    t0, n = time.perf_counter(), 0
    while (n < steps) if steps > 0 else (time.perf_counter() - t0 < seconds):
        real = stream.next(B)[0].to(trainer.device)
        fake = trainer.generate(B, ema=ema, generator=noise).to(trainer.device)
        logits = D(torch.cat([real, fake]))  # (2B,)
        real_logits, fake_logits = logits[:B], logits[B:]
        loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        n += 1
    return D.eval().requires_grad_(False)


def acceptance_probability(logits: torch.Tensor, max_logit: float, gamma: float = 0.0,
                           eps: float = 1e-6) -> torch.Tensor:
    """DRS's acceptance sigmoid(F) with F = d - log(1 - exp(d - eps)) - gamma, d = logit - max_logit.

    With ``gamma`` = 0 this is exp(d) (up to ``eps``): exact rejection sampling under an optimal D.
    A negative ``gamma`` accepts more samples (a partial correction); positive accepts fewer.
    """
    d = (logits - max_logit).clamp(max=0.0)  # (n,) <= 0
    f = d - torch.log1p(-torch.exp(d - eps)) - gamma
    return torch.sigmoid(f)


@dataclasses.dataclass
class RejectionResult:
    samples: torch.Tensor  # (n, ...) accepted samples, on the CPU
    acceptance: float  # accepted / proposed
    proposed: int  # samples drawn from G


@torch.no_grad()
def rejection_sample(trainer, D_ratio: nn.Module, n: int, gamma: float = 0.0, quantile: float = 0.99,
                     ema: bool = True, generator: torch.Generator | None = None, burn_in: int = 10000,
                     max_proposals: int = 10_000_000) -> RejectionResult:
    """``n`` samples of G (G_ema when ``ema``) kept by discriminator rejection sampling.

    With ``quantile`` 1, M is the largest logit of ``burn_in`` proposals, raised whenever a larger
    one is seen (Azadi et al. 2019, algorithm 1): exact rejection sampling if D_ratio is exact.
    A ``quantile`` below 1 (default 0.99) sets M to that quantile of the burn-in logits and keeps
    every sample above it: a slightly partial correction that stays efficient when a few samples
    get extreme logits (a rough G rarely reaching the sharpest parts of the data, where the ratio is
    huge), which would otherwise make exact rejection keep almost nothing.
    Fails if fewer than ``n`` survive ``max_proposals``.
    """
    if not 0.0 < quantile <= 1.0:
        raise ConfigError(f"quantile must be in (0, 1], got {quantile}")
    g = generator or torch.Generator().manual_seed(0)
    dev = trainer.device

    def logits_of(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([D_ratio(x[i:i + 4096].to(dev)).float().cpu() for i in range(0, len(x), 4096)])

    burn = trainer.generate(burn_in, ema=ema, generator=g)
    max_logit = float(torch.quantile(logits_of(burn), quantile))
    kept, n_kept, proposed = [], 0, 0
    chunk = max(n, 1000)
    while n_kept < n:
        if proposed >= max_proposals:
            raise GanforgeError(f"rejection sampling kept {n_kept} of {proposed} proposals; "
                               f"lower quantile (or gamma below 0) to accept more")
        x = trainer.generate(chunk, ema=ema, generator=g)
        logits = logits_of(x)
        if quantile == 1.0:
            max_logit = max(max_logit, float(logits.max()))
        u = torch.rand(len(x), generator=g, device=g.device).cpu()
        keep = u < acceptance_probability(logits, max_logit, gamma)
        kept.append(x[keep])
        n_kept += int(keep.sum())
        proposed += len(x)
    samples = torch.cat(kept)[:n]
    return RejectionResult(samples=samples, acceptance=n_kept / proposed, proposed=proposed)
