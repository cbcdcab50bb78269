"""Benchmark the lab: training rate with and without a page, view updates per second in the
browser, and how fast a control change shows on screen.

    .venv/bin/python benchmarks/bench_lab.py [--seconds 10] [--threads 1] [--chromium /usr/bin/chromium]

It measures, with the lab's default networks (MLP G and D, 3 x 128, batch 256, ring8):

* engine rounds/s: ``trainer.step()`` in a loop, nothing else (what ``ganforge train`` does);
* lab rounds/s without a page: a lab session training with its snapshot worker idle;
* lab rounds/s with a page: the same while headless Chromium shows the page and draws every snapshot;
* view updates/s: frames the page actually drew per second (counted in the page);
* control latency: from the page sending a change (a learning rate) to the page drawing a
  snapshot that includes it (median and 95th percentile over ``--changes`` changes);
* snapshot cost: milliseconds of the worker per snapshot, and the bytes sent per snapshot.

It prints a markdown table; the numbers in docs/benchmarks.md and docs/lab.md come from it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import threading
import time

import torch

from ganforge.engine import Trainer
from ganforge.lab.outbox import Outbox
from ganforge.lab.server import bind_socket, create_app, make_server
from ganforge.lab.session import LabSession
from ganforge.lab.settings import LabSettings

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def engine_rate(seconds: float) -> float:
    """Rounds per second of the bare engine on the lab's default settings."""
    s = LabSettings()
    trainer = Trainer(s.to_config(), dataset=s.distribution())
    for _ in range(20):
        trainer.step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        trainer.step()
        n += 1
    return n / (time.perf_counter() - t0)


def session_rate(seconds: float, workspace: str) -> float:
    """Rounds per second of a playing lab session whose snapshots nobody reads (no page attached)."""
    session = LabSession("bench", workspace, Outbox())
    session.start()
    session.submit(json.dumps({"type": "control", "action": "play"}))
    time.sleep(1.5)  # build and warm up
    r0, t0 = session.rounds, time.perf_counter()
    time.sleep(seconds)
    rate = (session.rounds - r0) / (time.perf_counter() - t0)
    session.close()
    return rate


def page_run(seconds: float, changes: int, chromium: str, workspace: str) -> dict:
    """Serve the lab, open it in headless Chromium, train, and read the page's own counters."""
    from playwright.sync_api import sync_playwright

    sock = bind_socket("127.0.0.1", 0)
    app = create_app(workspace, port=sock.getsockname()[1])
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/?token={app.state.token}"
    out: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url)
        page.wait_for_function("window.lab && window.lab.received > 0", timeout=30000)
        page.evaluate("window.__bytes = 0; window.lab.ws.addEventListener('message', e => { window.__bytes += e.data.length; })")
        page.click("#play")
        page.wait_for_function("window.lab.latest.step > 50", timeout=30000)
        session = app.state.registry.all()[0]
        f0, r0, b0, rx0 = page.evaluate("[window.lab.frames, window.lab.latest.step, window.__bytes, window.lab.received]")
        t0 = time.perf_counter()
        time.sleep(seconds)
        f1, r1, b1, rx1 = page.evaluate("[window.lab.frames, window.lab.latest.step, window.__bytes, window.lab.received]")
        dt = time.perf_counter() - t0
        out["views_per_s"] = (f1 - f0) / dt
        out["received_per_s"] = (rx1 - rx0) / dt
        out["rounds_per_s"] = (r1 - r0) / dt
        out["bytes_per_snapshot"] = (b1 - b0) / max(rx1 - rx0, 1)
        out["snapshot_ms"] = session.worker.busy_s * 1000 / max(session.publisher.frames, 1)
        page.evaluate("window.lab.latencies = []")
        for i in range(changes):
            lr = 1e-3 if i % 2 else 1.1e-3
            page.evaluate(f"window.lab.send({{type: 'set', settings: {{lr_g: {lr}}}}})")
            time.sleep(0.25)
        time.sleep(0.5)
        lat = page.evaluate("window.lab.latencies")
        out["latency_ms"] = lat
        browser.close()
    server.should_exit = True
    thread.join(10)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="measuring time per part")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (the lab uses 1)")
    ap.add_argument("--changes", type=int, default=20, help="control changes timed")
    ap.add_argument("--chromium", default=os.environ.get("GANFORGE_CHROMIUM", "/usr/bin/chromium"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as ws:
        engine = engine_rate(args.seconds)
        alone = session_rate(args.seconds, ws)
        page = page_run(args.seconds, args.changes, args.chromium, ws)
    lat = sorted(page["latency_ms"])
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))] if lat else float("nan")
    rows = [
        ("rounds/s without the page: engine alone (trainer.step())", f"{engine:.0f}"),
        ("rounds/s without the page: lab session, snapshots unread", f"{alone:.0f}"),
        ("lab rounds/s, page attached and drawing", f"{page['rounds_per_s']:.0f}"),
        ("snapshots/s received by the page", f"{page['received_per_s']:.1f}"),
        ("view updates/s drawn in the browser", f"{page['views_per_s']:.1f}"),
        ("control change to screen, median (ms)", f"{statistics.median(lat):.0f}" if lat else "n/a"),
        ("control change to screen, p95 (ms)", f"{p95:.0f}"),
        ("snapshot cost on the worker (ms)", f"{page['snapshot_ms']:.1f}"),
        ("bytes per snapshot", f"{page['bytes_per_snapshot']:.0f}"),
    ]
    end_load = os.getloadavg()[0]
    print(f"\nganforge lab benchmark: {os.cpu_count()} CPU cores, torch threads {args.threads}, "
          f"torch {torch.__version__}, {platform.python_implementation()} {platform.python_version()}, "
          f"load average {load:.2f} at start, {end_load:.2f} at the end\n")
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
