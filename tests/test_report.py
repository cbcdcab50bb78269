"""report.html: self-contained (pictures embedded as PNG, nothing fetched), with every section."""

from __future__ import annotations

import base64
import io
import json
import math
import re

import pytest
import torch
from PIL import Image

from ganforge.cli import main
from ganforge.config import Config
from ganforge.metrics.record import append_metrics, metric_line, provenance
from ganforge.report import build_report, write_report
from ganforge.viz import save_image_grid


def _fake_run(tmp_path, loss="nonsaturating"):
    run = tmp_path / "run"
    run.mkdir()
    cfg = Config().with_overrides({"data.name": "digits", "loss.name": loss, "train.steps": 200})
    (run / "config.json").write_text(cfg.to_json())
    rows = []
    for step in range(10, 210, 10):
        dr, df = 0.5 + 0.3 * math.exp(-step / 80), 0.5 - 0.3 * math.exp(-step / 80)
        rows.append({"step": step, "d_loss": -math.log(dr) - math.log(1 - df), "g_loss": -math.log(df),
                     "value": math.log(dr) + math.log(1 - df), "d_real": dr, "d_fake": df,
                     "real_logit": math.log(dr / (1 - dr)), "fake_logit": math.log(df / (1 - df)),
                     "d_acc": 0.6, "g_grad_norm": 1.0, "d_grad_norm": 0.5})
    rows[-1]["g_grad_norm"] = "nan"  # as the engine writes non-finite numbers
    (run / "stats.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 21')  # torn last line
    alerts = [{"name": "oscillation", "step": 120, "severity": "warning", "message": "swings <b>growing</b>",
               "suggestion": "lower lr", "details": {}}]
    (run / "alerts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in alerts))
    prov = provenance(n_fake=100, n_real=100, features="mnist", features_sha256="ab" * 32, reference="digits",
                      reference_sha256="cd" * 32, resize="bilinear", seed=0)
    append_metrics(run, [metric_line(s, "fid_mnist", 50.0 / s, {}, prov) for s in (50, 100, 200)])
    for s in (100, 200):
        save_image_grid(torch.rand(16, 1, 8, 8) * 2 - 1, run / "samples" / f"step-{s:07d}.png")
    return run


def _pngs(text):
    return [base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)]


def test_report_is_self_contained_with_all_sections(tmp_path):
    run = _fake_run(tmp_path)
    path = write_report(run)
    assert path == run / "report.html"
    text = path.read_text()
    assert "<script" not in text and "http://" not in text and "https://" not in text
    assert not re.search(r'src="(?!data:)', text)  # every picture embedded
    pngs = _pngs(text)
    # losses, D outputs, value, the two readings of equilibrium, grad norms, metrics, 2 sample grids
    assert len(pngs) == 8
    for png in pngs:
        Image.open(io.BytesIO(png)).verify()
    for heading in ("Alerts", "Losses", "D(x) and D(G(z))", "Value of the game", "Metrics over time",
                    "Samples over time", "Provenance of the latest values",
                    "Equilibrium: the game's D and a fresh classifier"):
        assert heading in text, heading
    assert "swings &lt;b&gt;growing&lt;/b&gt;" in text  # alert text escaped
    assert "lower lr" in text and "1 warning" in text
    assert "fid_mnist" in text and "abababababab" in text


def test_report_shows_both_readings_of_equilibrium(tmp_path):
    # the digits demo's picture: D at 1/2 (distance ~0) while a fresh classifier is right 96 % of the time
    run = _fake_run(tmp_path)
    before = build_report(run)
    assert "no fresh classifier has judged this run yet" in before and "--metrics c2st" in before
    prov = provenance(n_fake=500, n_real=500, features="raw pixels", features_sha256=None, reference="digits",
                      reference_sha256=None, resize="none", seed=0, source="training monitor")
    values = {"accuracy": 0.964, "ci_low": 0.951, "ci_high": 0.974, "p_value": 1e-200, "n_test": 1000}
    append_metrics(run, [metric_line(100, "c2st", 0.9, {**values, "accuracy": 0.9, "ci_low": 0.88, "ci_high": 0.92}, prov),
                         metric_line(200, "c2st", 0.964, values, prov)])
    text = build_report(run)
    assert "equilibrium, as the game's D reads it" in text and "as a fresh classifier reads it" in text
    assert "at round 200 a fresh classifier tells real from generated samples <b>96.4%</b>" in text
    assert "95% interval 95.1% to 97.4%" in text and "1000 held-out samples" in text
    assert "matched to G, not beaten by it" in text
    assert len(_pngs(text)) == len(_pngs(before))  # the plot was there before, now with the verdicts
    plot = _pngs(text)[3]
    Image.open(io.BytesIO(plot)).verify()
    assert plot != _pngs(before)[3]


def test_non_minimax_report_shows_critic_scores_not_value(tmp_path):
    run = _fake_run(tmp_path, loss="wgan-gp")
    text = build_report(run)
    assert "Value of the game" not in text and "critic" in text.lower()


def test_report_of_a_run_without_stats(tmp_path):
    run = tmp_path / "empty"
    run.mkdir()
    (run / "config.json").write_text(Config().to_json())
    text = build_report(run)
    assert "No alerts were raised" in text and "No metrics recorded yet" in text
    assert "did not watch this run" in text
    (run / "alerts.jsonl").touch()  # watched, nothing found
    assert "No warnings: the diagnostics found nothing wrong" in build_report(run)


def test_report_command(tmp_path, capsys):
    run = _fake_run(tmp_path)
    out = tmp_path / "elsewhere" / "r.html"
    assert main(["report", str(run), "--out", str(out)]) == 0
    assert out.is_file() and str(out) in capsys.readouterr().out
    assert main(["report", str(tmp_path / "nope")]) == 1
    assert "not a ganforge run directory" in capsys.readouterr().err


@pytest.mark.parametrize("loss", ["nonsaturating", "hinge"])
def test_report_of_a_real_2d_run_has_decision_surfaces(tmp_path, loss):
    from ganforge.engine import Trainer
    from ganforge.engine.rundir import create_run_dir
    from ganforge.presets import load_preset

    cfg = load_preset("ring8").with_overrides({"train.progress": False, "train.steps": 40, "train.batch_size": 64,
                                               "model.pack": 1, "model.d_maxout": 0, "optim.ema": 0.0,
                                               "train.checkpoint_every": 20, "train.sample_every": 20,
                                               "loss.name": loss})
    run = create_run_dir(tmp_path / "r", cfg)
    trainer = Trainer(cfg, run_dir=run)
    trainer.run()
    text = write_report(run, trainer=trainer).read_text()
    assert "Discriminator surface" in text and "Jensen-Shannon estimate" in text
    if loss == "nonsaturating":
        assert "Mean |D - D*|" in text and "D*(x) = p_data / (p_data + p_g)" in text
    else:
        assert "critic score" in text
