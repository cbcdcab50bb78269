"""The report's pictures: matplotlib (Agg) figures rendered to PNG bytes.

Each function takes plain data (stats rows, metric lines, tensors) and returns PNG bytes, so the
HTML builder can embed them as base64 and the tests can check them without a display.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from ganforge.objectives import EQUILIBRIUM_VALUE
from ganforge.viz import series

LOG4 = -EQUILIBRIUM_VALUE  # log 4: V(D, G) at equilibrium is -LOG4


def fig_png(fig) -> bytes:
    """Render ``fig`` to PNG bytes and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _finish_round_plot(fig, ax, title: str) -> bytes:
    """Label the round axis, title and legend, then render ``fig`` to PNG bytes."""
    ax.set_xlabel("round")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig_png(fig)


def _mark_alerts(ax, alerts):
    colors = {"info": "tab:green", "warning": "tab:orange", "error": "tab:red"}
    for a in alerts:
        ax.axvline(a["step"], color=colors.get(a.get("severity"), "gray"), lw=0.8, alpha=0.5)


def plot_losses(rows, alerts=()) -> bytes:
    """D and G losses against rounds, with alert steps marked."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for key, label in (("d_loss", "D loss"), ("g_loss", "G loss")):
        ax.plot(*series(rows, key), lw=1, label=label)
    _mark_alerts(ax, alerts)
    return _finish_round_plot(fig, ax, "losses (vertical lines: alerts)")


def plot_d_outputs(rows, family: str) -> bytes:
    """Mean D(x) and D(G(z)) against the 0.5 line (minimax family), or the raw scores otherwise."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if family == "minimax":
        ax.plot(*series(rows, "d_real"), lw=1, label="mean D(x)")
        ax.plot(*series(rows, "d_fake"), lw=1, label="mean D(G(z))")
        if any("ada_p" in r for r in rows):  # adaptive augmentation's probability p (train.ada_target)
            ax.plot(*series(rows, "ada_p"), lw=1, ls=":", label="ADA's augmentation p")
        ax.axhline(0.5, color="gray", ls="--", lw=1, label="0.5: D cannot tell (equilibrium)")
        ax.set_ylim(-0.02, 1.02)
        return _finish_round_plot(fig, ax, "discriminator outputs")
    ax.plot(*series(rows, "real_logit"), lw=1, label="mean D(x) (raw score)")
    ax.plot(*series(rows, "fake_logit"), lw=1, label="mean D(G(z)) (raw score)")
    return _finish_round_plot(fig, ax, f"critic scores ({family} loss: equal scores = equilibrium)")


def plot_value(rows) -> bytes:
    """V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))] against its equilibrium value -log 4."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(*series(rows, "value"), lw=1, label="V(D, G)")
    ax.axhline(-LOG4, color="gray", ls="--", lw=1, label="-log 4 (equilibrium)")
    ax.axhline(0.0, color="tab:red", ls=":", lw=1, label="0 (perfect D)")
    return _finish_round_plot(fig, ax, "value of the game")


def plot_grad_norms(rows) -> bytes:
    """Gradient norms of G and D (log scale)."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for key, label in (("g_grad_norm", "|grad G|"), ("d_grad_norm", "|grad D|")):
        x, y = series(rows, key)
        ax.plot(x, np.maximum(y, 1e-12), lw=1, label=label)
    ax.set_yscale("log")
    return _finish_round_plot(fig, ax, "gradient norms (vanishing G gradients mean D has won)")


def plot_metrics(lines: list[dict]) -> bytes | None:
    """One small panel per metric name: value against round (None when there are no lines)."""
    by_name: dict[str, list[tuple[int, float]]] = {}
    for line in lines:
        if isinstance(line.get("value"), (int, float)):
            by_name.setdefault(line["metric"], []).append((line["step"], float(line["value"])))
    if not by_name:
        return None
    names = sorted(by_name)
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        pts = sorted(by_name[name])
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", ms=3, lw=1)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("round", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    return fig_png(fig)


def plot_surface(grid_x, grid_y, surface, real, fake, title: str, centers=None, vmin=0.0, vmax=1.0,
                 cmap="RdBu_r", label="D(x)") -> bytes:
    """A 2D field (e.g. D's decision surface) as filled contours, with real and fake points on top."""
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    cs = ax.contourf(grid_x, grid_y, surface, levels=np.linspace(vmin, vmax, 21), cmap=cmap, extend="both")
    fig.colorbar(cs, ax=ax, shrink=0.85, label=label)
    ax.scatter(real[:, 0], real[:, 1], s=2, c="black", alpha=0.35, label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=2, c="gold", alpha=0.6, label="generated")
    if centers is not None:
        ax.scatter(centers[:, 0], centers[:, 1], marker="x", s=25, c="tab:green", label="modes")
    ax.set_xlim(grid_x.min(), grid_x.max())
    ax.set_ylim(grid_y.min(), grid_y.max())
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper right", markerscale=3)
    fig.tight_layout()
    return fig_png(fig)


def plot_histogram_1d(real, fake, title: str) -> bytes:
    """Real vs generated histograms for 1D data."""
    fig, ax = plt.subplots(figsize=(4.6, 3.2))
    bins = np.linspace(min(real.min(), fake.min()), max(real.max(), fake.max()), 80)
    ax.hist(real[:, 0], bins=bins, alpha=0.5, density=True, label="real")
    ax.hist(fake[:, 0], bins=bins, alpha=0.5, density=True, label="generated")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig_png(fig)


def plot_equilibrium(d_steps, d_distance, c2st_points, family: str) -> bytes:
    """The two readings of equilibrium over training: the game's D (its equilibrium distance over a
    sliding window) above, a fresh classifier's held-out accuracy with its interval below.

    c2st_points: (round, accuracy, interval low, interval high, source) tuples.
    """
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5.2), sharex=True)
    top.plot(d_steps, d_distance, lw=1, color="tab:blue", label="the game's D: distance to equilibrium")
    top.axhline(0.0, color="gray", ls="--", lw=1, label="0: D cannot tell")
    top.set_ylabel("critic units" if family == "wasserstein" else "distance")
    top.set_title("the game's D (window of 100 rounds)", fontsize=9)
    top.legend(fontsize=8)
    markers = {"training monitor": "o", "ganforge eval": "s"}
    for source in sorted({p[4] for p in c2st_points}):
        pts = sorted(p for p in c2st_points if p[4] == source)
        x = [p[0] for p in pts]
        acc = np.array([p[1] for p in pts])
        err = np.array([[a - p[2] for a, p in zip(acc, pts)], [p[3] - a for a, p in zip(acc, pts)]])  # (2, k)
        err = np.maximum(err, 0.0)  # a hand-edited line whose interval misses its value still draws
        bottom.errorbar(x, acc, yerr=err, fmt=markers.get(source, "^") + "-", ms=4, lw=1, capsize=3,
                        label=f"fresh classifier ({source}), 95% interval")
    bottom.axhline(0.5, color="gray", ls="--", lw=1, label="50%: cannot tell (equilibrium)")
    bottom.set_ylim(0.4, 1.02)
    bottom.set_ylabel("held-out accuracy")
    bottom.set_title("a fresh classifier (C2ST) on real against generated samples", fontsize=9)
    bottom.set_xlabel("round")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    return fig_png(fig)
