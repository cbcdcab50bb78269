"""Lab sessions and the server: live changes, rebuilds, guided steps, failures, save/load, cleanup."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

with warnings.catch_warnings():  # starlette suggests another HTTP client package; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ganforge.engine.checkpoint import latest_checkpoint
from ganforge.lab.outbox import Outbox
from ganforge.lab.server import STATIC, create_app
from ganforge.lab.session import LabSession
from ganforge.lab.settings import LabSettings
from ganforge.lab.snapshot import (
    HEAT_RES,
    MESH_RES,
    N_SHOW,
    Nets,
    generator_arrows,
    value_terms,
)
from ganforge.objectives import get_objective
from tests.lab_messages import receive_until
from tests.lab_messages import wait_for as _wait_for

SMALL = dict(g_width=32, d_width=32, g_depth=2, d_depth=2, batch_size=64)


def arr(b64: str, *shape) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<f4").reshape(*shape)


class Harness:
    """A session on its own outbox, with helpers to wait for messages."""

    def __init__(self, workspace: Path, **settings):
        self.outbox = Outbox()
        self.session = LabSession("test", workspace, self.outbox, snapshot_hz=50,
                                  settings=LabSettings(**{**SMALL, **settings}))
        self.session.start()
        self.seen: list[dict] = []
        self._unread: list[dict] = []

    def send(self, msg: dict) -> None:
        self.session.submit(json.dumps(msg))

    def wait(self, pred, timeout: float = 15.0) -> dict:
        """The first new message satisfying ``pred``."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self._unread.extend(self.outbox.drain())
            while self._unread:
                m = self._unread.pop(0)
                self.seen.append(m)
                if pred(m):
                    return m
            time.sleep(0.005)
        raise AssertionError(f"no matching message within {timeout}s; last: {[m.get('type') for m in self.seen[-5:]]}")

    def snapshot(self, pred=lambda m: True, timeout: float = 15.0) -> dict:
        return self.wait(lambda m: m["type"] == "snapshot" and "real" in m and pred(m), timeout)

    def acked(self, seq: int) -> dict:
        return self.snapshot(lambda m: m["ack"] is not None and m["ack"] >= seq)

    def close(self):
        self.session.close()


@pytest.fixture
def lab(tmp_path):
    h = Harness(tmp_path)
    h.snapshot()
    yield h
    h.close()


def params(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


# ---------------------------------------------------------------------- snapshots


def test_snapshot_holds_every_view_of_the_2d_game(lab):
    lab.send({"type": "control", "action": "step_round", "seq": 1})
    s = lab.acked(1)
    assert s["dim"] == 2 and s["step"] == 1 and s["objective"] == "nonsaturating"
    heat = arr(s["heat"], HEAT_RES, HEAT_RES)
    assert heat.min() >= 0 and heat.max() <= 1  # a probability for the minimax family
    real, fake, arrows = arr(s["real"], N_SHOW, 2), arr(s["fake"], N_SHOW, 2), arr(s["arrows"], N_SHOW, 2)
    assert np.isfinite(real).all() and np.isfinite(fake).all() and np.abs(arrows).sum() > 0
    assert arr(s["mesh"], MESH_RES * MESH_RES, 2).shape == (MESH_RES * MESH_RES, 2)
    t = s["terms"]
    assert t["value"] == pytest.approx(t["log_d_real"] + t["log_one_minus_d_fake"])
    assert t["equilibrium"] == pytest.approx(-np.log(4))
    assert set(s["chart"]) >= {"d_loss", "g_loss", "d_real", "d_fake"}
    assert {"modes", "n_modes", "hq", "js"} <= set(s["metrics"]) and s["metrics"]["n_modes"] == 8
    # the fakes drawn are G on the view's fixed latent batch
    z = lab.session.view.z
    with torch.no_grad():
        expected = lab.session.trainer.G(z).numpy()
    np.testing.assert_allclose(fake, expected, atol=1e-5)


def test_the_1d_mode_draws_the_gan_paper_figure(tmp_path):
    h = Harness(tmp_path, target="gauss1d", z_dim=1, noise="uniform", show_dstar=True)
    try:
        s = h.snapshot()
        assert s["dim"] == 1 and "heat" not in s
        x = arr(s["x_grid"], -1)
        p_data = arr(s["p_data"], -1)
        assert x[np.argmax(p_data)] == pytest.approx(2.0, abs=0.1)  # N(2, 0.5^2)
        assert np.trapezoid(p_data, x) == pytest.approx(1.0, abs=0.02)
        for key in ("p_g", "d_curve", "dstar_curve"):
            assert arr(s[key], -1).shape == x.shape
        d_star = arr(s["dstar_curve"], -1)
        assert d_star.min() >= 0 and d_star.max() <= 1
        assert s["z_range"] == [-1.0, 1.0]  # uniform noise
        assert arr(s["mesh"], -1).shape == arr(s["z_line"], -1).shape  # one G(z) per z on the line
    finally:
        h.close()


def test_arrows_are_minus_the_gradient_of_gs_loss():
    # a linear D(x) = w.x: for the Wasserstein G loss -mean(D), the per-sample gradient is -w,
    # so G moves every sample along +w
    D = torch.nn.Linear(2, 1)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([[3.0, -1.0]]))
    G = torch.nn.Linear(2, 2)
    nets = Nets(G, D, get_objective("wasserstein"), pack=1)
    fake = torch.randn(5, 2)
    arrows, logits = generator_arrows(nets, fake)
    torch.testing.assert_close(arrows, torch.tensor([[3.0, -1.0]]).expand(5, 2))
    torch.testing.assert_close(logits, D(fake).squeeze(1).detach())
    # packing replicates each point: same arrows per point
    nets_packed = Nets(G, torch.nn.Sequential(torch.nn.Flatten(0), torch.nn.Unflatten(0, (-1, 4)),
                                              torch.nn.Linear(4, 1)), get_objective("wasserstein"), pack=2)
    a2, l2 = generator_arrows(nets_packed, fake)
    assert a2.shape == (5, 2) and l2.shape == (5,)


def test_value_terms_follow_the_formula():
    real, fake = torch.tensor([0.0, 2.0]), torch.tensor([-1.0, 0.0])
    t = value_terms(real, fake)
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    assert t["log_d_real"] == pytest.approx(float(torch.log(d_real).mean()))
    assert t["log_one_minus_d_fake"] == pytest.approx(float(torch.log(1 - d_fake).mean()))
    at_half = value_terms(torch.zeros(4), torch.zeros(4))
    assert at_half["value"] == pytest.approx(at_half["equilibrium"])


# ---------------------------------------------------------------------- live changes and rebuilds


def test_objective_lr_and_steps_change_live_without_new_networks(lab):
    G, D = lab.session.trainer.G, lab.session.trainer.D
    lab.send({"type": "set", "seq": 1, "settings": {"objective": "wgan-gp", "lr_g": 0.005, "d_steps": 3}})
    s = lab.acked(1)
    t = lab.session.trainer
    assert t.G is G and t.D is D  # the same networks
    assert t.objective.name == "wgan-gp" and s["objective"] == "wgan-gp" and s["heat_kind"] == "score"
    assert t.opt_g.param_groups[0]["lr"] == 0.005 and t.cfg.train.d_steps == 3
    assert lab.session.state()["objective"] == "wgan-gp"
    lab.send({"type": "control", "action": "step_round", "seq": 2})
    s = lab.acked(2)
    assert s["d_updates"] == 3 and s["g_updates"] == 1


def test_shape_changes_rebuild_and_others_keep_the_weights(lab):
    old = lab.session.trainer
    before = params(old.G)
    lab.send({"type": "set", "seq": 1, "settings": {"batch_size": 32, "opt_d": "rmsprop"}})
    lab.acked(1)
    kept = lab.session.trainer
    assert kept is not old and kept.cfg.train.batch_size == 32
    assert isinstance(kept.opt_d, torch.optim.RMSprop)
    assert same(params(kept.G), before)
    lab.send({"type": "set", "seq": 2, "settings": {"g_width": 16}})
    s = lab.acked(2)
    rebuilt = lab.session.trainer
    assert rebuilt.G[0].out_features == 16 if isinstance(rebuilt.G, torch.nn.Sequential) else True
    assert sum(p.numel() for p in rebuilt.G.parameters()) < sum(p.numel() for p in kept.G.parameters())
    assert s["run"] > 1 and s["step"] == 0


def test_single_steps_update_only_their_network(lab):
    t = lab.session.trainer
    g0, d0 = params(t.G), params(t.D)
    lab.send({"type": "control", "action": "step_d", "seq": 1})
    s = lab.acked(1)
    assert same(params(t.G), g0) and not same(params(t.D), d0)
    assert s["d_updates"] == 1 and s["g_updates"] == 0 and s["step"] == 0
    g1, d1 = params(t.G), params(t.D)
    lab.send({"type": "control", "action": "step_g", "seq": 2})
    s = lab.acked(2)
    assert not same(params(t.G), g1) and same(params(t.D), d1)
    assert s["g_updates"] == 1


def test_guided_round_walks_through_fakes_then_d_then_g(lab):
    t = lab.session.trainer
    g0, d0 = params(t.G), params(t.D)
    lab.send({"type": "guided", "action": "start", "seq": 1})
    s = lab.acked(1)
    assert s["guided"]["index"] == 0 and "fakes" in s["guided"]["title"]
    assert same(params(t.G), g0) and same(params(t.D), d0)  # making fakes trains nothing
    lab.send({"type": "guided", "action": "next", "seq": 2})
    s = lab.acked(2)
    assert s["guided"]["index"] == 1 and "heat" in s["guided"]["highlight"]
    assert same(params(t.G), g0) and not same(params(t.D), d0)
    d1 = params(t.D)
    lab.send({"type": "guided", "action": "next", "seq": 3})
    s = lab.acked(3)
    assert s["guided"]["index"] == 2 and s["step"] == 1
    assert not same(params(t.G), g0) and same(params(t.D), d1)
    lab.send({"type": "guided", "action": "fast", "seq": 4})
    lab.snapshot(lambda m: m["guided"] and m["guided"]["fast"] and m["step"] >= 2)  # it keeps going by itself
    lab.send({"type": "guided", "action": "stop", "seq": 5})
    assert lab.acked(5)["guided"] is None


def test_drawn_points_become_the_training_data(lab):
    points = [[1.0, 1.0], [1.1, 0.9], [-1.0, 0.5]]
    lab.send({"type": "draw", "seq": 1, "points": points, "std": 0.05})
    s = lab.acked(1)
    data = lab.session.trainer.data
    assert data.name == "points" and s["settings"]["target"] == "drawn" and s["settings"]["drawn"] == 3
    torch.testing.assert_close(data.centers, torch.tensor(points))
    np.testing.assert_allclose(lab.session.state()["dataset_points"], points, rtol=1e-6)
    real = arr(s["real"], N_SHOW, 2)
    nearest = np.min(np.linalg.norm(real[:, None, :] - np.array(points)[None], axis=2), axis=1)
    assert nearest.max() < 0.5  # the real samples on screen come from the drawing


def test_story_sets_everything_and_plays(lab):
    lab.send({"type": "story", "name": "wgan-gp-recovers", "seq": 1})
    s = lab.acked(1)
    assert s["story"]["name"] == "wgan-gp-recovers" and s["playing"]
    t = lab.session.trainer
    assert t.objective.name == "wgan-gp" and t.cfg.train.d_steps == 5 and t.cfg.loss.gp_weight == 10.0
    lab.send({"type": "story", "name": "no-such-story", "seq": 2})
    assert "unknown story" in lab.wait(lambda m: m["type"] == "error")["message"]


# ---------------------------------------------------------------------- errors


def test_invalid_messages_report_an_error_and_the_session_keeps_training(lab):
    lab.send({"type": "control", "action": "play", "seq": 1})
    first = lab.snapshot(lambda m: m["step"] > 0)
    lab.session.submit('{"type": "set", "settings": {"lr_g": -5}}')
    err = lab.wait(lambda m: m["type"] == "error")
    assert err["field"] == "lr_g" and "greater than" in err["message"]
    lab.session.submit("{not json")
    assert "JSON" in lab.wait(lambda m: m["type"] == "error")["message"]
    lab.send({"type": "set", "seq": 2, "settings": {"batch_size": 60, "pack": 8}})  # 60 is not a multiple of 8
    assert "multiple" in lab.wait(lambda m: m["type"] == "error")["message"]
    later = lab.snapshot(lambda m: m["step"] > first["step"] + 5)
    assert later["playing"] and lab.session.trainer.opt_g.param_groups[0]["lr"] == 1e-3
    assert lab.session.settings.pack == 1


def test_a_crash_in_training_is_reported_and_recoverable(lab):
    def boom():
        raise RuntimeError("simulated failure")

    lab.session.trainer.step = boom
    lab.send({"type": "control", "action": "play", "seq": 1})
    err = lab.wait(lambda m: m["type"] == "error")
    assert "simulated failure" in err["message"] and "paused" in err["message"]
    lab.send({"type": "state", "seq": 2})
    state = lab.wait(lambda m: m["type"] == "state")
    assert state["failed"] and not state["playing"] and lab.session.alive
    s = lab.snapshot()
    assert s["failed"] and not s["playing"]
    lab.send({"type": "control", "action": "reset", "seq": 3})
    lab.send({"type": "control", "action": "play", "seq": 4})
    s = lab.snapshot(lambda m: m["step"] > 3)
    assert not s["failed"]


# ---------------------------------------------------------------------- experiments


def test_save_and_load_round_trip_through_engine_checkpoints(tmp_path):
    h = Harness(tmp_path, target="moons", lr_d=0.002)
    try:
        h.snapshot()
        h.send({"type": "control", "action": "step_round", "seq": 1})
        h.acked(1)
        h.send({"type": "save", "name": "exp-1", "seq": 2})
        saved = h.wait(lambda m: m["type"] == "saved")
        assert saved["name"] == "exp-1" and saved["step"] == 1
        assert str(tmp_path) not in json.dumps(saved)  # names only, never the workspace's location
        checkpoint = latest_checkpoint(tmp_path / "exp-1")
        assert (checkpoint / "state.json").is_file() and any(checkpoint.glob("*.safetensors"))
        assert not list(checkpoint.glob("*.pt")) and not list(checkpoint.glob("*.pkl"))
        g_saved = params(h.session.trainer.G)
        h.send({"type": "list", "seq": 3})
        assert h.wait(lambda m: m["type"] == "experiments")["names"] == ["exp-1"]
        h.send({"type": "set", "seq": 4, "settings": {"target": "ring8", "g_width": 16}})
        h.acked(4)
        h.send({"type": "load", "name": "exp-1", "seq": 5})
        loaded = h.wait(lambda m: m["type"] == "loaded")
        assert loaded["step"] == 1 and loaded["settings"]["target"] == "moons" and loaded["settings"]["lr_d"] == 0.002
        assert same(params(h.session.trainer.G), g_saved)
        h.send({"type": "load", "name": "missing", "seq": 6})
        assert "no experiment" in h.wait(lambda m: m["type"] == "error")["message"]
    finally:
        h.close()


def test_steps_guided_rounds_and_rebuilds_count_on_the_trainer_and_reload(tmp_path):
    """Every way of training advances the trainer's own counts, and a saved experiment reloads them."""
    h = Harness(tmp_path, d_steps=2)
    try:
        h.snapshot()
        counts = lambda m: (m["step"], m["d_updates"], m["g_updates"])
        h.send({"type": "control", "action": "step_d", "seq": 1})
        assert counts(h.acked(1)) == (0, 1, 0)
        h.send({"type": "control", "action": "step_g", "seq": 2})  # a G update ends a round
        assert counts(h.acked(2)) == (1, 1, 1)
        h.send({"type": "control", "action": "step_round", "seq": 3})  # d_steps = 2 D updates, one G
        assert counts(h.acked(3)) == (2, 3, 2)
        for seq, action in enumerate(("start", "next", "next"), start=4):  # fakes, 2 D updates, G
            h.send({"type": "guided", "action": action, "seq": seq})
        assert counts(h.acked(6)) == (3, 5, 3)
        h.send({"type": "set", "seq": 7, "settings": {"batch_size": 32}})  # new trainer, same weights: counts go on
        assert counts(h.acked(7)) == (3, 5, 3)
        t = h.session.trainer
        assert (t.step_count, t.d_updates, t.g_updates) == (3, 5, 3)
        h.send({"type": "save", "name": "counted", "seq": 8})
        assert h.wait(lambda m: m["type"] == "saved")["step"] == 3
        h.send({"type": "control", "action": "reset", "seq": 9})
        assert counts(h.acked(9)) == (0, 0, 0)
        h.send({"type": "load", "name": "counted", "seq": 10})
        loaded = h.wait(lambda m: m["type"] == "loaded")
        assert (loaded["step"], loaded["d_updates"], loaded["g_updates"]) == (3, 5, 3)
        assert counts(h.acked(10)) == (3, 5, 3)
        h.send({"type": "state", "seq": 11})
        assert h.wait(lambda m: m["type"] == "state")["rounds"] == 3
        h.send({"type": "control", "action": "step_round", "seq": 12})
        assert counts(h.acked(12)) == (4, 7, 4)
    finally:
        h.close()


# ---------------------------------------------------------------------- the server


@pytest.fixture
def client(tmp_path):
    app = create_app(tmp_path, max_sessions=2, hosts=["testserver"])
    with TestClient(app) as c:
        c.registry = app.state.registry
        c.token = app.state.token
        c.ws_url = f"/ws?token={app.state.token}"
        yield c



def test_page_and_assets_are_served_with_no_outside_references(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/lab.js" in page.text
    for name in ("lab.js", "lab.css", "favicon.svg"):
        assert client.get(f"/static/{name}").status_code == 200
    for path in STATIC.iterdir():
        text = path.read_text()
        # no CDN, no web fonts, no remote images: the page must work offline
        assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", text), path.name
        assert "@import" not in text and "url(http" not in text, path.name


def test_websocket_session_streams_validates_and_reports_state(client):
    with client.websocket_connect(client.ws_url) as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and "nonsaturating" in hello["objectives"]
        sid = hello["session"]
        ws.send_text(json.dumps({"type": "control", "action": "play", "seq": 1}))
        receive_until(ws, lambda m: m["type"] == "snapshot" and m["step"] > 0)
        ws.send_text(json.dumps({"type": "set", "settings": {"lr_g": "abc"}}))
        err = receive_until(ws, lambda m: m["type"] == "error")
        assert err["field"] == "lr_g"
        ws.send_text(json.dumps({"type": "set", "seq": 2, "settings": {"objective": "hinge"}}))
        receive_until(ws, lambda m: m["type"] == "snapshot" and (m["ack"] or 0) >= 2)
        state = client.get(f"/api/sessions/{sid}", params={"token": client.token}).json()
        assert state["objective"] == "hinge" and state["errors"] == 1
        ws.send_text("x" * (70 * 1024))  # above the message limit, below the frame limit
        assert "too large" in receive_until(ws, lambda m: m["type"] == "error")["message"]
        step = receive_until(ws, lambda m: m["type"] == "snapshot")["step"]
        receive_until(ws, lambda m: m["type"] == "snapshot" and m["step"] > step)  # still training
    assert client.get(f"/api/sessions/{sid}", params={"token": client.token}).status_code == 404


def test_sessions_are_capped(client):
    with client.websocket_connect(client.ws_url) as a, client.websocket_connect(client.ws_url) as b:
        a.receive_json(), b.receive_json()
        with client.websocket_connect(client.ws_url) as c:
            m = c.receive_json()
            assert m["type"] == "error" and m["fatal"] and "already runs 2" in m["message"]


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0




def test_rapid_connects_and_disconnects_release_everything(client):
    def cycle(n, play):
        for _ in range(n):
            with client.websocket_connect(client.ws_url) as ws:
                ws.receive_json()
                if play:
                    ws.send_text(json.dumps({"type": "control", "action": "play"}))
                    receive_until(ws, lambda m: m["type"] == "snapshot" and m["step"] > 0)
        assert _wait_for(lambda: len(client.registry) == 0)

    def lab_threads():
        return [t.name for t in threading.enumerate() if t.name.startswith("lab-")]

    cycle(3, play=True)  # warm up allocators, caches and the server's thread pool
    rss = _rss_mb()
    cycle(10, play=True)
    cycle(20, play=False)
    assert _wait_for(lambda: not lab_threads()), lab_threads()
    assert client.get("/api/health", params={"token": client.token}).json()["sessions"] == 0
    assert _rss_mb() - rss < 60, "memory grew with every session"


@pytest.mark.parametrize(
    "settings",
    [
        {"spectral_norm": True, "pack": 2, "objective": "hinge"},
        {"z_dim": 5, "noise": "uniform", "objective": "lsgan", "opt_g": "sgd", "opt_d": "rmsprop"},
        {"z_dim": 1, "objective": "wasserstein", "target": "spiral", "show_dstar": True},
        {"objective": "minimax", "target": "bimodal1d", "z_dim": 3, "pack": 4},
    ],
)
def test_every_kind_of_network_trains_and_draws(tmp_path, settings):
    h = Harness(tmp_path, **settings)
    try:
        h.snapshot()
        h.send({"type": "control", "action": "step_round", "seq": 1})
        s = h.acked(1)
        assert not s["failed"] and s["step"] == 1
        assert not [m for m in h.seen if m["type"] == "error"]
        n_mesh = int(np.prod(s["mesh_shape"]))
        assert arr(s["mesh"], n_mesh, s["dim"]).shape == (n_mesh, s["dim"])
        arrows = arr(s["arrows"], N_SHOW, s["dim"])
        assert np.isfinite(arrows).all()
        if settings.get("show_dstar") and s["dim"] == 2:
            d_star = arr(s["dstar"], HEAT_RES * HEAT_RES)
            assert d_star.min() >= 0 and d_star.max() <= 1
        # every objective can be switched to live on these networks
        for i, name in enumerate(["nonsaturating", "wgan-gp", "lsgan"], start=2):
            h.send({"type": "set", "seq": i, "settings": {"objective": name}})
            assert h.acked(i)["objective"] == name
        h.send({"type": "control", "action": "step_round", "seq": 9})
        assert not h.acked(9)["failed"]
    finally:
        h.close()


def test_speed_caps_the_training_rate(lab):
    lab.send({"type": "set", "settings": {"speed": 20}})
    lab.send({"type": "control", "action": "play", "seq": 1})
    start = lab.acked(1)
    t0 = time.monotonic()
    time.sleep(2.0)
    later = lab.snapshot()
    rate = (later["step"] - start["step"]) / (time.monotonic() - t0)
    assert 10 <= rate <= 25
