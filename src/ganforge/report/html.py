"""``report.html``: one self-contained page that says whether a run can be trusted.

Everything is embedded (PNG pictures as base64, inline CSS, no scripts, no external links), so the
file opens offline and can be mailed or archived. Sections: summary with the alert counts and the
distance to equilibrium; alerts with explanations and fixes; losses; D(x) and D(G(z)) against 0.5;
V(D, G) against -log 4; gradient norms; metrics over time with provenance; sample pictures over
time; and, for 2D data, D's decision surface over the data with the optimal discriminator D*.
"""

from __future__ import annotations

import base64
import html
import json
import math
import time
from pathlib import Path

import torch

from ganforge.data import is_point_data
from ganforge.diagnostics.monitor import equilibrium_distance, read_alerts
from ganforge.metrics.record import read_metrics
from ganforge.report import plots
from ganforge.viz import read_jsonl

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
.muted{color:#666}.alert{border-left:5px solid #999;padding:.4em .8em;margin:.6em 0;background:#fafafa}
.alert.error{border-color:#c62828;background:#fdecea}.alert.warning{border-color:#ef6c00;background:#fff4e5}
.alert.info{border-color:#2e7d32;background:#edf7ed}.alert .fix{color:#333;margin-top:.3em}
.badge{display:inline-block;padding:.1em .5em;border-radius:.8em;font-size:.85em;margin-right:.4em;color:#fff}
.badge.error{background:#c62828}.badge.warning{background:#ef6c00}.badge.info{background:#2e7d32}
img{max-width:100%}.grid{display:flex;flex-wrap:wrap;gap:12px}.grid figure{margin:0;max-width:48%}
figcaption{font-size:.85em;color:#555;text-align:center}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
table.prov{border-collapse:collapse;font-size:.85em}table.prov td,table.prov th{border:1px solid #ddd;padding:.2em .5em;text-align:left}
"""


def _img(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _figure(png: bytes, caption: str) -> str:
    return f"<figure>{_img(png, caption)}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _family(cfg: dict) -> str:
    from ganforge.objectives import get_objective

    try:
        return get_objective(cfg.get("loss", {}).get("name", "nonsaturating")).family
    except Exception:  # an objective this version does not know: show raw scores
        return "unknown"


# ----------------------------------------------------------------------------- sections


def _c2st_lines(lines: list[dict]) -> list[dict]:
    """The fresh classifier's verdicts on the run's own samples (``c2st`` lines: points or pixels),
    from the training monitor and from ``ganforge eval``, oldest round first."""
    found = [x for x in lines if x.get("metric") == "c2st" and isinstance(x.get("value"), (int, float))]
    return sorted(found, key=lambda x: x.get("step", 0))


def _c2st_text(line: dict | None) -> str:
    """One sentence: the latest fresh classifier's verdict, or how to get one."""
    if line is None:
        return ("no fresh classifier has judged this run yet (<code>ganforge eval RUN --metrics c2st</code>)")
    v = line.get("values", {})
    lo, hi = v.get("ci_low"), v.get("ci_high")
    notes = [f"95% interval {lo:.1%} to {hi:.1%}"] if isinstance(lo, float) and isinstance(hi, float) else []
    if isinstance(v.get("n_test"), int):
        notes.append(f"{v['n_test']} held-out samples")
    notes.append("50% = cannot tell")
    return (f"at round {line.get('step')} a fresh classifier tells real from generated samples "
            f"<b>{line['value']:.1%}</b> of the time ({'; '.join(notes)})")


def _summary(run_dir: Path, cfg: dict, rows: list[dict], alerts: list[dict], family: str,
             lines: list[dict] | None = None) -> str:
    counts = {s: sum(a.get("severity") == s for a in alerts) for s in ("error", "warning", "info")}
    badges = "".join(f'<span class="badge {s}">{n} {s}</span>' for s, n in counts.items())
    last = rows[-1] if rows else {}
    tail = rows[-max(1, len(rows) // 10):] if rows else []
    dist = equilibrium_distance(tail, family) if tail and family != "unknown" else float("nan")
    data, loss, train = cfg.get("data", {}), cfg.get("loss", {}), cfg.get("train", {})
    if not (run_dir / "alerts.jsonl").is_file():
        verdict = ("The diagnostics monitor did not watch this run (no alerts.jsonl), so nothing was "
                   "checked; train with the ganforge CLI or add Monitor(...).callback() to the Trainer.")
    elif counts["error"]:
        verdict = "This run has errors: do not trust its samples or metrics before reading the alerts."
    elif counts["warning"]:
        verdict = "This run raised warnings: read them before trusting the results."
    else:
        verdict = "No warnings: the diagnostics found nothing wrong with this run."
    dist_text = f"{dist:.3f}" if math.isfinite(dist) else "n/a"
    fresh = ""
    if cfg.get("model", {}).get("game", "gan") not in TRANSLATION_GAMES:
        fresh = f"<li>equilibrium, as a fresh classifier reads it: {_c2st_text((_c2st_lines(lines or []) or [None])[-1])}</li>\n"
    return f"""
<p class="muted">{html.escape(str(run_dir))} &middot; written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}</p>
<p>{badges}</p><p><b>{html.escape(verdict)}</b></p>
<ul>
<li>preset <code>{html.escape(cfg.get('preset') or 'custom')}</code>: {html.escape(cfg.get('description', ''))}</li>
<li>data <code>{html.escape(str(data.get('name')))}</code>, loss <code>{html.escape(str(loss.get('name')))}</code>
 ({html.escape(family)} family), {last.get('step', 0)} of {train.get('steps', '?')} rounds</li>
<li>equilibrium, as the game's D reads it: distance over the last tenth of the run <b>{dist_text}</b>
 <span class="muted">(0 = D cannot tell real from fake; 1 = D is perfect; see docs/metrics.md)</span></li>
{fresh}</ul>"""


def _window_distance(rows: list[dict], family: str, rounds: int = 100) -> tuple[list[int], list[float]]:
    """The game's equilibrium distance over a sliding window of ``rounds`` rounds, at each stats row."""
    steps, dist, start = [], [], 0
    for i, row in enumerate(rows):
        step = row.get("step", i)
        while rows[start].get("step", start) <= step - rounds:
            start += 1
        d = equilibrium_distance(rows[start : i + 1], family)
        if math.isfinite(d):
            steps.append(step)
            dist.append(d)
    return steps, dist


def _equilibrium_section(rows: list[dict], lines: list[dict], family: str) -> str:
    """Both readings of equilibrium side by side: the game's D and a fresh classifier (C2ST)."""
    verdicts = _c2st_lines(lines)
    steps, dist = _window_distance(rows, family) if family != "unknown" else ([], [])
    intro = ("<p>The game's D reaching 1/2 says only that <i>this</i> D cannot tell real from fake. A fresh "
             "classifier, trained on real against generated samples and scored on held-out ones (classifier "
             "two-sample test, Lopez-Paz &amp; Oquab 2017), says whether <i>any</i> classifier of its kind can. "
             "When the game's D reads equilibrium while the fresh classifier's accuracy stays well above 50%, "
             "D is matched to G, not beaten by it (alert <code>matched-discriminator</code>).</p>")
    reading = f"<p>Latest fresh-classifier reading: {_c2st_text(verdicts[-1] if verdicts else None)}.</p>"
    if not steps and not verdicts:
        return intro + reading
    points = [(x["step"], float(x["value"]), x["values"].get("ci_low", x["value"]),
               x["values"].get("ci_high", x["value"]), x.get("provenance", {}).get("source", "ganforge eval"))
              for x in verdicts]
    return intro + reading + _img(plots.plot_equilibrium(steps, dist, points, family), "two readings of equilibrium")


def _alerts_section(alerts: list[dict]) -> str:
    if not alerts:
        return "<p>No alerts were raised.</p>"
    items = []
    for a in alerts:
        sev = html.escape(str(a.get("severity", "info")))
        items.append(
            f'<div class="alert {sev}"><b>{html.escape(str(a.get("name")))}</b> '
            f'<span class="muted">({sev}, round {a.get("step")})</span><br>{html.escape(str(a.get("message", "")))}'
            f'<div class="fix"><b>Try:</b> {html.escape(str(a.get("suggestion", "")))}</div></div>')
    return "\n".join(items)


def _metrics_section(lines: list[dict]) -> str:
    if not lines:
        return ('<p>No metrics recorded yet. Run <code>ganforge eval RUN</code> (add '
                '<code>--checkpoint all</code> for every kept checkpoint).</p>')
    png = plots.plot_metrics(lines)
    latest: dict[str, dict] = {}
    for line in lines:
        latest[line["metric"]] = line
    rows = []
    for name, line in sorted(latest.items()):
        p = line.get("provenance", {})
        value = line.get("value")
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                name, f"{value:.4g}" if isinstance(value, (int, float)) else value, line.get("step"),
                f"{p.get('n_fake')} / {p.get('n_real')}",
                f"{p.get('features')} {str(p.get('features_sha256') or '')[:12]}",
                f"{p.get('reference')} {str(p.get('reference_sha256') or '')[:12]}",
                p.get("resize"), p.get("seed"))) + "</tr>")
    table = ("<table class='prov'><tr><th>metric</th><th>latest</th><th>round</th><th>fake / real</th>"
             "<th>features (sha256)</th><th>reference (sha256)</th><th>resize</th><th>seed</th></tr>"
             + "".join(rows) + "</table>")
    return (_img(png, "metrics over time") if png else "") + "<h3>Provenance of the latest values</h3>" + table


def _samples_section(run_dir: Path, max_pictures: int = 8) -> str:
    files = sorted((run_dir / "samples").glob("step-*.png"))
    if not files:
        return "<p>No sample pictures in this run.</p>"
    if len(files) > max_pictures:
        idx = sorted({round(i * (len(files) - 1) / (max_pictures - 1)) for i in range(max_pictures)})
        files = [files[i] for i in idx]
    figs = []
    for f in files:
        step = int(f.stem.split("-")[1]) if f.stem.split("-")[1].isdigit() else f.stem
        figs.append(_figure(f.read_bytes(), f"round {step}"))
    return f'<div class="grid">{"".join(figs)}</div>'


TRANSLATION_GAMES = ("pix2pix", "cyclegan")
TRANSLATION_COLUMNS = ("l1", "psnr", "ssim", "fid", "kid")


def _grid_png(rows: list[tuple[torch.Tensor, ...]]) -> bytes:
    """Rows of images (C, H, W) in [-1, 1], one row per example, as PNG bytes (small images enlarged)."""
    import io

    from PIL import Image

    from ganforge.viz import image_grid

    images = torch.stack([img.expand(3, -1, -1) for row in rows for img in row])  # (rows * width, 3, H, W)
    im = Image.fromarray(image_grid(images, nrow=len(rows[0])))
    scale = max(1, -(-56 // images.shape[-1]))  # at least 56 pixels per image, as the sample grids
    if scale > 1:
        im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _translation_table(lines: list[dict]) -> str:
    """The latest translation metrics (lines whose provenance names a direction), one row per direction."""
    latest: dict[str, dict] = {}
    for line in lines:
        if "direction" in line.get("provenance", {}):
            latest[line["metric"]] = line  # later lines win
    if not latest:
        return ("<p>No translation metrics yet. <code>ganforge eval RUN</code> scores the latest checkpoint on "
                "the test split: L1, PSNR, SSIM against each target, FID and KID against the targets.</p>")
    by_direction: dict[str, dict[str, dict]] = {}
    for name, line in latest.items():
        direction = line["provenance"]["direction"]
        by_direction.setdefault(direction, {})[name.removesuffix("_" + direction)] = line
    found = {base for cells in by_direction.values() for base in cells}
    columns = [c for c in TRANSLATION_COLUMNS if c in found] + sorted(found - set(TRANSLATION_COLUMNS))
    rows = []
    for direction, cells in sorted(by_direction.items()):
        first = next(iter(cells.values()))["provenance"]
        values = [f"{cells[c]['value']:.4g}" if isinstance(cells.get(c, {}).get("value"), (int, float))
                  else ("n/a" if c in cells else "") for c in columns]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
            direction, *values, first.get("n_fake"), first.get("checkpoint", first.get("checkpoint_step")))) + "</tr>")
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ("direction", *columns, "pairs", "checkpoint"))
    return (f"<table class='prov'><tr>{head}</tr>{''.join(rows)}</table><p class='muted'>L1, PSNR (dB) and SSIM: "
            "per test pair on the [0, 1] scale, then averaged; FID and KID: the outputs' features against the "
            "test targets'. Provenance in the metrics table above.</p>")


def _translation_section(run_dir: Path, cfg: dict, lines: list[dict]) -> str:
    """A translator's pictures: input | output | target over training (the samples/ grids the games
    draw) and on the first 8 test pairs, then its latest translation metrics."""
    from ganforge.errors import GanforgeError
    from ganforge.metrics.translation import test_triplets

    if cfg.get("model", {}).get("game") == "pix2pix":
        columns = "input | output | target, on the first training pairs (without jitter)"
    else:
        columns = ("a | G_AB(a) | G_BA(G_AB(a)) for the first training images of A, then b | G_BA(b) | "
                   "G_AB(G_BA(b)) for those of B")
    parts = [f"<h3>Over training</h3><p>Each row: {html.escape(columns)}.</p>", _samples_section(run_dir),
             "<h3>On the test split</h3>"]
    try:
        sets = test_triplets(run_dir)
    except GanforgeError as e:  # data not here, no test split, no checkpoint: say so, do not fail the report
        parts.append(f"<p class='muted'>The test split is not shown: {html.escape(str(e))}</p>")
    else:
        figs = [_figure(_grid_png(rows), title) for title, rows in sets]
        parts.append(f'<div class="grid">{"".join(figs)}</div>')
    parts += ["<h3>Translation metrics</h3>", _translation_table(lines)]
    return "\n".join(parts)


def _rows(images: torch.Tensor, k: int) -> list[tuple[torch.Tensor, ...]]:
    """A sheet of images (N, C, H, W) in reading order as rows of ``k``, as :func:`_grid_png` takes them."""
    return [tuple(images[i : i + k]) for i in range(0, len(images), k)]


def _styles_section(run_dir: Path, cfg: dict, trainer=None) -> str:
    """A StyleGAN G's truncation sheet and style-mixing sheet (``ganforge sample --truncation`` and
    ``--mix`` draw the same figures at any size), from G_ema of the live trainer or the latest
    checkpoint, with a fixed seed so reports of one run compare; "" for other generators."""
    from ganforge.commands.sample import TRUNCATION_PSIS, mixing_sheet, truncation_sheet
    from ganforge.engine.generator import load_generator
    from ganforge.errors import GanforgeError

    if cfg.get("model", {}).get("arch") != "stylegan" or cfg.get("model", {}).get("game", "gan") != "gan":
        return ""
    try:
        G = trainer.generator() if trainer is not None else load_generator(run_dir)
    except GanforgeError as e:  # no checkpoint yet: say so, do not fail the report
        return f"<p class='muted'>No style sheets: {html.escape(str(e))}</p>"
    gen = torch.Generator(G.device).manual_seed(0)
    trunc, columns = truncation_sheet(G, 6, TRUNCATION_PSIS, gen=gen)
    mix, side = mixing_sheet(G, 5, None, None, gen)
    psis = ", ".join(f"{p:g}" for p in TRUNCATION_PSIS)
    return (f"<p>Truncation: each row is one latent, each column pulls its w towards the average w by psi = "
            f"{psis} (psi 1: the sample as drawn; psi 0: the average image). Style mixing: the top row "
            f"and the left column are samples; each cell takes the left sample's styles on the first "
            f"{G.net.num_ws // 2} of {G.net.num_ws} layers (coarse: shape, pose) and the top sample's on the rest "
            f"(fine: stroke, texture).</p>"
            f'<div class="grid">{_figure(_grid_png(_rows(trunc, columns)), "truncation: psi falls left to right")}'
            f'{_figure(_grid_png(_rows(mix, side)), "style mixing: coarse styles from the left, fine from the top")}'
            "</div>")


class _Snapshot:
    """G and D of one round, as the surface plots need them."""

    def __init__(self, step: int, G, D, family: str):
        self.step_count, self.G, self.D, self.family = step, G, D, family

    def generate(self, n: int, generator) -> torch.Tensor:
        return self.G.generate(n, generator=generator)

    def d_logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.D(x)


def _snapshots(run_dir: Path, trainer, max_checkpoints: int) -> list[_Snapshot]:
    """The last kept checkpoints (and the live trainer), loaded without the training data."""
    from ganforge.engine.checkpoint import list_checkpoints
    from ganforge.engine.generator import Discriminator, Generator, checkpoint_step, load_networks
    from ganforge.objectives import get_objective

    out = []
    current = getattr(trainer, "step_count", None)
    for p in list_checkpoints(run_dir / "checkpoints")[-max_checkpoints:]:
        if trainer is not None and p.name.endswith(f"{current:07d}"):
            continue  # the live trainer is that checkpoint
        cfg, spec, nets = load_networks(p)
        G = Generator(nets.get("G_ema", nets["G"]), cfg.model.z_dim, cfg.model.noise, spec, cfg.model.conditional)
        step = checkpoint_step(p)
        out.append(_Snapshot(step, G, Discriminator(nets["D"], cfg.model.pack), get_objective(cfg.loss.name).family))
    if trainer is not None:
        out.append(_Snapshot(trainer.step_count, trainer.generator(), trainer.discriminator(), trainer.objective.family))
    return out


def _point_data(cfg: dict, trainer):
    """The run's point distribution: the live trainer's, or rebuilt from the configuration (a
    built-in mixture needs no file; a user's points file must still be where it was)."""
    from ganforge.config import Config
    from ganforge.data import load_dataset
    from ganforge.errors import GanforgeError

    if trainer is not None:
        return trainer.data
    try:
        return load_dataset(Config.from_dict(cfg).data)
    except GanforgeError:
        return None


def _surface_section(run_dir: Path, trainer=None, max_checkpoints: int = 3) -> str:
    """D's decision surface with real and fake points, per kept checkpoint; D* and |D - D*| for the last."""
    from ganforge.data.mixtures import POINT_DATASETS
    from ganforge.diagnostics.optimal import d_star_at
    from ganforge.metrics.density import (
        closed_form_log_prob,
        cv_bandwidth,
        js_divergence,
        kde_log_prob,
        optimal_discriminator,
    )

    cfg = json.loads((run_dir / "config.json").read_text())
    if cfg.get("data", {}).get("name") not in POINT_DATASETS:
        return ""  # image data: no surface to draw
    trainers = _snapshots(run_dir, trainer, max_checkpoints)
    data = _point_data(cfg, trainer)
    if not trainers or data is None:
        return ""
    if not is_point_data(data) or data.dim not in (1, 2):
        return ""
    real = data.sample(1000, torch.Generator().manual_seed(0))  # (1000, dim)
    figs = []
    if data.dim == 1:
        for tr in trainers:
            fake = tr.generate(1000, torch.Generator().manual_seed(1))
            figs.append(_figure(plots.plot_histogram_1d(real.numpy(), fake.numpy(), f"round {tr.step_count}"),
                                f"round {tr.step_count}: real vs generated"))
        return f'<div class="grid">{"".join(figs)}</div>'
    lo, hi = data.bounds
    gx, gy = torch.meshgrid(torch.linspace(lo[0], hi[0], 120), torch.linspace(lo[1], hi[1], 120), indexing="xy")
    grid = torch.stack([gx.flatten(), gy.flatten()], 1)  # (120*120, 2)
    centers = data.centers.numpy() if getattr(data, "centers", None) is not None else None
    note = ""
    for tr in trainers:
        fake = tr.generate(1000, torch.Generator().manual_seed(1))  # (1000, 2)
        logits = tr.d_logits(grid).reshape(gx.shape)
        family = tr.family
        if family == "minimax":
            surface, vmin, vmax, label = torch.sigmoid(logits), 0.0, 1.0, "D(x)"
        else:
            bound = float(logits.abs().quantile(0.98)) or 1.0
            surface, vmin, vmax, label = logits, -bound, bound, "critic score"
        figs.append(_figure(plots.plot_surface(gx.numpy(), gy.numpy(), surface.numpy(), real.numpy(), fake.numpy(),
                                               f"D at round {tr.step_count}", centers, vmin, vmax, label=label),
                            f"round {tr.step_count}: {label} over the plane (red = looks real)"))
    last = trainers[-1]
    fake = last.generate(1000, torch.Generator().manual_seed(1))
    log_prob = closed_form_log_prob(data)  # None past a few thousand components: KDE instead
    h = cv_bandwidth(real)
    lp = log_prob(grid).double() if log_prob is not None else kde_log_prob(grid, real, h)  # (G,)
    lq = kde_log_prob(grid, fake, h)  # (G,)
    d_star = optimal_discriminator(grid, lp, lq).float()  # (G,)
    # where neither density has mass (e^-12 below the peak) D* is a ratio of two vanishing tails
    both = torch.maximum(lp, lq)
    d_star[both < both.max() - 12.0] = float("nan")
    d_star = d_star.reshape(gx.shape)
    figs.append(_figure(plots.plot_surface(gx.numpy(), gy.numpy(), d_star.numpy(), real.numpy(), fake.numpy(),
                                           f"optimal D* at round {last.step_count}", centers, label="D*(x)"),
                        "D*(x) = p_data / (p_data + p_g), p_g by KDE of the samples; blank where neither "
                        "density has mass"))
    js = js_divergence(real, fake, log_prob, bandwidth=h)
    if last.family == "minimax":
        d_now = torch.sigmoid(last.d_logits(grid)).reshape(gx.shape)
        gap = (d_now - d_star).abs()
        figs.append(_figure(plots.plot_surface(gx.numpy(), gy.numpy(), gap.numpy(), real.numpy(), fake.numpy(),
                                               "|D - D*|", centers, cmap="magma", label="|D - D*|"),
                            "where D is far from the optimal discriminator"))
        at_points = torch.cat([real, fake])
        gap_pts = (torch.sigmoid(last.d_logits(at_points)) - d_star_at(at_points, real, fake, log_prob, h).float()).abs()
        note = f"Mean |D - D*| over real and generated points: <b>{float(gap_pts.mean()):.3f}</b>. "
    note += (f"Jensen-Shannon estimate JS(p_data || p_g) = <b>{js:.3f}</b> nats (0 = same distribution, "
             f"log 2 = {math.log(2):.3f} = disjoint); p_data {'exact' if log_prob else 'by KDE'}, "
             f"p_g by KDE with bandwidth {h:.3g}.")
    return f'<p>{note}</p><div class="grid">{"".join(figs)}</div>'


# ----------------------------------------------------------------------------- the page


def build_report(run_dir: str | Path, trainer=None, surfaces: bool = True) -> str:
    """The report of ``run_dir`` as one HTML string (``trainer``: the live trainer, if at hand)."""
    run_dir = Path(run_dir)
    cfg_path = run_dir / "config.json"
    if not cfg_path.is_file():
        from ganforge.errors import RunDirError

        raise RunDirError(f"{run_dir} is not a ganforge run directory (no config.json)")
    cfg = json.loads(cfg_path.read_text())
    rows = read_jsonl(run_dir / "stats.jsonl")
    alerts = read_alerts(run_dir)
    lines = read_metrics(run_dir)
    family = _family(cfg)
    name = run_dir.resolve().name
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>ganforge report: "
             f"{html.escape(name)}</title><style>{CSS}</style></head><body>",
             f"<h1>Run report: {html.escape(name)}</h1>", _summary(run_dir, cfg, rows, alerts, family, lines),
             "<h2>Alerts</h2>", _alerts_section(alerts)]
    if rows:
        parts += ["<h2>Losses</h2>", _img(plots.plot_losses(rows, alerts), "losses")]
        explain = ("At the equilibrium of the minimax game D outputs 1/2 on real and generated samples alike."
                   if family == "minimax" else
                   f"With the {family} loss D is a critic whose scores are not probabilities; at equilibrium "
                   "its mean scores on real and generated samples are equal.")
        parts += ["<h2>D(x) and D(G(z))</h2>", f"<p>{html.escape(explain)}</p>",
                  _img(plots.plot_d_outputs(rows, family), "discriminator outputs")]
        if family == "minimax":
            parts += ["<h2>Value of the game</h2>",
                      "<p>V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))] is -log 4 at equilibrium "
                      "(Goodfellow et al. 2014) and rises to 0 when D separates real from fake perfectly.</p>",
                      _img(plots.plot_value(rows), "value of the game")]
        if cfg.get("model", {}).get("game", "gan") not in TRANSLATION_GAMES:
            parts += ["<h2>Equilibrium: the game's D and a fresh classifier</h2>",
                      _equilibrium_section(rows, lines, family)]
        parts += ["<h2>Gradient norms</h2>", _img(plots.plot_grad_norms(rows), "gradient norms")]
    else:
        parts.append("<p>No stats.jsonl lines yet.</p>")
    parts += ["<h2>Metrics over time</h2>", _metrics_section(lines)]
    if cfg.get("model", {}).get("game") in TRANSLATION_GAMES:
        parts += ["<h2>Translations</h2>", _translation_section(run_dir, cfg, lines)]
    else:
        parts += ["<h2>Samples over time</h2>", _samples_section(run_dir)]
        styles = _styles_section(run_dir, cfg, trainer)
        if styles:
            parts += ["<h2>Styles: truncation and mixing</h2>", styles]
    if surfaces:
        section = _surface_section(run_dir, trainer)
        if section:
            parts += ["<h2>Discriminator surface and the optimal discriminator</h2>", section]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run_dir: str | Path, trainer=None, out: str | Path | None = None, surfaces: bool = True) -> Path:
    """Write ``report.html`` (or ``out``) for ``run_dir`` atomically; return its path.

    A full disk leaves the previous report (if any) in place and raises one DiskFullError line.
    """
    from ganforge.fileio import atomic_write_text, disk_full_as_error

    run_dir = Path(run_dir)
    text = build_report(run_dir, trainer, surfaces)
    path = Path(out) if out else run_dir / "report.html"
    with disk_full_as_error(f"the report {path.name}", path.parent):
        atomic_write_text(path, text)
    return path
