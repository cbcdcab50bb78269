"""Real against generated marginals of a table, one small panel per column (the run's samples/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def save_marginals(real: pd.DataFrame, fake: pd.DataFrame, path: str | Path, title: str = "",
                   max_columns: int = 12) -> Path:
    """A PNG of up to ``max_columns`` columns: bars of the 10 most frequent categories, or
    histograms of numbers (datetimes as their timestamps), real in grey and generated in blue."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganforge.fileio import atomic_path

    cols = list(real.columns)[:max_columns]
    n_rows = (len(cols) + 3) // 4
    fig, axes = plt.subplots(n_rows, 4, figsize=(14, 2.6 * n_rows), squeeze=False)
    for ax, name in zip(axes.flat, cols):
        r, f = real[name], fake[name]
        numeric = pd.api.types.is_numeric_dtype(r) and not pd.api.types.is_bool_dtype(r)
        if pd.api.types.is_datetime64_any_dtype(r):
            r, f, numeric = r.astype("int64"), f.astype("int64"), True
        if numeric:
            both = np.concatenate([r.dropna().to_numpy(float), f.dropna().to_numpy(float)])
            bins = np.histogram_bin_edges(both, bins=30) if both.size else 10
            ax.hist(r.dropna(), bins=bins, color="0.6", alpha=0.8, density=True)
            ax.hist(f.dropna(), bins=bins, color="tab:blue", alpha=0.5, density=True)
        else:
            top = r.astype(str).value_counts(normalize=True).head(10)
            share = f.astype(str).value_counts(normalize=True).reindex(top.index).fillna(0)
            x = np.arange(len(top))
            ax.bar(x - 0.2, top.to_numpy(), 0.4, color="0.6")
            ax.bar(x + 0.2, share.to_numpy(), 0.4, color="tab:blue")
            ax.set_xticks(x, [t[:10] for t in top.index], rotation=60, fontsize=6)
        ax.set_title(str(name), fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(cols):]:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)
    return path
