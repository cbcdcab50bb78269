"""Pictures: image grids, 2D scatter plots and training curves, as PNG files.

Every picture is written atomically (:func:`ganforge.fileio.atomic_path`); a full disk leaves no
partial file and raises one :class:`~ganforge.errors.DiskFullError` line naming the picture.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganforge.fileio import atomic_path, disk_full_as_error


def _atomic_save(save, path, what: str) -> Path:
    """Call ``save(tmp)`` and rename the result onto ``path``; ``what`` names it in a disk-full error."""
    path = Path(path)
    with disk_full_as_error(f"{what} {path.name}", path.parent), atomic_path(path) as tmp:
        save(tmp)
    return path


def image_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile images (N, C, H, W) in [-1, 1] into one uint8 array (rows*H', cols*W', C)."""
    x = images.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().byte()  # (N, C, H, W)
    n, c, h, w = x.shape
    cols = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    grid = torch.zeros(c, rows * (h + pad) + pad, cols * (w + pad) + pad, dtype=torch.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        grid[:, top : top + h, left : left + w] = x[i]
    return grid.permute(1, 2, 0).numpy()  # (H_total, W_total, C)


def save_image_grid(images: torch.Tensor, path, nrow: int | None = None, scale: int | None = None) -> Path:
    """Write images (N, C, H, W) in [-1, 1] as one PNG grid, enlarged ``scale`` times (nearest).

    The default scale makes each image at least 56 pixels wide, so 8x8 digits stay readable.
    """
    scale = scale or max(1, -(-56 // images.shape[-1]))
    arr = image_grid(images, nrow)
    img = Image.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return _atomic_save(lambda p: img.save(p, format="PNG"), path, "the image grid")


def save_scatter(real: torch.Tensor, fake: torch.Tensor, path, title: str = "",
                 centers: torch.Tensor | None = None) -> Path:
    """Scatter plot of real vs generated points (2D; 1D data is drawn as histograms)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real, fake = real.detach().cpu().numpy(), fake.detach().cpu().numpy()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    if real.shape[1] == 1:
        bins = np.linspace(min(real.min(), fake.min()), max(real.max(), fake.max()), 80)
        ax.hist(real[:, 0], bins=bins, alpha=0.5, density=True, label="real", color="tab:blue")
        ax.hist(fake[:, 0], bins=bins, alpha=0.5, density=True, label="generated", color="tab:orange")
    else:
        ax.scatter(real[:, 0], real[:, 1], s=3, alpha=0.4, label="real", color="tab:blue")
        ax.scatter(fake[:, 0], fake[:, 1], s=3, alpha=0.6, label="generated", color="tab:orange")
        if centers is not None:
            c = centers.cpu().numpy()
            ax.scatter(c[:, 0], c[:, 1], marker="x", s=30, color="black", label="mode centres")
        ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    try:
        return _atomic_save(lambda p: fig.savefig(p, format="png"), path, "the scatter plot")
    finally:
        plt.close(fig)


def read_jsonl(path) -> list[dict]:
    """Every complete JSON line of a .jsonl file (a torn last line from a killed process is skipped)."""
    p = Path(path)
    if not p.is_file():
        return []
    out = []
    for line in p.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def series(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of ``key`` over stats rows; non-numbers and non-finite values dropped."""
    xs, ys = [], []
    for r in rows:
        v = r.get(key)
        try:
            v = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(v) and isinstance(r.get("step"), (int, float)):
            xs.append(r["step"])
            ys.append(v)
    return np.asarray(xs), np.asarray(ys)


def plot_training_curves(stats_path, path) -> Path:
    """Losses, and D(x) / D(G(z)) against the 0.5 line, from a stats.jsonl file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_jsonl(stats_path)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
    for key, label in (("d_loss", "D loss"), ("g_loss", "G loss")):
        ax1.plot(*series(rows, key), label=label, lw=1)
    ax1.set_xlabel("round")
    ax1.set_title("losses")
    ax1.legend(fontsize=8)
    for key, label in (("d_real", "mean D(x)"), ("d_fake", "mean D(G(z))")):
        ax2.plot(*series(rows, key), label=label, lw=1)
    if any("ada_p" in r for r in rows):  # adaptive augmentation's probability p (train.ada_target)
        ax2.plot(*series(rows, "ada_p"), label="ADA's augmentation p", lw=1, ls=":")
    ax2.axhline(0.5, color="gray", ls="--", lw=1, label="0.5 (equilibrium)")
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_xlabel("round")
    ax2.set_title("discriminator outputs")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    try:
        return _atomic_save(lambda p: fig.savefig(p, format="png"), path, "the loss plot")
    finally:
        plt.close(fig)
