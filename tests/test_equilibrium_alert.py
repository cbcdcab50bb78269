"""The ``matched-discriminator`` alert: the game's D reads equilibrium while a fresh classifier
(C2ST) still tells real from fake. Planted on synthetic stats streams, and in real tiny trainings:
a crippled D (one hidden unit; a learning rate of ~0 after a warm-up) fires it, a healthy 2D run
whose samples the classifier cannot separate stays silent."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.diagnostics.monitor import Monitor
from ganforge.engine import Trainer
from ganforge.metrics.c2st import C2ST
from ganforge.metrics.record import read_metrics
from ganforge.presets import load_preset

# a plain MLP GAN (no packing, maxout or EMA), as the other planted trainings use
VANILLA = {"model.pack": 1, "model.d_maxout": 0, "optim.ema": 0.0, "train.progress": False,
           "train.batch_size": 128}


def _verdict(accuracy: float, n: int = 1000) -> C2ST:
    """A C2ST result with the interval and p-value of ``accuracy`` on ``n`` held-out samples."""
    from ganforge.metrics.c2st import binomial_p_value, wilson_interval

    k = round(accuracy * n)
    lo, hi = wilson_interval(k, n)
    return C2ST(k / n, lo, hi, binomial_p_value(k, n), n, n, "planted", 0, 0.95)


def _stream(monitor: Monitor, rounds: int, d_real: float, d_fake: float, value: float) -> None:
    for i in range(rounds):
        monitor.observe({"step": i + 1, "d_real": d_real, "d_fake": d_fake, "value": value, "d_loss": 1.386,
                         "g_loss": 0.69, "d_acc": 0.5, "g_grad_norm": 1.0, "d_grad_norm": 1.0})


def test_fires_when_d_reads_half_and_the_classifier_separates():
    mon = Monitor("minimax", console=False)
    _stream(mon, 300, 0.5, 0.5, -1.386)
    (alert,) = mon.check_equilibrium(_verdict(0.96), step=300)
    assert alert.name == "matched-discriminator" and alert.severity == "warning"
    assert "96.0%" in alert.message and "D(x) = 0.50" in alert.message and "matched to G" in alert.message
    assert "train.d_steps" in alert.suggestion and "optim.lr_d" in alert.suggestion and "longer" in alert.suggestion
    assert mon.last_c2st["separates"] and mon.last_c2st["d_distance"] < 0.01


def test_silent_when_the_classifier_cannot_tell_or_d_is_not_at_half():
    mon = Monitor("minimax", console=False)
    _stream(mon, 300, 0.5, 0.5, -1.386)
    assert mon.check_equilibrium(_verdict(0.52), step=300) == []  # interval covers 1/2
    assert mon.check_equilibrium(_verdict(0.66), step=300) == []  # significant, but not "well" (< 70 %)
    winning = Monitor("minimax", console=False)
    _stream(winning, 300, 0.9, 0.1, -0.21)  # D separates: its own reading agrees with the classifier
    assert winning.check_equilibrium(_verdict(0.96), step=300) == []
    critic = Monitor("wasserstein", console=False)  # a critic has no 1/2 to read
    _stream(critic, 300, 0.5, 0.5, -1.386)
    assert critic.check_equilibrium(_verdict(0.96), step=300) == [] and critic.last_c2st["accuracy"] == 0.96
    early = Monitor("minimax", console=False)  # the window is not full yet: nothing to compare
    _stream(early, 50, 0.5, 0.5, -1.386)
    assert early.check_equilibrium(_verdict(0.96), step=50) == []


def test_a_separating_classifier_silences_the_equilibrium_alert():
    def run(verdict):
        mon = Monitor("minimax", console=False)
        _stream(mon, 250, 0.8, 0.2, -0.45)  # D separates first: a later 1/2 is a real reading
        mon.check_equilibrium(verdict, step=250)
        _stream(mon, 300, 0.5, 0.5, -1.386)
        return {a.name for a in mon.alerts}

    assert "equilibrium" in run(_verdict(0.5))
    assert "equilibrium" not in run(_verdict(0.97))


def test_the_equilibrium_note_names_a_significant_edge_of_the_fresh_classifier():
    def note(verdict):
        mon = Monitor("minimax", console=False)
        _stream(mon, 250, 0.8, 0.2, -0.45)
        mon.check_equilibrium(verdict, step=250)
        _stream(mon, 300, 0.5, 0.5, -1.386)
        return [a.message for a in mon.alerts if a.name == "equilibrium"][-1]

    assert "fresh classifier" not in note(_verdict(0.5))  # chance: the note stands as it is
    edge = note(_verdict(0.66))  # significant, below the 70% that raises matched-discriminator
    assert "still tells real from generated apart 66.0% of the time" in edge and "round 250" in edge


def _train(over: dict, rounds: int, tmp_path=None, after=None):
    """Train ``rounds`` rounds of ring8's MLP GAN with ``over``; the monitor's sample check runs at the end."""
    cfg = load_preset("ring8").with_overrides({**VANILLA, "train.steps": rounds, **over})
    run_dir = None
    if tmp_path is not None:
        from ganforge.engine.rundir import create_run_dir

        run_dir = create_run_dir(tmp_path / "run", cfg)
    trainer = Trainer(cfg, run_dir=run_dir, callbacks=[])
    mon = Monitor("minimax", run_dir=run_dir, console=False)
    cb = mon.callback(sample_every=0)
    trainer.callbacks = [cb]
    for _ in range(rounds):
        trainer.step()
        if after is not None:
            after(trainer)
    cb.on_end(trainer)
    return mon, run_dir


def test_a_d_with_one_hidden_unit_is_matched_not_beaten(tmp_path):
    mon, run_dir = _train({"model.d_width": 1, "model.d_depth": 1}, 300, tmp_path)
    names = [a.name for a in mon.alerts]
    assert "matched-discriminator" in names, [a.message for a in mon.alerts]
    assert mon.last_c2st["accuracy"] > 0.9 and mon.last_c2st["d_distance"] < 0.15
    (line,) = [x for x in read_metrics(run_dir) if x["metric"] == "c2st"]  # both readings, recorded
    assert line["step"] == 300 and line["value"] == mon.last_c2st["accuracy"]
    assert line["values"]["d_distance"] == pytest.approx(mon.last_c2st["d_distance"])
    assert line["provenance"]["source"] == "training monitor" and line["provenance"]["classifier"].startswith("mlp")


def test_a_d_frozen_after_a_warm_up_is_matched_not_beaten():
    def freeze(trainer):
        if trainer.step_count == 100:
            trainer.set_lr(d=1e-12)  # the smallest learning rate the optimiser takes: D stops learning

    mon, _ = _train({"data.name": "line"}, 300, after=freeze)
    assert "matched-discriminator" in [a.name for a in mon.alerts], [a.message for a in mon.alerts]


def test_a_healthy_run_the_classifier_cannot_separate_stays_silent(tmp_path):
    # one wide Gaussian, which a small G learns in a few hundred rounds
    path = tmp_path / "origin.csv"
    np.savetxt(path, np.array([[0.0, 0.0]]), delimiter=",")
    over = {"data.name": "points", "data.path": str(path), "data.noise_std": 1.0, "model.g_depth": 1,
            "model.g_width": 32}
    mon, _ = _train(over, 400)
    assert mon.last_c2st["d_distance"] < 0.15  # D reads equilibrium: the alert's first half holds...
    assert not mon.last_c2st["separates"] and mon.last_c2st["ci_low"] < 0.7  # ...the classifier disagrees
    assert {a.name for a in mon.alerts if a.severity != "info"} == set(), [a.message for a in mon.alerts]
    torch.testing.assert_close(torch.tensor(mon.last_c2st["accuracy"]), torch.tensor(0.5), atol=0.1, rtol=0)
