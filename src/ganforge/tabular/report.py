"""The evaluation of a synthetic table as one offline HTML file.

Like the run report (:mod:`ganforge.report.html`), everything is embedded: matplotlib figures as
base64 PNG, inline CSS, no script, no link, so the file opens anywhere and can be mailed. Sections:
the headline figures; per-column real-against-synthetic histograms (continuous columns) and bars
(categorical ones) with each column's shape score; a heat map of the column-pair trend differences
(|r_real - r_synth| / 2 for continuous pairs, the joint total variation distance otherwise, i.e.
1 - each pair's score); machine-learning efficacy per classifier; the distances to closest record.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import numpy as np

from ganforge.tabular.prepare import categories, numeric
from ganforge.tabular.quality import CONTINUOUS_KINDS

_TOP_CATEGORIES = 12  # bars per categorical column; the rest are summed into "(other)"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    from ganforge.report.plots import fig_png

    fig.tight_layout()
    return fig_png(fig)


def _fmt(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"


def column_png(name: str, kind: str, real, synth, score: float) -> bytes:
    """Real against synthetic values of one normalised column: overlaid density histograms over
    shared bins (continuous), or side-by-side bars of the most frequent real categories."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.6, 2.9))
    if kind in CONTINUOUS_KINDS:
        r, s = numeric(real), numeric(synth)
        r, s = r[~np.isnan(r)], s[~np.isnan(s)]
        both = np.concatenate([r, s])
        if len(both):
            lo, hi = np.percentile(both, [0.5, 99.5])  # the far tails would squash the bulk into one bar
            bins = np.linspace(lo, hi if hi > lo else lo + 1.0, 31)
            ax.hist(np.clip(r, lo, hi), bins=bins, density=True, alpha=0.55, color="0.45", label="real")
            ax.hist(np.clip(s, lo, hi), bins=bins, density=True, alpha=0.55, color="tab:blue", label="synthetic")
        ax.set_ylabel("density")
    else:
        r, s = categories(real), categories(synth)
        values, counts = np.unique(r, return_counts=True)
        top = list(values[np.argsort(-counts, kind="stable")][:_TOP_CATEGORIES])
        labels = [("(missing)" if v.startswith("\x00") else v) for v in top]

        def shares(x):
            out = [float(np.mean(x == v)) for v in top]
            return out + [max(0.0, 1.0 - sum(out))]

        labels.append("(other)")
        pos = np.arange(len(labels))
        ax.bar(pos - 0.2, shares(r), width=0.4, color="0.45", label="real")
        ax.bar(pos + 0.2, shares(s), width=0.4, color="tab:blue", label="synthetic")
        ax.set_xticks(pos, [lbl[:14] for lbl in labels], rotation=60, ha="right", fontsize=7)
        ax.set_ylabel("share of rows")
    ax.set_title(f"{name} ({kind}): shape score {_fmt(score)}", fontsize=9)
    ax.legend(fontsize=7)
    return _png(fig)


def pair_difference_matrix(quality: dict) -> tuple[list[str], np.ndarray]:
    """Column names and the symmetric matrix of 1 - pair-trend score (NaN on the diagonal and
    where a score is undefined)."""
    names = list(quality["columns"])
    index = {n: i for i, n in enumerate(names)}
    m = np.full((len(names), len(names)), np.nan)
    for p in quality["pairs"]:
        a, b = p["columns"]
        if a in index and b in index and p["score"] is not None and not math.isnan(p["score"]):
            m[index[a], index[b]] = m[index[b], index[a]] = 1.0 - p["score"]
    return names, m


def pair_heatmap_png(quality: dict) -> bytes:
    """Heat map of the column-pair trend differences (0: the pair's trend is reproduced)."""
    plt = _plt()
    names, m = pair_difference_matrix(quality)
    size = max(4.5, 0.42 * len(names) + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    vmax = max(0.05, float(np.nanmax(m))) if np.isfinite(m).any() else 1.0
    im = ax.imshow(np.ma.masked_invalid(m), cmap="Reds", vmin=0.0, vmax=vmax)
    ax.set_xticks(range(len(names)), [n[:16] for n in names], rotation=70, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), [n[:16] for n in names], fontsize=7)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="1 - pair-trend score")
    ax.set_title("trend differences: |r_real - r_synth|/2 (continuous pairs), joint TVD (others)", fontsize=8)
    return _png(fig)


def shapes_png(quality: dict) -> bytes:
    """One bar per column: its shape score (KSComplement or TVComplement)."""
    plt = _plt()
    names = list(quality["columns"])
    scores = [quality["columns"][n]["score"] for n in names]
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(names) + 1.2))
    colors = ["tab:blue" if quality["columns"][n]["metric"] == "KSComplement" else "tab:orange" for n in names]
    ax.barh(range(len(names)), np.nan_to_num(scores), color=colors)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("column shape score (blue: 1 - KS, orange: 1 - TVD)")
    return _png(fig)


def efficacy_png(eff: dict) -> bytes:
    """F1 per classifier, trained on the synthetic rows against trained on the real rows."""
    plt = _plt()
    names = list(eff["models"])
    pos = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(pos - 0.2, [eff["models"][n]["real"]["f1"] for n in names], 0.4, color="0.45", label="trained on real")
    ax.bar(pos + 0.2, [eff["models"][n]["synthetic"]["f1"] for n in names], 0.4, color="tab:blue",
           label="trained on synthetic")
    ax.set_xticks(pos, names)
    ax.set_ylim(0, 1)
    ax.set_ylabel(eff["metric"])
    ax.legend(fontsize=8)
    return _png(fig)


def dcr_png(distances: dict) -> bytes:
    """Histograms of the distance to the closest training row: synthetic and real hold-out rows."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3))
    both = np.concatenate(list(distances.values()))
    hi = float(np.percentile(both, 99)) if len(both) else 1.0
    bins = np.linspace(0, hi if hi > 0 else 1.0, 41)
    styles = {"holdout": ("0.45", "real hold-out rows"), "synthetic": ("tab:blue", "synthetic rows")}
    for key in ("holdout", "synthetic"):
        if key in distances:
            color, label = styles[key]
            ax.hist(np.clip(distances[key], 0, hi), bins=bins, density=True, alpha=0.55, color=color, label=label)
    ax.set_xlabel("distance to the closest training row")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    return _png(fig)


def _figure(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode()
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _headline(result: dict) -> str:
    q, e, p = result["quality"], result["efficacy"], result["privacy"]
    rows = [("overall quality (mean of the two below)", _fmt(q["quality"])),
            ("column shapes (1 - KS, 1 - TVD)", _fmt(q["column_shapes"])),
            ("column-pair trends (correlation, contingency similarity)", _fmt(q["column_pair_trends"]))]
    if e is not None:
        rows += [(f"efficacy: {e['metric']} trained on synthetic rows (mean of {len(e['models'])} classifiers)",
                  _fmt(e["f1_synthetic"])),
                 (f"efficacy: {e['metric']} trained on real rows", _fmt(e["f1_real"])),
                 ("accuracy, synthetic / real", f"{_fmt(e['accuracy_synthetic'])} / {_fmt(e['accuracy_real'])}")]
    rows.append(("median distance to closest training row, synthetic rows", _fmt(p["synthetic"]["median"])))
    if p["holdout"] is not None:
        rows += [("median distance to closest training row, real hold-out rows", _fmt(p["holdout"]["median"])),
                 ("ratio synthetic / hold-out (well below 1: rows copied or memorised)", _fmt(p["median_ratio"]))]
    rows.append(("exact copies of training rows among synthetic rows", f"{p['exact_copies']:.2%}"))
    if p["exact_copies_holdout"] is not None:
        rows.append(("... among real hold-out rows (duplicates in the population)", f"{p['exact_copies_holdout']:.2%}"))
    n = result["rows"]
    counts = f"{n['real']} real, {n['synthetic']} synthetic" + (f", {n['test']} hold-out rows" if n["test"] else " rows")
    body = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<p class='muted'>{html.escape(counts)}</p><table class='prov'>{body}</table>"


def build_report(result: dict, real, synth, title: str = "Synthetic table report") -> str:
    """The HTML page of an :func:`~ganforge.tabular.evaluate.evaluate` result; ``real`` and
    ``synth`` are the two tables (as given to evaluate), for the per-column pictures."""
    from ganforge.report.html import CSS
    from ganforge.tabular.prepare import normalise

    kinds = result["kinds"]
    q = result["quality"]
    formats = result.get("datetime_formats")
    real_n, synth_n = normalise(real, kinds, formats), normalise(synth, kinds, formats)
    head = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>")
    shapes = ("<p>Continuous columns: 1 - the Kolmogorov-Smirnov statistic; categorical columns: 1 - the "
              "total variation distance of the category shares (missing values left out), as in SDMetrics' "
              "Quality Report.</p>")
    parts = [head, _headline(result), "<h2>Column shapes</h2>", shapes, _figure(shapes_png(q), "column shape scores"),
             "<div class='grid'>"]
    for name, col in q["columns"].items():
        parts.append(_figure(column_png(name, col["kind"], real_n[name], synth_n[name], col["score"]),
                             f"{name}: real (grey) and synthetic (blue)"))
    trends = ("<p>Each cell is 1 - the pair's score: |r_real - r_synth| / 2 (Pearson) for two continuous "
              "columns, the total variation distance between the joint frequency tables otherwise (a "
              "continuous column cut into 10 equal-width bins). 0 (white): the trend is reproduced.</p>")
    parts += ["</div>", "<h2>Column-pair trends</h2>", trends, _figure(pair_heatmap_png(q), "column-pair trend differences")]
    e = result["efficacy"]
    if e is not None:
        table = "".join(
            f"<tr><td>{html.escape(n)}</td><td>{_fmt(m['real']['f1'])}</td><td>{_fmt(m['synthetic']['f1'])}</td>"
            f"<td>{_fmt(m['real']['accuracy'])}</td><td>{_fmt(m['synthetic']['accuracy'])}</td></tr>"
            for n, m in e["models"].items())
        intro = (f"<p>Classifiers predict {html.escape(e['target'])} from the other columns, trained on the "
                 f"real training rows or on the synthetic rows, and tested on the real hold-out rows "
                 f"({html.escape(e['metric'])}, as in the CTGAN paper).</p>")
        grid = ("<table class='prov'><tr><th>classifier</th><th>F1, real</th><th>F1, synthetic</th>"
                f"<th>accuracy, real</th><th>accuracy, synthetic</th></tr>{table}</table>")
        parts += ["<h2>Machine-learning efficacy</h2>", intro, grid, _figure(efficacy_png(e), "F1 by classifier")]
    p = result["privacy"]
    dcr = (f"<p>Distance to the closest training row ({html.escape(p['encoding'])}), for "
           f"{p['rows']['synthetic']} synthetic rows and {p['rows']['holdout']} real hold-out rows.</p>")
    parts += ["<h2>Privacy</h2>", dcr]
    if p.get("distances"):
        parts.append(_figure(dcr_png(p["distances"]), "distance to closest record"))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(path: str | Path, result: dict, real, synth, title: str = "Synthetic table report") -> Path:
    """Write :func:`build_report` to ``path`` atomically (a full disk leaves no partial file)."""
    from ganforge.fileio import atomic_write_text, disk_full_as_error

    path = Path(path)
    text = build_report(result, real, synth, title)
    with disk_full_as_error(f"the report {path.name}", path.parent):
        atomic_write_text(path, text)
    return path
