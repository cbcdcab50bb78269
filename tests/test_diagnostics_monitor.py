"""The monitor on planted, synthetic stats streams and sample batches: each failure fires its alert,
a healthy stream fires none."""

from __future__ import annotations

import json
import math

import pytest
import torch

from ganforge.diagnostics.collapse import class_balance, sample_diversity
from ganforge.diagnostics.monitor import Alert, Monitor, equilibrium_distance, make_alert, read_alerts

LOG4 = math.log(4.0)


def _stream(n, d_real, d_fake, seed=0, noise=0.05, **extra):
    """A minimax stats stream with D(x), D(G(z)) given as functions of t plus noise."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for t in range(n):
        e = (torch.randn(3, generator=g) * noise).tolist()
        dr = min(max(d_real(t) + e[0], 1e-4), 1 - 1e-4)
        df = min(max(d_fake(t) + e[1], 1e-4), 1 - 1e-4)
        s = {
            "step": t + 1,
            "d_real": dr,
            "d_fake": df,
            "value": math.log(dr) + math.log(1 - df),
            "d_loss": -(math.log(dr) + math.log(1 - df)),
            "g_loss": -math.log(df),
            "real_logit": math.log(dr / (1 - dr)),
            "fake_logit": math.log(df / (1 - df)),
            "d_acc": min(max(0.5 + (dr - df) + e[2], 0.0), 1.0),
            "g_grad_norm": 1.0 + 0.1 * e[2],
            "d_grad_norm": 1.0 + 0.1 * e[0],
        }
        for k, f in extra.items():
            s[k] = f(t, s)
        out.append(s)
    return out


def _run(stream, family="minimax", **kw):
    mon = Monitor(family, console=False, **kw)
    for s in stream:
        mon.observe(s)
    return mon


def _names(mon, severities=("warning", "error")):
    return {a.name for a in mon.alerts if a.severity in severities}


def test_healthy_stream_fires_no_warning():
    # D slightly ahead and noisy, as in a working run
    mon = _run(_stream(1500, lambda t: 0.6, lambda t: 0.4, noise=0.08))
    assert _names(mon) == set()


def test_an_untrained_d_is_not_an_equilibrium():
    # D(x) = D(G(z)) = 1/2 from the start: D has learned nothing yet, which is no equilibrium
    mon = _run(_stream(400, lambda t: 0.5, lambda t: 0.5, noise=0.01))
    assert _names(mon) == set() and not mon.alerts


def test_equilibrium_is_reported_with_its_distance():
    # D first separates real from fake, then G catches up until D can only guess
    mon = _run(_stream(600, lambda t: 0.7 if t < 200 else 0.5, lambda t: 0.3 if t < 200 else 0.5, noise=0.01))
    eq = [a for a in mon.alerts if a.name == "equilibrium"]
    assert len(eq) == 1 and eq[0].severity == "info"
    assert "-log 4" in eq[0].message and eq[0].suggestion
    assert mon.equilibrium_distance() < 0.05
    assert _names(mon) == set()


def test_equilibrium_distance_scale():
    at_eq = [{"d_real": 0.5, "d_fake": 0.5, "value": -LOG4}]
    perfect_d = [{"d_real": 1.0, "d_fake": 0.0, "value": 0.0}]
    assert equilibrium_distance(at_eq) == pytest.approx(0.0)
    assert equilibrium_distance(perfect_d) == pytest.approx(1.0)
    assert equilibrium_distance([{"d_acc": 0.5}], "hinge") == pytest.approx(0.0)
    assert equilibrium_distance([{"real_logit": 3.0, "fake_logit": 1.0}], "wasserstein") == pytest.approx(2.0)


def test_discriminator_overpowering_with_vanishing_g_gradient():
    def g_grad(t, s):
        return 1.0 * math.exp(-t / 30)

    stream = _stream(400, lambda t: 0.995, lambda t: 0.005, noise=0.001, g_grad_norm=g_grad,
                     d_acc=lambda t, s: 1.0)
    mon = _run(stream)
    hits = [a for a in mon.alerts if a.name == "discriminator-overpowering"]
    assert len(hits) == 1 and hits[0].severity == "warning"
    assert "gradient norm fell" in hits[0].message
    assert "lr_d" in hits[0].suggestion


def test_generator_winning():
    mon = _run(_stream(400, lambda t: 0.3, lambda t: 0.7, noise=0.05))
    assert "generator-winning" in _names(mon)


def test_nan_fires_divergence_at_once():
    stream = _stream(50, lambda t: 0.6, lambda t: 0.4)
    stream[30]["d_loss"] = float("nan")
    mon = Monitor("minimax", console=False)
    fired_at = None
    for s in stream:
        if any(a.name == "divergence" for a in mon.observe(s)):
            fired_at = s["step"]
            break
    assert fired_at == 31
    assert mon.alerts[0].severity == "error"


def test_exploding_loss_fires_divergence():
    stream = _stream(300, lambda t: 0.6, lambda t: 0.4,
                     d_loss=lambda t, s: s["d_loss"] * (1.0 if t < 200 else 1.08 ** (t - 200)))
    mon = _run(stream)
    assert "divergence" in _names(mon)
    assert "d_loss" in [a for a in mon.alerts if a.name == "divergence"][0].message


def test_exploding_wasserstein_critic_relative_growth():
    # no absolute limit on the Wasserstein family: the growth relative to the window decides
    g = torch.Generator().manual_seed(0)
    stream = []
    for t in range(300):
        scale = 1.0 if t < 250 else 1.5 ** (t - 250)
        stream.append({"step": t + 1, "d_loss": float(-2 + torch.randn(1, generator=g)) * scale,
                       "g_loss": 1.0, "real_logit": 1.0 * scale, "fake_logit": -1.0 * scale,
                       "g_grad_norm": 1.0, "d_grad_norm": 1.0})
    assert "divergence" in _names(_run(stream, family="wasserstein"))
    assert _names(_run(stream[:250], family="wasserstein")) == set()


def test_oscillation_with_growing_amplitude():
    stream = _stream(400, lambda t: 0.6, lambda t: 0.4, noise=0.01,
                     d_loss=lambda t, s: 1.3 + 0.01 * 1.02 ** t * (-1) ** t,
                     g_loss=lambda t, s: 0.9 - 0.01 * 1.02 ** t * (-1) ** t)
    mon = _run(stream)
    osc = [a for a in mon.alerts if a.name == "oscillation"]
    assert osc and "lag 1" in osc[0].message


def test_slow_cycles_of_d_output_are_oscillation():
    # D(x) swinging between 0.15 and 0.85 with a 40-round period (the classic GAN cycle)
    mon = _run(_stream(600, lambda t: 0.5 + 0.35 * math.sin(2 * math.pi * t / 40),
                       lambda t: 0.5 - 0.35 * math.sin(2 * math.pi * t / 40), noise=0.02))
    assert "oscillation" in _names(mon)


def test_repeats_are_rate_limited_and_written(tmp_path):
    stream = _stream(1000, lambda t: 0.3, lambda t: 0.7, noise=0.02)
    mon = Monitor("minimax", run_dir=tmp_path, console=False, cooldown=500)
    new_counts = [len(mon.observe(s)) for s in stream]
    hits = [a for a in mon.alerts if a.name == "generator-winning"]
    assert [a.step for a in hits] == [200, 700]
    assert sum(new_counts) == len(mon.alerts)
    lines = read_alerts(tmp_path)
    assert [line["name"] for line in lines] == [a.name for a in mon.alerts]
    for line in lines:
        assert set(line) >= {"name", "step", "severity", "message", "suggestion"}
        assert line["severity"] in ("info", "warning", "error")
    json.dumps(lines, allow_nan=False)


def test_console_output(capsys):
    mon = Monitor("minimax", console=True)
    mon.observe({"step": 1, "d_loss": float("inf"), "g_loss": 1.0})
    err = capsys.readouterr().err
    assert "divergence" in err and "try:" in err


def test_alert_to_dict_roundtrip():
    a = Alert("divergence", 3, "error", "m", "s")
    assert a.to_dict() == {"name": "divergence", "step": 3, "severity": "error", "message": "m",
                           "suggestion": "s", "details": {}}


def test_unknown_family_is_rejected():
    with pytest.raises(ValueError):
        Monitor("minmax")


# ------------------------------------------------------------------ samples


def _ring(k=8):
    a = torch.arange(k) * (2 * math.pi / k)
    return torch.stack([torch.cos(a), torch.sin(a)], 1)


def _mix(centers, std, n, seed, modes=None):
    g = torch.Generator().manual_seed(seed)
    modes = torch.tensor(modes if modes is not None else list(range(centers.shape[0])))
    idx = modes[torch.randint(0, len(modes), (n,), generator=g)]
    return centers[idx] + std * torch.randn(n, centers.shape[1], generator=g)


def test_constant_generator_is_mode_collapse():
    real = torch.rand(256, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    fake = torch.full((256, 1, 8, 8), 0.3)
    mon = Monitor("minimax", console=False)
    alerts = mon.check_samples(real, fake, step=10)
    assert [a.name for a in alerts] == ["mode-collapse"]
    assert alerts[0].severity == "error"
    assert mon.last_sample_check["diversity"]["fake_dup_rate"] == 1.0


def test_healthy_samples_fire_nothing():
    c = _ring()
    mon = Monitor("minimax", console=False)
    assert mon.check_samples(_mix(c, 0.01, 2500, 0), _mix(c, 0.01, 2500, 1), centers=c, std=0.01) == []
    imgs = torch.rand(300, 1, 8, 8, generator=torch.Generator().manual_seed(2)) * 2 - 1
    imgs2 = torch.rand(300, 1, 8, 8, generator=torch.Generator().manual_seed(3)) * 2 - 1
    labels = torch.arange(300) % 10
    assert mon.check_samples(imgs, imgs2, real_labels=labels, fake_labels=labels.flip(0), n_classes=10) == []


def test_known_modes_collapse_and_missing_modes():
    c = _ring()
    real = _mix(c, 0.01, 2500, 0)
    mon = Monitor("minimax", console=False, cooldown=0)
    a = mon.check_samples(real, _mix(c, 0.01, 2500, 1, modes=[2, 5]), centers=c, std=0.01, step=5)
    assert a[0].name == "mode-collapse" and "2 of 8 modes" in a[0].message and a[0].severity == "error"
    b = mon.check_samples(real, _mix(c, 0.01, 2500, 1, modes=[0, 1, 2, 3, 4, 5, 6]), centers=c, std=0.01, step=6)
    assert b[0].name == "modes-missing" and b[0].severity == "info"


def test_class_histogram_collapse():
    imgs = torch.rand(300, 1, 8, 8, generator=torch.Generator().manual_seed(2)) * 2 - 1
    imgs2 = torch.rand(300, 1, 8, 8, generator=torch.Generator().manual_seed(3)) * 2 - 1
    real_labels = torch.arange(300) % 10
    fake_labels = torch.arange(300) % 2  # only digits 0 and 1
    mon = Monitor("minimax", console=False)
    a = mon.check_samples(imgs, imgs2, real_labels=real_labels, fake_labels=fake_labels, n_classes=10)
    assert a and a[0].name == "mode-collapse" and "cover 2 of 10" in a[0].message


def test_diversity_and_class_balance_numbers():
    x = torch.randn(100, 5, generator=torch.Generator().manual_seed(0))
    d = sample_diversity(x, x)
    assert d.ratio == pytest.approx(1.0) and d.fake_dup_rate == d.real_dup_rate
    half = sample_diversity(x, 0.5 * x)
    assert half.ratio == pytest.approx(0.5)
    b = class_balance(torch.tensor([0, 0, 1, 1]), 4)
    assert b.covered == 2 and b.kl_to_uniform == pytest.approx(math.log(2))
    assert b.entropy == pytest.approx(math.log(2))


def test_vanishing_gradient_of_a_wasserstein_critic():
    # weight clipping gone wrong: the critic separates the sets and G's gradient dies
    stream = [{"step": t + 1, "d_loss": -5.0, "g_loss": 3.0, "real_logit": 2.0, "fake_logit": -3.0,
               "g_grad_norm": 1.0 if t < 50 else 0.0, "d_grad_norm": 0.1} for t in range(400)]
    mon = _run(stream, family="wasserstein")
    hits = [a for a in mon.alerts if a.name == "discriminator-overpowering"]
    assert hits and "nan" not in hits[0].message and "G no longer learns" in hits[0].message


def test_non_finite_numbers_of_an_alert_are_written_as_null(tmp_path):
    # an overpowering alert whose window had no d_acc carries a NaN accuracy in its details
    mon = Monitor("minimax", run_dir=tmp_path, console=False)
    alert = make_alert("discriminator-overpowering", 7, d_acc=float("nan"), n=100, acc_text="", d_real=0.9,
                       d_fake=float("inf"), grad_note="")
    assert mon._emit([alert]) == [alert]
    text = (tmp_path / "alerts.jsonl").read_text()
    line = json.loads(text)  # strict JSON: NaN and Infinity are not JSON
    assert "NaN" not in text and "Infinity" not in text
    assert line["details"]["d_acc"] is None and line["details"]["d_fake"] is None and line["details"]["d_real"] == 0.9
