"""Densities in low dimension: Gaussian KDE, the optimal discriminator D*, Jensen-Shannon estimate.

For a fixed generator the best discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)), and at
D* the minimax value is V = -log 4 + 2 JS(p_data || p_g) (Goodfellow et al. 2014, Prop. 1 and
Thm. 1). On 2D data we can estimate both sides: p_data exactly where the mixture is known, p_g with
a kernel density estimate of G's samples.

Memory never grows with the square of a sample count: KDEs are evaluated in chunks of at most
MAX_PAIRS point-sample pairs, and a mixture's exact density, which costs O(points x components),
is used only while it has at most MAX_EXACT_COMPONENTS components (:func:`closed_form_log_prob`);
a ``points`` file of a million rows is a mixture of a million Gaussians, whose density is then
estimated by a KDE of a fixed-seed sample instead.
"""

from __future__ import annotations

import math

import torch

LOG2 = math.log(2.0)
MAX_PAIRS = 2**22  # point-sample pairs evaluated at once (a 32 MB float64 block)
MAX_EXACT_COMPONENTS = 4096  # mixtures with more components get a KDE (see closed_form_log_prob)


def rows_per_chunk(n_cols: int, budget: int | None = None) -> int:
    """Rows of an (rows, n_cols) block that fit in ``budget`` (default MAX_PAIRS) entries, at least 1."""
    return max(1, (budget or MAX_PAIRS) // max(1, n_cols))


def closed_form_log_prob(data):
    """``data.log_prob`` where it is known in closed form and cheap to evaluate, else None.

    A mixture's exact log density costs O(points x components) time; past MAX_EXACT_COMPONENTS
    components (a user's ``points`` file of many rows) callers fall back to a KDE of real samples,
    which approximates the same density (each component is a Gaussian on one of those points).
    """
    log_prob = getattr(data, "log_prob", None)
    centers = getattr(data, "centers", None)
    if log_prob is None or (centers is not None and centers.shape[0] > MAX_EXACT_COMPONENTS):
        return None
    probe = torch.zeros(1, int(getattr(data, "dim", 2)))  # (1, dim): does it have a closed form at all?
    return log_prob if log_prob(probe) is not None else None


def scott_bandwidth(samples: torch.Tensor) -> float:
    """Scott's rule (Scott 1992) for an isotropic Gaussian kernel: n^(-1/(d+4)) * sigma.

    sigma is the root mean per-dimension variance of ``samples`` (n, d).
    """
    n, d = samples.shape
    sigma = float(samples.double().var(dim=0, unbiased=True).mean().sqrt()) if n > 1 else 1.0
    sigma = sigma if sigma > 0 else 1e-3
    return sigma * n ** (-1.0 / (d + 4))


def cv_bandwidth(samples: torch.Tensor, n_candidates: int = 24, max_points: int = 1000) -> float:
    """Bandwidth that maximises the leave-one-out log likelihood of ``samples`` (n, d).

    Scott's rule assumes one Gaussian blob and over-smooths tight mixtures (ring8 has std 0.01
    but an overall spread near 0.7); cross-validated likelihood (Duin 1976) adapts to the modes.
    Candidates span 1/100 to 2 times Scott's bandwidth on a log grid.
    """
    x = samples.detach().double().cpu()[:max_points]  # (n, d)
    n, d = x.shape
    if n < 3:
        return scott_bandwidth(x)
    scott = scott_bandwidth(x)
    d2 = torch.cdist(x, x).pow(2)  # (n, n)
    d2.fill_diagonal_(float("inf"))  # leave one out
    best_h, best_ll = scott, -math.inf
    for h in torch.logspace(math.log10(scott / 100), math.log10(scott * 2), n_candidates, dtype=torch.float64):
        h = float(h)
        log_k = -0.5 * d2 / h**2 - 0.5 * d * math.log(2 * math.pi * h**2)  # (n, n)
        ll = float((torch.logsumexp(log_k, dim=1) - math.log(n - 1)).mean())
        if ll > best_ll:
            best_h, best_ll = h, ll
    return best_h


def kde_log_prob(points: torch.Tensor, samples: torch.Tensor, bandwidth: float | None = None) -> torch.Tensor:
    """Log density at ``points`` (m, d) of a Gaussian KDE on ``samples`` (n, d) -> (m,).

    The kernel is isotropic N(0, h^2 I) with h = ``bandwidth``, or Scott's rule when None:
    log p(x) = logsumexp_i(-|x - s_i|^2 / 2h^2) - log n - d/2 log(2 pi h^2). Computed in float64.
    """
    if points.ndim != 2 or samples.ndim != 2 or points.shape[1] != samples.shape[1]:
        raise ValueError(f"points (m, d) and samples (n, d) must share d; got {tuple(points.shape)}, {tuple(samples.shape)}")
    s = samples.detach().double().cpu()  # (n, d)
    p = points.detach().double().cpu()  # (m, d)
    n, d = s.shape
    h = float(bandwidth) if bandwidth is not None else scott_bandwidth(s)
    if not h > 0:
        raise ValueError(f"bandwidth must be > 0, got {h}")
    out = torch.empty(p.shape[0], dtype=torch.float64)
    log_norm = math.log(n) + 0.5 * d * math.log(2 * math.pi * h**2)
    step = rows_per_chunk(n)  # chunks keep the (chunk, n) matrix within MAX_PAIRS entries
    for start in range(0, p.shape[0], step):
        d2 = torch.cdist(p[start : start + step], s).pow(2)  # (chunk, n)
        out[start : start + step] = torch.logsumexp(-0.5 * d2 / h**2, dim=1) - log_norm
    return out


def optimal_discriminator(points: torch.Tensor, log_p_data: torch.Tensor, log_p_g: torch.Tensor) -> torch.Tensor:
    """D*(x) = p_data / (p_data + p_g) at ``points`` (m, d), from log densities (m,) -> (m,).

    Computed as sigmoid(log p_data - log p_g), which never over- or underflows. Where both
    densities are zero (both logs -inf) D* is undefined; we return 0.5 there.
    """
    if log_p_data.shape != log_p_g.shape or log_p_data.shape[0] != points.shape[0]:
        raise ValueError("points (m, d), log_p_data (m,) and log_p_g (m,) must agree on m")
    a, b = log_p_data.double(), log_p_g.double()
    both_zero = torch.isneginf(a) & torch.isneginf(b)
    diff = torch.where(both_zero, torch.zeros_like(a), a - b)  # (m,)
    return torch.sigmoid(diff)


def js_divergence(
    real_samples: torch.Tensor,
    fake_samples: torch.Tensor,
    log_prob_data=None,
    bandwidth: float | None = None,
) -> float:
    """Monte-Carlo estimate of JS(p_data || p_g) in nats, in [0, log 2].

    JS = 1/2 E_{x~p_data}[log(2 p_data / (p_data + p_g))] + 1/2 E_{x~p_g}[log(2 p_g / (p_data + p_g))],
    averaged over ``real_samples`` (n, d) and ``fake_samples`` (m, d). log p_data is the exact
    ``log_prob_data(x) -> (n,)`` when given (e.g. a Gaussian mixture's), a KDE of the real samples
    otherwise; log p_g is always a KDE of the fake samples. The KDE bandwidth is ``bandwidth`` or,
    when None, chosen by leave-one-out likelihood (:func:`cv_bandwidth`) on the real samples so that
    both KDEs smooth the same way. Identical sample sets give exactly 0.
    """
    real = real_samples.detach().double().cpu()  # (n, d)
    fake = fake_samples.detach().double().cpu()  # (m, d)
    h = float(bandwidth) if bandwidth is not None else cv_bandwidth(real)

    def log_p(x):  # (k, d) -> (k,)
        if log_prob_data is not None:
            out = log_prob_data(x.float())
            if out is not None:
                return out.double().cpu()
        return kde_log_prob(x, real, h)

    def log_mix(lp, lq):  # log((p + q) / 2)
        return torch.logaddexp(lp, lq) - LOG2

    lp_r, lq_r = log_p(real), kde_log_prob(real, fake, h)  # at real points
    lp_f, lq_f = log_p(fake), kde_log_prob(fake, fake, h)  # at fake points
    term_r = (lp_r - log_mix(lp_r, lq_r)).nan_to_num(0.0, posinf=LOG2, neginf=0.0)
    term_f = (lq_f - log_mix(lp_f, lq_f)).nan_to_num(0.0, posinf=LOG2, neginf=0.0)
    js = 0.5 * float(term_r.mean()) + 0.5 * float(term_f.mean())
    return min(max(js, 0.0), LOG2)
