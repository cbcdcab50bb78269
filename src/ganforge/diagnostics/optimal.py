"""The optimal discriminator on low-dimensional data, and how far the trained D is from it.

For a fixed G, D*(x) = p_data(x) / (p_data(x) + p_g(x)) (Goodfellow et al. 2014, Prop. 1). On 2D
data we know p_data exactly (mixtures) or by KDE, and estimate p_g by a KDE of G's samples, so we
can say how close the trained D is to D* and estimate JS(p_data || p_g), which the minimax game
minimises (V(D*, G) = -log 4 + 2 JS).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganforge.metrics.density import cv_bandwidth, js_divergence, kde_log_prob, optimal_discriminator


@dataclass
class OptimalDProbe:
    d_gap: float | None  # mean |D(x) - D*(x)| over real and fake points; None when D is no probability
    js: float  # Jensen-Shannon estimate, nats, in [0, log 2]
    bandwidth: float  # KDE bandwidth used for p_g (and p_data when its density is not known)
    n_real: int
    n_fake: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def d_star_at(points: torch.Tensor, real: torch.Tensor, fake: torch.Tensor, log_prob_data=None,
              bandwidth: float | None = None) -> torch.Tensor:
    """D*(points) (m,) for data with exact ``log_prob_data`` (or a KDE of ``real``) against a KDE of ``fake``."""
    h = bandwidth if bandwidth is not None else cv_bandwidth(real)
    lp = log_prob_data(points.float()) if log_prob_data is not None else None
    lp = lp.double().cpu() if lp is not None else kde_log_prob(points, real, h)
    return optimal_discriminator(points, lp, kde_log_prob(points, fake, h))


def probe_optimal_discriminator(
    real: torch.Tensor,
    fake: torch.Tensor,
    d_prob_fn=None,
    log_prob_data=None,
    bandwidth: float | None = None,
) -> OptimalDProbe:
    """Compare D with D* on ``real`` (n, d) and ``fake`` (m, d) points and estimate JS.

    ``d_prob_fn(x) -> (k,)`` gives D's probability that x is real (sigmoid of its logit, minimax
    family only); without it only JS is computed.
    """
    real, fake = real.detach().double().cpu(), fake.detach().double().cpu()
    h = bandwidth if bandwidth is not None else cv_bandwidth(real)
    gap = None
    if d_prob_fn is not None:
        points = torch.cat([real, fake])  # (n + m, d): where D's answer matters
        d_star = d_star_at(points, real, fake, log_prob_data, h)  # (n + m,)
        d = d_prob_fn(points.float()).double().cpu().flatten()  # (n + m,)
        gap = float((d - d_star).abs().mean())
    js = js_divergence(real, fake, log_prob_data, bandwidth=h)
    return OptimalDProbe(d_gap=gap, js=js, bandwidth=float(h), n_real=real.shape[0], n_fake=fake.shape[0])
