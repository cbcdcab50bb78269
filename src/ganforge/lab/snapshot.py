"""What the page draws, computed from copies of G and D: one snapshot of the game.

A :class:`View` is fixed for a run (it changes only when the networks or the target change): the
view box, the grid on which D is evaluated, a fixed set of real points, a fixed batch of latent
codes (so that the fakes on screen move smoothly instead of being redrawn at random every frame)
and the latent mesh. :func:`take_snapshot` evaluates the current networks on it.

Large arrays travel as base64 strings of little-endian float32 (:func:`f32`); the page decodes them
with ``Float32Array``. That keeps a 40x40 heat map, 384 real and fake points, a 25x25 mesh and
384 arrows near 30 kB per snapshot and costs almost nothing to encode.
"""

from __future__ import annotations

import base64
import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganforge.metrics.density import (
    cv_bandwidth,
    js_divergence,
    kde_log_prob,
    optimal_discriminator,
)
from ganforge.metrics.modes import mode_coverage
from ganforge.objectives import EQUILIBRIUM_VALUE

HEAT_RES = 40  # D is evaluated on a HEAT_RES x HEAT_RES grid over the view box
MESH_RES = 25  # latent mesh: MESH_RES x MESH_RES vertices (2D latents) or 8 * MESH_RES points (1D)
CURVE_RES = 256  # 1D mode: points on the x axis for densities and D
N_SHOW = 384  # real and generated points drawn on screen
N_MAP = 48  # 1D mode: z -> G(z) lines drawn between the two axes
N_METRICS = 1000  # generated points behind modes captured, HQ% and the JS estimate
N_BANDWIDTH = 400  # real points on which the KDE bandwidth is cross-validated
N_ACCURACY = 500  # real and generated points each behind the three accuracies (D, D*, C2ST): 500 held out


def f32(t: torch.Tensor) -> str:
    """A tensor as base64 little-endian float32 (row-major), for ``Float32Array`` on the page."""
    arr = t.detach().to(torch.float32).contiguous().cpu().numpy()
    return base64.b64encode(arr.astype("<f4", copy=False).tobytes()).decode("ascii")


def latent_range(noise: str) -> tuple[float, float]:
    """The part of latent space the mesh covers: +-2.5 std for Gaussian noise, the box for uniform."""
    return (-1.0, 1.0) if noise == "uniform" else (-2.5, 2.5)


def heat_kind(family: str) -> str:
    """How D's output is shown: ``prob`` (a probability in [0, 1]) or ``score`` (an unbounded critic)."""
    return "prob" if family in ("minimax", "least-squares") else "score"


def d_display(logits: torch.Tensor, family: str) -> torch.Tensor:
    """D's raw outputs (n,) as drawn: sigmoid for the minimax family, clamped to [0, 1] for least
    squares (its targets are 0 and 1), unchanged for Wasserstein and hinge critics."""
    if family == "minimax":
        return torch.sigmoid(logits)
    if family == "least-squares":
        return logits.clamp(0.0, 1.0)
    return logits


@dataclass
class View:
    """The fixed frame of a run: where and on what the networks are evaluated."""

    dim: int  # data dimension (1 or 2)
    z_dim: int  # latent dimension
    lo: list[float]  # view box low corner, per data dimension
    hi: list[float]  # view box high corner
    grid: torch.Tensor  # (HEAT_RES^2, 2) row-major, y from hi to lo; or (CURVE_RES, 1) in 1D
    real: torch.Tensor  # (N_SHOW, dim) fixed real points
    z: torch.Tensor  # (N_SHOW, z_dim) fixed latent batch for the fakes on screen
    z_metrics: torch.Tensor  # (N_METRICS, z_dim) fixed latent batch for modes, HQ% and JS
    real_metrics: torch.Tensor  # (N_METRICS, dim) fixed real points for the three accuracies (D, D*, C2ST)
    mesh_z: torch.Tensor  # (rows * cols, z_dim) latent mesh vertices
    mesh_shape: tuple[int, int]  # (rows, cols); rows == 1 for a 1D latent
    log_p_data: torch.Tensor  # (len(grid),) log density of the data on the grid (exact or KDE)
    bandwidth: float  # KDE bandwidth for p_g and the JS estimate, chosen once on real data
    centers: torch.Tensor | None  # (K, dim) mode centres when known
    std: float | None  # mode std when known
    log_prob: object  # the distribution's exact log density function, or None


_DENSITY_CACHE: "OrderedDict[str, tuple]" = OrderedDict()  # key -> (lo, hi, grid, log_p_data, bandwidth)
_DENSITY_CACHE_SIZE = 16
_lock = threading.Lock()


def make_view(dist, z_dim: int, noise: str, sample_z, seed: int = 0, key: str | None = None) -> View:
    """Build the view of distribution ``dist`` for a generator with ``z_dim`` latents.

    ``sample_z(n, generator)`` draws latent codes the way the trainer does (Gaussian or uniform).
    ``key`` names the distribution (e.g. its target name); views of the same key share the costly
    parts (view box, data density on the grid, KDE bandwidth), so a rebuild that keeps the target
    is quick.
    """
    gen = torch.Generator().manual_seed(seed + 1234)
    with _lock:
        cached = _DENSITY_CACHE.get(key) if key is not None else None
        if cached is not None:
            _DENSITY_CACHE.move_to_end(key)
    if cached is None:
        cached = _data_density(dist, torch.Generator().manual_seed(seed + 99))
        if key is not None:
            with _lock:
                _DENSITY_CACHE[key] = cached
                while len(_DENSITY_CACHE) > _DENSITY_CACHE_SIZE:
                    _DENSITY_CACHE.popitem(last=False)
    lo, hi, grid, log_p_data, bandwidth = cached
    real = dist.sample(N_SHOW, gen)  # (N, dim)
    z = sample_z(N_SHOW, gen)  # (N, z_dim)
    z_metrics = sample_z(N_METRICS, gen)  # (N_METRICS, z_dim)
    real_metrics = dist.sample(N_METRICS, gen)  # (N_METRICS, dim)
    mesh_z, mesh_shape = _latent_mesh(z_dim, noise, dist.dim)
    exact = dist.log_prob(grid[:2]) is not None
    return View(
        dim=dist.dim, z_dim=z_dim, lo=lo, hi=hi, grid=grid, real=real, z=z, z_metrics=z_metrics,
        real_metrics=real_metrics, mesh_z=mesh_z,
        mesh_shape=mesh_shape, log_p_data=log_p_data, bandwidth=bandwidth,
        centers=dist.centers, std=dist.std, log_prob=dist.log_prob if exact else None,
    )


def warm_cache(named: dict) -> None:
    """Precompute the costly part of the view for each ``key -> distribution`` of ``named`` (run
    in the background at start-up, so that the first switch to a target is as quick as the next)."""
    for key, dist in named.items():
        with _lock:
            if key in _DENSITY_CACHE:
                continue
        entry = _data_density(dist, torch.Generator().manual_seed(99))
        with _lock:
            _DENSITY_CACHE.setdefault(key, entry)


def _data_density(dist, gen: torch.Generator) -> tuple:
    """View box, evaluation grid, data log density on it and KDE bandwidth of ``dist``."""
    lo, hi = [float(v) for v in dist.bounds[0]], [float(v) for v in dist.bounds[1]]
    if dist.dim == 2:
        # a square box so that circles look round
        cx, cy = (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2
        half = max(hi[0] - lo[0], hi[1] - lo[1]) / 2
        lo, hi = [cx - half, cy - half], [cx + half, cy + half]
        xs = torch.linspace(lo[0], hi[0], HEAT_RES)  # (R,)
        ys = torch.linspace(hi[1], lo[1], HEAT_RES)  # (R,) top row first, as an image
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")  # (R, R) each
        grid = torch.stack([gx.flatten(), gy.flatten()], dim=1)  # (R*R, 2)
    elif dist.dim == 1:
        grid = torch.linspace(lo[0], hi[0], CURVE_RES).unsqueeze(1)  # (C, 1)
    else:
        raise ValueError(f"the lab shows 1D and 2D data; this distribution has {dist.dim} dimensions")
    bandwidth = cv_bandwidth(dist.sample(N_BANDWIDTH, gen))
    exact = dist.log_prob(grid[:2]) is not None
    log_p_data = dist.log_prob(grid) if exact else kde_log_prob(grid, dist.sample(2000, gen), bandwidth)
    return lo, hi, grid, log_p_data.double(), bandwidth


def _latent_mesh(z_dim: int, noise: str, data_dim: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Latent mesh vertices: a line for 1D latents (or 1D data), otherwise a square grid on the
    first two latent coordinates with the others at 0 (a 2D slice of latent space)."""
    a, b = latent_range(noise)
    if z_dim == 1 or data_dim == 1:
        n = 8 * MESH_RES if data_dim == 2 else N_MAP
        t = torch.linspace(a, b, n)  # (n,)
        z = torch.zeros(n, z_dim)
        z[:, 0] = t
        return z, (1, n)
    t = torch.linspace(a, b, MESH_RES)  # (M,)
    u, v = torch.meshgrid(t, t, indexing="ij")  # (M, M)
    z = torch.zeros(MESH_RES * MESH_RES, z_dim)
    z[:, 0], z[:, 1] = u.flatten(), v.flatten()
    return z, (MESH_RES, MESH_RES)


class Nets:
    """Private copies of G and D that a snapshot is computed on, off the training thread.

    The training thread copies its weights in (:meth:`sync`) only while no snapshot is being
    computed, so a snapshot always sees one consistent state of both networks.
    """

    def __init__(self, G: torch.nn.Module, D: torch.nn.Module, objective, pack: int):
        self.G = copy.deepcopy(G).eval().requires_grad_(False)
        self.D = copy.deepcopy(D).eval().requires_grad_(False)
        self.objective = objective  # the trainer's objective (pure functions of logits)
        self.pack = pack  # PacGAN packing of D

    def sync(self, G: torch.nn.Module, D: torch.nn.Module, objective) -> None:
        """Copy the current weights (and buffers, e.g. spectral-norm vectors) of ``G`` and ``D``."""
        with torch.no_grad():
            for dst, src in ((self.G, G), (self.D, D)):
                for a, b in zip(dst.state_dict().values(), src.state_dict().values()):
                    a.copy_(b)
        self.objective = objective

    def d_logits(self, x: torch.Tensor) -> torch.Tensor:
        """D's raw output per point (n, dim) -> (n,), each point replicated ``pack`` times."""
        with torch.no_grad():
            return packed_logits(self.D, x, self.pack)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """G(z): (n, z_dim) -> (n, dim)."""
        with torch.no_grad():
            return self.G(z)


def packed_logits(D, x: torch.Tensor, pack: int) -> torch.Tensor:
    """D's raw output for each point of ``x`` (n, dim) -> (n,), each point replicated ``pack``
    times when D judges packs of samples (PacGAN). Differentiable in ``x``."""
    xr = x.repeat_interleave(pack, dim=0) if pack > 1 else x  # (n * pack, dim)
    return D(xr).reshape(-1)  # (n,)


def generator_arrows(nets: Nets, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The direction G's update pushes each generated point, -d g_loss / dx per point (n, dim),
    and D's raw output on those points (n,).

    The G loss is a mean over the batch, so the gradient is rescaled by n to be per sample.
    """
    with torch.enable_grad():
        x = fake.detach().clone().requires_grad_(True)  # (n, dim)
        logits = packed_logits(nets.D, x, nets.pack)  # (n,)
        (grad,) = torch.autograd.grad(nets.objective.g_loss(logits), x)  # (n, dim)
    return -grad * x.shape[0], logits.detach()


def value_terms(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> dict:
    """The two terms of V(D, G) with D = sigmoid(logits): E[log D(x)] and E[log(1 - D(G(z)))]."""
    log_d_real = float((-F.softplus(-real_logits)).mean())
    log_one_minus_d_fake = float((-F.softplus(fake_logits)).mean())
    return {
        "log_d_real": log_d_real,
        "log_one_minus_d_fake": log_one_minus_d_fake,
        "value": log_d_real + log_one_minus_d_fake,
        "equilibrium": EQUILIBRIUM_VALUE,
    }


def take_snapshot(nets: Nets, view: View) -> dict:
    """Evaluate the networks on ``view``: the arrays and numbers of one frame (a JSON-ready dict).

    D* is not included here (it costs a kernel density estimate over the whole grid); see
    :func:`optimal_d_grid`.
    """
    family = nets.objective.family
    n_real, n_grid = view.real.shape[0], view.grid.shape[0]
    fake = nets.generate(view.z)  # (N, dim)
    mesh = nets.generate(view.mesh_z)  # (M, dim)
    logits = nets.d_logits(torch.cat([view.real, view.grid]))  # (N + grid,) one pass for both
    real_logits, grid_logits = logits[:n_real], logits[n_real : n_real + n_grid]
    arrows, fake_logits = generator_arrows(nets, fake)  # (N, dim), (N,)
    d_grid = d_display(grid_logits, family)
    out = {
        "dim": view.dim,
        "z_dim": view.z_dim,
        "view": {"lo": view.lo, "hi": view.hi},
        "heat_kind": heat_kind(family),
        "family": family,
        "objective": nets.objective.name,
        "real": f32(view.real),
        "fake": f32(fake),
        "arrows": f32(arrows),
        "mesh": f32(mesh),
        "mesh_shape": list(view.mesh_shape),
        "d_real": float(d_display(real_logits, family).mean()),
        "d_fake": float(d_display(fake_logits, family).mean()),
        "terms": value_terms(real_logits, fake_logits),
    }
    if view.dim == 2:
        out["heat"] = f32(d_grid)
        out["heat_res"] = HEAT_RES
    else:
        out.update(_curves_1d(view, fake, d_grid))
    return out


NO_MASS_LOG = -12.0  # below max log density + this, neither distribution has mass: D* shown as 1/2


def optimal_d_grid(nets: Nets, view: View) -> str:
    """D* = p_data / (p_data + p_g) on the 2D grid, p_g a KDE of G's samples (base64 float32).

    D* is undefined where neither density has mass; there (both densities below e^-12 of the
    larger peak) it is shown as 1/2 instead of the ratio of two vanishing tails.
    """
    fake = nets.generate(view.z)  # (N, dim)
    log_p_g = kde_log_prob(view.grid, fake, view.bandwidth)  # (R*R,)
    d_star = optimal_discriminator(view.grid, view.log_p_data, log_p_g)  # (R*R,)
    log_mass = torch.maximum(view.log_p_data, log_p_g)  # (R*R,)
    empty = log_mass < log_mass.max() + NO_MASS_LOG
    return f32(torch.where(empty, torch.full_like(d_star, 0.5), d_star))


def _curves_1d(view: View, fake: torch.Tensor, d_grid: torch.Tensor) -> dict:
    """The GAN paper's figure: data density, generator density, D(x), D*, and z -> G(z) lines."""
    log_p_g = kde_log_prob(view.grid, fake, view.bandwidth)  # (C,)
    return {
        "x_grid": f32(view.grid[:, 0]),
        "p_data": f32(view.log_p_data.exp()),
        "p_g": f32(log_p_g.exp()),
        "d_curve": f32(d_grid),
        "dstar_curve": f32(optimal_discriminator(view.grid, view.log_p_data, log_p_g)),
        "z_line": f32(view.mesh_z[:, 0]),
        "z_range": [float(view.mesh_z[:, 0].min()), float(view.mesh_z[:, 0].max())],
    }


def sample_metrics(nets: Nets, view: View) -> dict:
    """Slower numbers, computed about once a second: modes captured, HQ%, Jensen-Shannon estimate.
    Who can tell real from fake (:func:`accuracies`) is refreshed on its own frames."""
    fake = nets.generate(view.z_metrics)  # (n, dim)
    out: dict = {}
    if view.centers is not None and view.std is not None:
        cov = mode_coverage(fake, view.centers, view.std)
        out.update(modes=cov.modes_captured, n_modes=cov.n_modes, hq=cov.hq_fraction)
    real = view.real
    out["js"] = js_divergence(real, fake[: real.shape[0]], view.log_prob, bandwidth=view.bandwidth)
    return out


def accuracies(nets: Nets, view: View, fake: torch.Tensor) -> dict:
    """Three readings of "can real be told from fake?" on the view's fixed real points and ``fake``
    (n, dim), each an accuracy on held-out points, half real and half fake (50% = cannot tell):

    * ``acc_d``: the game's own D, thresholded where its answer flips (probability 1/2, or score 0
      for hinge); None for a Wasserstein critic, whose offset is free;
    * ``acc_dstar``: the optimal D* = p_data / (p_data + p_g) against this G (Goodfellow et al.
      2014, Prop. 1), p_g by a KDE of the other half of the fakes: the best any D could do;
    * ``c2st``: a fresh k-NN classifier trained on one seeded half of each set and scored on the
      other (Lopez-Paz & Oquab 2017), with its interval and p-value. k-NN costs milliseconds here,
      so it refreshes with the other numbers.

    ``acc_d`` and ``acc_dstar`` are scored on the second half of the points, D*'s KDE fitted on the first.
    """
    from ganforge.metrics.c2st import c2st

    n = min(view.real_metrics.shape[0], fake.shape[0], N_ACCURACY)
    real, fake = view.real_metrics[:n].float(), fake[:n].float()  # (n, dim) each
    half = n // 2
    test = torch.cat([real[half:], fake[half:]])  # (n - half) real then (n - half) fake, held out
    truth = torch.cat([torch.ones(n - half), torch.zeros(n - half)])  # 1 = real
    family = nets.objective.family
    acc_d = None
    if family != "wasserstein":
        shown = d_display(nets.d_logits(test), family)  # (2 (n - half),)
        says_real = shown > (0.5 if heat_kind(family) == "prob" else 0.0)
        acc_d = float((says_real.float() == truth).float().mean())
    log_p_g = kde_log_prob(test, fake[:half], view.bandwidth)  # (2 (n - half),)
    log_p = view.log_prob(test).double() if view.log_prob is not None else kde_log_prob(test, real[:half], view.bandwidth)
    acc_dstar = float(((log_p > log_p_g).float() == truth).float().mean())  # D* > 1/2 where p_data > p_g
    verdict = c2st(real, fake, "knn", seed=0)
    return {"acc_d": acc_d, "acc_dstar": acc_dstar,
            "c2st": {"accuracy": verdict.accuracy, "ci_low": verdict.ci_low, "ci_high": verdict.ci_high,
                     "p_value": verdict.p_value, "n_test": verdict.n_test}}
