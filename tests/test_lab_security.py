"""Only the lab's own page may drive it: Host, Origin and token checks, the experiments quota,
replies without paths, deep JSON, and pages that stop reading."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
import warnings

import pytest
from starlette.websockets import WebSocketDisconnect

with warnings.catch_warnings():  # starlette suggests another HTTP client package; httpx works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from ganforge.engine.checkpoint import latest_checkpoint
from ganforge.lab import experiments
from ganforge.lab.experiments import Quota, QuotaError
from ganforge.lab.outbox import Outbox
from ganforge.lab.protocol import (
    MAX_DEPTH,
    MAX_MESSAGE_BYTES,
    ProtocolError,
    nesting_depth,
    parse_message,
)
from ganforge.lab.security import Guard, bound_names, is_loopback, new_token, split_host
from ganforge.lab.server import bind_socket, create_app, make_server
from ganforge.lab.session import LabSession
from ganforge.lab.settings import LabSettings
from tests.lab_messages import receive_until
from tests.lab_messages import wait_for as _wait_for

SMALL = {"g_width": 16, "d_width": 16, "g_depth": 1, "d_depth": 1, "batch_size": 32}


# ---------------------------------------------------------------------- the checks themselves


def test_host_must_name_the_bound_address_and_port():
    g = Guard(["localhost", "127.0.0.1", "::1"], port=8765)
    for ok in ("localhost:8765", "127.0.0.1:8765", "[::1]:8765", "LOCALHOST:8765"):
        assert g.host_ok(ok), ok
    for bad in ("evil.example:8765", "127.0.0.1:8766", "127.0.0.1", "localhost.evil.example:8765", "",
                None, "127.0.0.1:8765@evil.example", "127.0.0.1:99999", "[::1", "127.0.0.1:x"):
        assert not g.host_ok(bad), bad
    assert Guard(["127.0.0.1"], port=80).host_ok("127.0.0.1")  # browsers leave out port 80
    assert Guard(["127.0.0.1"], port=None).host_ok("127.0.0.1:4321")  # port not yet known: any
    assert split_host("[::1]:8080") == ("::1", 8080) and split_host("a/b") is None


def test_origin_must_be_the_labs_own_page():
    g = Guard(["127.0.0.1", "localhost"], port=8765)
    host = "127.0.0.1:8765"
    assert g.origin_ok("http://127.0.0.1:8765", host)
    assert g.origin_ok(None, host)  # not a browser: left to the token
    for bad in ("http://127.0.0.1:8766", "http://localhost:8765", "http://evil.example", "null", "file://",
                "http://127.0.0.1:8765.evil.example", "ftp://127.0.0.1:8765", "http://127.0.0.1:8765/x", ""):
        assert not g.origin_ok(bad, host), bad


def test_token_is_random_and_compared_exactly():
    a, b = new_token(), new_token()
    assert a != b and len(a) >= 40
    g = Guard(["127.0.0.1"], token=a)
    assert g.token_ok(a)
    for bad in (None, "", b, a[:-1], a + "x", a.upper() if a.upper() != a else a + "A", "é" * 43, "\udcff"):
        assert not g.token_ok(bad), bad


def test_loopback_and_wildcard_binds():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")
    assert bound_names("127.0.0.1") == {"localhost", "127.0.0.1", "::1"}
    assert "192.168.1.5" in bound_names("192.168.1.5")
    wildcard = bound_names("0.0.0.0")
    assert socket.gethostname().lower() in wildcard and "127.0.0.1" in wildcard


# ---------------------------------------------------------------------- the server


@pytest.fixture
def app(tmp_path):
    return create_app(tmp_path / "ws", max_sessions=2, hosts=["testserver"], quota=Quota(max_experiments=1))


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def test_a_foreign_host_is_refused_everywhere_and_the_right_one_served(client, app):
    evil = {"host": "rebound.evil.example"}
    for path in ("/", "/static/lab.js", "/api/health", "/api/sessions", f"/api/sessions?token={app.state.token}"):
        r = client.get(path, headers=evil)
        assert r.status_code == 400 and "Host" in r.text, path
        assert "ganforge lab" not in r.text
    assert client.get("/").status_code == 200 and "ganforge lab" in client.get("/").text
    assert client.get("/static/lab.js").status_code == 200
    # the WebSocket handshake too, even with the token
    with pytest.raises(Exception) as refused, client.websocket_connect(f"/ws?token={app.state.token}", headers=evil):
        pass
    assert getattr(refused.value, "status_code", None) == 400
    assert len(app.state.registry) == 0


@pytest.mark.parametrize("query, origin", [
    ("", None),  # no token
    ("?token=wrong", None),  # a wrong token
    ("?token=", None),
    ("?token={token}", "http://127.0.0.1:9999"),  # the right token from another page
    ("?token={token}", "null"),
])
def test_the_websocket_needs_the_token_and_the_labs_origin(client, app, query, origin):
    headers = {"origin": origin} if origin else {}
    url = "/ws" + query.format(token=app.state.token)
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(url, headers=headers):
        pass
    assert refused.value.code == 1008  # refused before the handshake (HTTP 403): no session was made
    assert len(app.state.registry) == 0


def test_the_right_token_and_origin_get_a_session(client, app):
    for headers in ({"origin": "http://testserver"}, {}):
        with client.websocket_connect(f"/ws?token={app.state.token}", headers=headers) as ws:
            assert ws.receive_json()["type"] == "hello"


def test_session_state_needs_the_token_and_health_reveals_nothing(client, app):
    with client.websocket_connect(f"/ws?token={app.state.token}") as ws:
        sid = ws.receive_json()["session"]
        for path in ("/api/sessions", f"/api/sessions/{sid}"):
            assert client.get(path).status_code == 403
            assert client.get(path, params={"token": "wrong"}).status_code == 403
            assert client.get(path, headers={"authorization": "Bearer wrong"}).status_code == 403
        assert client.get("/api/sessions", params={"token": app.state.token}).json()[0]["session"] == sid
        auth = {"authorization": f"Bearer {app.state.token}"}
        assert client.get(f"/api/sessions/{sid}", headers=auth).json()["session"] == sid
        assert client.get("/api/health").json() == {"ok": True}
        assert client.get("/api/health", headers=auth).json() == {"ok": True, "sessions": 1}



def test_deeply_nested_json_gets_an_error_and_the_session_goes_on(client, app):
    deep = "[" * 20000 + "]" * 20000
    assert len(deep) < MAX_MESSAGE_BYTES
    with pytest.raises(RecursionError):  # what the session used to die of
        json.loads("[" * 200000 + "]" * 200000)
    with client.websocket_connect(f"/ws?token={app.state.token}") as ws:
        ws.receive_json()
        ws.send_text(deep)
        assert "nests" in receive_until(ws, lambda m: m["type"] == "error")["message"]
        nested_objects = "{\"a\": " * 5000 + "1" + "}" * 5000
        ws.send_text('{"type": "control", "action": "step_round", "seq": 1, "x": ' + nested_objects + "}")
        assert "nests" in receive_until(ws, lambda m: m["type"] == "error")["message"]
        ws.send_text(json.dumps({"type": "control", "action": "step_round", "seq": 2}))
        s = receive_until(ws, lambda m: m["type"] == "snapshot" and (m["ack"] or 0) >= 2)
        assert s["step"] == 1 and not s["failed"]


def test_nesting_depth_counts_brackets_outside_strings():
    assert nesting_depth('{"a": [[1, 2]]}') == 3
    assert nesting_depth('{"a": "[[[[[[[[[[[[[[[[[[[[", "b": "\\\\"}') == 1
    assert nesting_depth('{"a": "\\"[[[[[[[[[[[[[["}') == 1
    assert nesting_depth("[" * 50 + "]" * 50) == 50
    ok = '{"type": "draw", "points": [[0, 1]]}'
    assert parse_message(ok).points == [(0.0, 1.0)]
    with pytest.raises(ProtocolError, match=f"at most {MAX_DEPTH}"):
        parse_message('{"type": "state", "x": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}")


# ---------------------------------------------------------------------- the quota and what replies reveal


class Harness:
    def __init__(self, workspace, quota):
        self.outbox = Outbox()
        self.session = LabSession("q", workspace, self.outbox, snapshot_hz=50, settings=LabSettings(**SMALL),
                                  quota=quota)
        self.session.start()

    def send(self, msg):
        self.session.submit(json.dumps(msg))

    def wait(self, kind, timeout=15.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for m in self.outbox.drain():
                if m["type"] == kind:
                    return m
            time.sleep(0.005)
        raise AssertionError(f"no {kind} message")


@pytest.fixture
def harness(tmp_path):
    made = []

    def make(quota):
        h = Harness(tmp_path / "workspace", quota)
        made.append(h)
        return h

    yield make
    for h in made:
        h.session.close()


def test_saves_past_the_experiment_count_are_refused(harness, tmp_path):
    h = harness(Quota(max_experiments=2))
    for name in ("one", "two"):
        h.send({"type": "save", "name": name})
        assert h.wait("saved")["name"] == name
    h.send({"type": "save", "name": "three"})
    err = h.wait("error")["message"]
    assert "2 experiments" in err and "limit is 2" in err and "--max-experiments" in err
    assert str(tmp_path) not in err
    assert not (tmp_path / "workspace" / "three").exists()
    h.send({"type": "save", "name": "two"})  # saving over an existing one is fine
    assert h.wait("saved")["name"] == "two"
    h.send({"type": "list"})
    assert h.wait("experiments")["names"] == ["one", "two"]


def test_saves_past_the_byte_quota_are_refused(harness, tmp_path):
    h = harness(Quota(max_bytes=300_000))
    h.send({"type": "save", "name": "small"})
    h.wait("saved")
    used = experiments.usage(tmp_path / "workspace")[1]
    assert 0 < used < 300_000
    h.send({"type": "set", "seq": 1, "settings": {"g_width": 256, "g_depth": 4}})  # a far bigger G
    h.send({"type": "save", "name": "big"})
    err = h.wait("error")["message"]
    assert "quota" in err and "--max-workspace-mb" in err and str(tmp_path) not in err
    assert not (tmp_path / "workspace" / "big").exists()
    assert experiments.usage(tmp_path / "workspace")[1] == used


def test_quota_is_checked_before_anything_is_written(tmp_path):
    from ganforge.engine import Trainer

    s = LabSettings(**SMALL)
    trainer = Trainer(s.to_config(), dataset=s.distribution())
    need = experiments.save_size(trainer)
    experiments.save(tmp_path, "fits", trainer, s, Quota(max_bytes=need + 1))
    on_disk = experiments.usage(tmp_path)[1]
    assert need >= on_disk > need / 4  # the estimate is an upper bound, and near
    with pytest.raises(QuotaError):
        experiments.save(tmp_path, "second", trainer, s, Quota(max_bytes=on_disk + need - 1))
    assert experiments.list_names(tmp_path) == ["fits"]


def test_replies_never_reveal_the_workspace(harness, tmp_path):
    h = harness(Quota())
    h.send({"type": "save", "name": "exp"})
    saved = h.wait("saved")
    assert set(saved) == {"type", "seq", "name", "step"}
    g_file = latest_checkpoint(tmp_path / "workspace" / "exp") / "G.safetensors"
    g_file.write_bytes(g_file.read_bytes()[:-10])  # truncated: loading must fail and say why
    h.send({"type": "load", "name": "exp"})
    err = h.wait("error")["message"]
    assert "exp" in err and str(tmp_path) not in err and os.sep + "workspace" not in err
    h.send({"type": "state"})
    assert str(tmp_path) not in json.dumps(h.wait("state"))


def test_public_text_takes_out_the_workspace_and_home(tmp_path):
    ws = tmp_path / "lab"
    text = f"checkpoint {ws}/exp-1/step-0000003 is corrupt; see {ws}"
    assert experiments.public_text(text, ws) == "checkpoint exp-1/step-0000003 is corrupt; see the workspace"
    home = os.path.expanduser("~")
    assert home not in experiments.public_text(f"{home}/x", tmp_path)


# ---------------------------------------------------------------------- a page that stops reading


def _ws_frame(text: str) -> bytes:
    """One masked client text frame (RFC 6455 section 5.2)."""
    payload = text.encode()
    mask = os.urandom(4)
    head = bytes([0x81]) + (bytes([0x80 | len(payload)]) if len(payload) < 126
                            else bytes([0x80 | 126]) + len(payload).to_bytes(2, "big"))
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_a_page_that_stops_reading_is_dropped_and_its_slot_freed(tmp_path):
    app = create_app(tmp_path, max_sessions=1, port=None, send_timeout=0.5, snapshot_hz=60)
    sock = bind_socket("127.0.0.1", 0)
    # small kernel buffers, so that an unread stream fills them in a few snapshots
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    port = sock.getsockname()[1]
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    client = socket.socket()
    try:
        assert _wait_for(lambda: server.started, 20)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        client.sendall((f"GET /ws?token={app.state.token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        assert b" 101 " in client.recv(1024)
        client.sendall(_ws_frame(json.dumps({"type": "control", "action": "play"})))
        registry = app.state.registry
        assert _wait_for(lambda: len(registry) == 1, 10)
        session = registry.all()[0]
        # the client reads nothing more; snapshots pile up until a send waits past send_timeout
        assert _wait_for(lambda: len(registry) == 0, 20), "a page that stopped reading kept its session"
        assert _wait_for(lambda: not session._thread.is_alive(), 10)
        assert session.state()["rounds"] > 0  # it did train while the page was there
    finally:
        client.close()
        server.should_exit = True
        thread.join(10)


