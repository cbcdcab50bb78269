"""The lab's web server: one page, one WebSocket per page, one training session per WebSocket.

``create_app`` builds the FastAPI application; ``serve`` runs it with uvicorn on a chosen or free
port. Only the lab's own page, opened by the user, may drive it (:mod:`ganforge.lab.security`):
every request must name the lab's address in ``Host``, and the WebSocket needs the lab's own
``Origin`` (when a browser sends one) and this launch's token. Routes:

* ``GET /``: the page (it reads the token from its own address); ``GET /static/...``: its script
  and style (shipped in the package, no CDN);
* ``WS /ws?token=...``: the session protocol (:mod:`ganforge.lab.protocol`);
* ``GET /api/health``: ``{"ok": true}`` (and the number of sessions, given the token);
* ``GET /api/sessions`` and ``GET /api/sessions/{id}`` (token required): read-only state of the
  live sessions (the objective, dataset, rounds, ...), used by the tests and handy when debugging.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
import webbrowser
from pathlib import Path

import torch
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse
from fastapi.staticfiles import StaticFiles

from ganforge.lab.experiments import Quota, default_workspace
from ganforge.lab.outbox import Outbox
from ganforge.lab.protocol import MAX_MESSAGE_BYTES, limits_for_client
from ganforge.lab.security import (
    LOOPBACK_NAMES,
    Guard,
    bound_names,
    is_loopback,
    new_token,
    token_from,
)
from ganforge.lab.session import LabSession, hello

STATIC = Path(__file__).parent / "static"
MAX_SESSIONS = 4  # concurrent training sessions; more pages are told to try again later
FRAME_LIMIT = 4 * MAX_MESSAGE_BYTES  # frames above this close the connection (1009) before being read
SEND_TIMEOUT_S = 20.0  # a page that takes longer than this to take one message is dropped
NO_CACHE = {"Cache-Control": "no-store"}
POLICY_VIOLATION = 1008  # WebSocket close code; before the handshake it becomes HTTP 403


class Registry:
    """The live sessions, by id (thread-safe)."""

    def __init__(self, max_sessions: int):
        self.max_sessions = max_sessions
        self._lock = threading.Lock()
        self._sessions: dict[str, LabSession] = {}

    def add(self, session: LabSession) -> bool:
        """Register ``session``; False when the server is full."""
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                return False
            self._sessions[session.id] = session
            return True

    def remove(self, session: LabSession) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)

    def get(self, session_id: str) -> LabSession | None:
        with self._lock:
            return self._sessions.get(session_id)

    def all(self) -> list[LabSession]:
        with self._lock:
            return list(self._sessions.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)


class HostCheck:
    """ASGI middleware: answer 400 to any HTTP request or WebSocket handshake whose ``Host`` is not
    the lab's (DNS rebinding: a foreign name that resolves to this machine is not served)."""

    def __init__(self, app, guard: Guard):
        self.app = app
        self.guard = guard

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
            if not self.guard.host_ok(host):
                body = b"unknown Host; open the lab at the address it printed when it started\n"
                start = {"status": 400, "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                                    (b"content-length", str(len(body)).encode())]}
                if scope["type"] == "http":
                    await send({"type": "http.response.start", **start})
                    await send({"type": "http.response.body", "body": body})
                elif "websocket.http.response" in scope.get("extensions", {}):
                    await send({"type": "websocket.http.response.start", **start})
                    await send({"type": "websocket.http.response.body", "body": body})
                else:
                    await send({"type": "websocket.close", "code": POLICY_VIOLATION})
                return
        await self.app(scope, receive, send)


def create_app(workspace: str | Path | None = None, max_sessions: int = MAX_SESSIONS,
               snapshot_hz: float = 30.0, threads: int = 1, token: str | None = None,
               hosts=LOOPBACK_NAMES, port: int | None = None, quota: Quota | None = None,
               send_timeout: float = SEND_TIMEOUT_S) -> FastAPI:
    """The lab application.

    ``workspace`` holds saved experiments (default ``~/.cache/ganforge/lab``) within ``quota``;
    ``threads`` is torch's CPU thread count for training (1 keeps a 2-core machine responsive);
    ``token`` is what the WebSocket and ``/api/sessions`` require (default: a fresh random one,
    in ``app.state.token``); ``hosts`` and ``port`` are the names and port a request's ``Host`` may
    give (``port`` None: any; :func:`serve` sets the bound one); a page that does not take a
    message within ``send_timeout`` seconds is dropped.
    """
    if threads > 0:
        torch.set_num_threads(threads)
    workspace = Path(workspace) if workspace is not None else default_workspace()
    quota = quota or Quota()
    app = FastAPI(title="ganforge lab", docs_url=None, redoc_url=None, openapi_url=None)
    guard = Guard(hosts, port=port, token=token or new_token())
    registry = Registry(max_sessions)
    app.state.registry = registry
    app.state.workspace = workspace
    app.state.guard = guard
    app.state.token = guard.token
    app.state.quota = quota
    app.add_middleware(HostCheck, guard=guard)
    limits = limits_for_client()

    def authorized(request: Request) -> bool:
        return guard.token_ok(token_from(request.query_params, request.headers))

    def forbidden() -> JSONResponse:
        return JSONResponse({"detail": "this endpoint needs the lab's token (?token=... from the address it printed)"},
                            status_code=403, headers=NO_CACHE)

    @app.get("/")
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html", headers=NO_CACHE)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/health")
    def health(request: Request):
        if authorized(request):
            return JSONResponse({"ok": True, "sessions": len(registry)}, headers=NO_CACHE)
        return JSONResponse({"ok": True}, headers=NO_CACHE)

    @app.get("/api/sessions")
    def sessions(request: Request):
        if not authorized(request):
            return forbidden()
        return JSONResponse([s.state() for s in registry.all()], headers=NO_CACHE)

    @app.get("/api/sessions/{session_id}")
    def session_state(session_id: str, request: Request):
        if not authorized(request):
            return forbidden()
        s = registry.get(session_id)
        if s is None:
            return PlainTextResponse(f"no live session {session_id[:40]!r}", status_code=404, headers=NO_CACHE)
        return JSONResponse(s.state(), headers=NO_CACHE)

    @app.websocket("/ws")
    async def ws_endpoint(ws: WebSocket):
        # refused before the handshake completes (HTTP 403): no session, no slot, nothing revealed
        if not guard.origin_ok(ws.headers.get("origin"), ws.headers.get("host")) or \
                not guard.token_ok(token_from(ws.query_params, ws.headers)):
            await ws.close(code=POLICY_VIOLATION)
            return
        await ws.accept()
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def notify():  # called from the session thread
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop is closing
                pass

        session = LabSession(uuid.uuid4().hex[:12], workspace, Outbox(notify), snapshot_hz=snapshot_hz, quota=quota)
        if not registry.add(session):
            await ws.send_text(json.dumps({
                "type": "error", "fatal": True,
                "message": f"the lab already runs {registry.max_sessions} sessions; close another tab and reload",
            }))
            await ws.close(code=1013)
            return
        tasks: list[asyncio.Task] = []
        try:
            session.start()
            await asyncio.wait_for(ws.send_text(json.dumps(hello(session, limits))), send_timeout)
            tasks = [asyncio.create_task(_send_loop(ws, session.outbox, wake, send_timeout)),
                     asyncio.create_task(_receive_loop(ws, session))]
            # whichever ends first (the page left, or it stopped reading) ends the session
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except (WebSocketDisconnect, RuntimeError, ConnectionError, asyncio.TimeoutError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            registry.remove(session)
            session.stop()  # never blocks, so it also happens when this task is being cancelled
            try:
                await asyncio.to_thread(session.close)
            except asyncio.CancelledError:
                pass

    return app


async def _receive_loop(ws: WebSocket, session: LabSession) -> None:
    """Hand every message from the page to the session until the page goes."""
    try:
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            raw = msg.get("text")
            if raw is None:
                raw = msg.get("bytes") or b""
            session.submit(raw)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        return


async def _send_loop(ws: WebSocket, outbox: Outbox, wake: asyncio.Event, timeout: float) -> None:
    """Send whatever the session put in its outbox, as soon as it is there; return when the page
    is gone or has not taken a message within ``timeout`` seconds (it stopped reading)."""
    try:
        while True:
            await wake.wait()
            wake.clear()
            for message in outbox.drain():
                await asyncio.wait_for(ws.send_text(json.dumps(message, separators=(",", ":"))), timeout)
    except (WebSocketDisconnect, RuntimeError, ConnectionError, asyncio.TimeoutError):
        return


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(64)
    sock.setblocking(False)
    return sock


def make_server(app: FastAPI, log_level: str = "warning"):
    """A uvicorn server for ``app`` with the lab's WebSocket frame limit."""
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, ws_max_size=FRAME_LIMIT, ws_ping_interval=20,
                            ws_ping_timeout=20, lifespan="off")
    return uvicorn.Server(config)


def lab_url(host: str, port: int, token: str) -> str:
    """The address to open: the lab's page with this launch's token."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


def serve(host: str = "127.0.0.1", port: int = 0, open_browser: bool = True,
          workspace: str | Path | None = None, max_sessions: int = MAX_SESSIONS, quota: Quota | None = None) -> int:
    """Run the lab until interrupted; print its address (with the token) and open it unless told not to."""
    sock = bind_socket(host, port)
    real_port = sock.getsockname()[1]
    app = create_app(workspace, max_sessions=max_sessions, hosts=bound_names(host), port=real_port, quota=quota)
    url = lab_url(host, real_port, app.state.token)
    server = make_server(app)
    q = app.state.quota
    print(f"ganforge lab: {url}  (Ctrl+C to stop)", flush=True)
    print(f"ganforge lab: experiments are saved in {app.state.workspace} (at most {q.max_experiments}, "
          f"{q.max_bytes / 2**20:.0f} MB)", flush=True)
    if not is_loopback(host):
        print(f"ganforge lab: listening on {host}, beyond this machine: anyone who has the address above, token "
              f"included, can train and save here, and the connection is not encrypted; keep the token private",
              flush=True)
    if open_browser:
        # a wildcard bind listens on loopback too: open the page there
        local = lab_url({"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host), real_port, app.state.token)

        def _open():
            for _ in range(200):
                if server.started:
                    webbrowser.open(local)
                    return
                threading.Event().wait(0.05)

        threading.Thread(target=_open, daemon=True).start()
    threading.Thread(target=_warm_views, name="lab-warm-views", daemon=True).start()
    server.run(sockets=[sock])
    return 0


def _warm_views() -> None:
    """Compute the view boxes and data densities of the named targets once, in the background."""
    from ganforge.data.mixtures import make_distribution
    from ganforge.lab.protocol import TARGETS
    from ganforge.lab.snapshot import warm_cache

    warm_cache({name: make_distribution(name) for name in TARGETS if name != "drawn"})

