"""The lab's web server: one page, one WebSocket per page, one training session per WebSocket.

``create_app`` builds the FastAPI application; ``serve`` runs it with uvicorn on a chosen or free
port. Routes:

* ``GET /``: the page; ``GET /static/...``: its script and style (shipped in the package, no CDN);
* ``WS /ws``: the session protocol (:mod:`ganforge.lab.protocol`);
* ``GET /api/health``: ``{"ok": true, "sessions": N}``;
* ``GET /api/sessions`` and ``GET /api/sessions/{id}``: read-only state of the live sessions (the
  objective, dataset, rounds, ...), used by the tests and handy when debugging.
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
from fastapi import FastAPI, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from ganforge.lab.experiments import default_workspace
from ganforge.lab.outbox import Outbox
from ganforge.lab.protocol import MAX_MESSAGE_BYTES, limits_for_client
from ganforge.lab.session import LabSession, hello

STATIC = Path(__file__).parent / "static"
MAX_SESSIONS = 4  # concurrent training sessions; more pages are told to try again later
FRAME_LIMIT = 4 * MAX_MESSAGE_BYTES  # frames above this close the connection (1009) before being read
NO_CACHE = {"Cache-Control": "no-store"}


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


def create_app(workspace: str | Path | None = None, max_sessions: int = MAX_SESSIONS,
               snapshot_hz: float = 30.0, threads: int = 1) -> FastAPI:
    """The lab application. ``workspace`` holds saved experiments (default ``~/.cache/ganforge/lab``);
    ``threads`` is torch's CPU thread count for training (1 keeps a 2-core machine responsive)."""
    if threads > 0:
        torch.set_num_threads(threads)
    workspace = Path(workspace) if workspace is not None else default_workspace()
    app = FastAPI(title="ganforge lab", docs_url=None, redoc_url=None, openapi_url=None)
    registry = Registry(max_sessions)
    app.state.registry = registry
    app.state.workspace = workspace
    limits = limits_for_client()

    @app.get("/")
    def index():
        return FileResponse(STATIC / "index.html", media_type="text/html", headers=NO_CACHE)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/health")
    def health():
        return {"ok": True, "sessions": len(registry)}

    @app.get("/api/sessions")
    def sessions():
        return JSONResponse([s.state() for s in registry.all()], headers=NO_CACHE)

    @app.get("/api/sessions/{session_id}")
    def session_state(session_id: str):
        s = registry.get(session_id)
        if s is None:
            raise HTTPException(404, f"no live session {session_id!r}")
        return JSONResponse(s.state(), headers=NO_CACHE)

    @app.websocket("/ws")
    async def ws_endpoint(ws: WebSocket):
        await ws.accept()
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def notify():  # called from the session thread
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:  # the loop is closing
                pass

        session = LabSession(uuid.uuid4().hex[:12], workspace, Outbox(notify), snapshot_hz=snapshot_hz)
        if not registry.add(session):
            await ws.send_text(json.dumps({
                "type": "error", "fatal": True,
                "message": f"the lab already runs {registry.max_sessions} sessions; close another tab and reload",
            }))
            await ws.close(code=1013)
            return
        sender = None
        try:
            session.start()
            await ws.send_text(json.dumps(hello(session, limits)))
            sender = asyncio.create_task(_send_loop(ws, session.outbox, wake))
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                raw = msg.get("text")
                if raw is None:
                    raw = msg.get("bytes") or b""
                session.submit(raw)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if sender is not None:
                sender.cancel()
            registry.remove(session)
            session.stop()  # never blocks, so it also happens when this task is being cancelled
            try:
                await asyncio.to_thread(session.close)
            except asyncio.CancelledError:
                pass

    return app


async def _send_loop(ws: WebSocket, outbox: Outbox, wake: asyncio.Event) -> None:
    """Send whatever the session put in its outbox, as soon as it is there."""
    try:
        while True:
            await wake.wait()
            wake.clear()
            for message in outbox.drain():
                await ws.send_text(json.dumps(message, separators=(",", ":")))
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
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


def serve(host: str = "127.0.0.1", port: int = 0, open_browser: bool = True,
          workspace: str | Path | None = None, max_sessions: int = MAX_SESSIONS) -> int:
    """Run the lab until interrupted; print its address and open it in the browser unless told not to."""
    app = create_app(workspace, max_sessions=max_sessions)
    sock = bind_socket(host, port)
    real_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{real_port}/"
    server = make_server(app)
    print(f"ganforge lab: {url}  (workspace {app.state.workspace}; Ctrl+C to stop)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print("ganforge lab: warning: listening beyond this machine; anyone who can reach it can train here",
              flush=True)
    if open_browser:
        def _open():
            for _ in range(200):
                if server.started:
                    webbrowser.open(url)
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
