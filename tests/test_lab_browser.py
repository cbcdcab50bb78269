"""End-to-end tests of the lab in headless Chromium: the real page against the real server."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from types import SimpleNamespace

import httpx
import pytest

from ganforge.lab.server import bind_socket, create_app, make_server

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
REBOUND = "rebound.test"  # a foreign name the browser resolves to 127.0.0.1, as DNS rebinding would


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = create_app(tmp_path_factory.mktemp("lab-workspace"), port=port)
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    end = time.monotonic() + 20
    while not server.started and time.monotonic() < end:
        time.sleep(0.05)
    assert server.started, "the lab server did not start"
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}", port=port, token=app.state.token, app=app)
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def lab_url(lab_server):
    return lab_server.url


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, headless=True,
                              args=CHROMIUM_ARGS + [f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1"])
        yield b
        b.close()


@pytest.fixture
def page(browser, lab_server):
    lab_url = lab_server.url
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.page_errors = []
    pg.on("pageerror", lambda e: pg.page_errors.append(str(e)))
    # the page must not reach beyond the lab server (no CDN, no fonts, no analytics)
    outside = []
    pg.route("**/*", lambda route: route.continue_() if route.request.url.startswith(lab_url)
             else (outside.append(route.request.url), route.abort()))
    pg.goto(f"{lab_url}/?token={lab_server.token}")
    pg.wait_for_function("window.lab && window.lab.session && window.lab.received > 0", timeout=20000)
    yield pg
    assert not pg.page_errors, pg.page_errors
    assert not outside, outside
    context.close()


def server_state(lab_url: str, page) -> dict:
    sid = page.evaluate("window.lab.session")
    token = page.evaluate("new URLSearchParams(location.search).get('token')")
    return httpx.get(f"{lab_url}/api/sessions/{sid}", params={"token": token}, timeout=5).json()


def wait_state(lab_url, page, pred, timeout=15.0) -> dict:
    end = time.monotonic() + timeout
    state = server_state(lab_url, page)
    while not pred(state) and time.monotonic() < end:
        time.sleep(0.1)
        state = server_state(lab_url, page)
    assert pred(state), state
    return state


def test_page_loads_trains_and_the_canvas_moves(page):
    assert page.title() == "ganforge lab"
    page.click("#play")
    page.wait_for_function("parseFloat(document.getElementById('rate').textContent) > 0", timeout=20000)
    page.wait_for_function("window.lab.latest.step > 20", timeout=20000)
    first = page.locator("#plane").screenshot()
    page.wait_for_function(f"window.lab.latest.step > {page.evaluate('window.lab.latest.step') + 20}", timeout=20000)
    second = page.locator("#plane").screenshot()
    assert first != second
    assert int(page.text_content("#fps")) > 0
    assert page.locator("#value-box").text_content().count("−log 4") == 1
    # the equilibrium panel: who can tell real from fake, the game's D beside D* and a fresh classifier
    page.wait_for_function("document.getElementById('readings') !== null", timeout=20000)
    readings = page.text_content("#readings")
    assert "the game's D" in readings and "the optimal D*" in readings and "a fresh classifier" in readings
    assert "95% interval" in readings and readings.count("%") >= 5
    with page.expect_download() as download:
        page.click("#export")
    path = download.value.path()
    assert download.value.suggested_filename.endswith(".png")
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_changing_the_objective_in_the_page_changes_it_on_the_server(page, lab_url):
    assert server_state(lab_url, page)["objective"] == "nonsaturating"
    page.select_option("#objective", "wgan-gp")
    state = wait_state(lab_url, page, lambda s: s["objective"] == "wgan-gp")
    assert state["family"] == "wasserstein"
    page.wait_for_function("window.lab.latest.objective === 'wgan-gp'", timeout=10000)
    assert "critic" in page.text_content("#plane-title")


def test_a_drawn_distribution_is_what_the_session_trains_on(page, lab_url):
    page.click("#draw-toggle")
    box = page.locator("#plane").bounding_box()
    # drag a short stroke in the upper-left quarter of the view
    page.mouse.move(box["x"] + 0.15 * box["width"], box["y"] + 0.15 * box["height"])
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(box["x"] + (0.15 + 0.02 * i) * box["width"], box["y"] + 0.2 * box["height"], steps=2)
    page.mouse.up()
    drawn = page.evaluate("window.lab.drawn")
    assert len(drawn) >= 3
    view = page.evaluate("window.lab.latest.view")
    mid_x, mid_y = (view["lo"][0] + view["hi"][0]) / 2, (view["lo"][1] + view["hi"][1]) / 2
    assert all(x < mid_x and y > mid_y for x, y in drawn)  # where the mouse went
    page.click("#draw-train")
    state = wait_state(lab_url, page, lambda s: s["dataset"] == "points")
    assert state["settings"]["target"] == "drawn"
    flat = [c for point in state["dataset_points"] for c in point]
    assert flat == pytest.approx([c for point in drawn for c in point], abs=1e-4)
    page.click("#play")
    page.wait_for_function("window.lab.latest.settings.target === 'drawn' && window.lab.latest.step > 10", timeout=20000)
    real = page.evaluate("Array.from(window.lab.latest.real ? (() => { const b = atob(window.lab.latest.real);"
                         " const u = new Uint8Array(b.length); for (let i = 0; i < b.length; i++) u[i] = b.charCodeAt(i);"
                         " return new Float32Array(u.buffer); })() : [])")
    xs, ys = real[0::2], real[1::2]
    assert sum(x < mid_x for x in xs) > 0.95 * len(xs) and sum(y > mid_y for y in ys) > 0.95 * len(ys)


@pytest.mark.parametrize("typed", ["-5", "abc"])
def test_an_invalid_value_shows_an_error_and_training_goes_on(page, lab_url, typed):
    page.click("#play")
    page.wait_for_function("window.lab.latest.step > 5", timeout=20000)
    lr = page.locator('[data-key="lr_g"]')
    lr.fill(typed)
    lr.press("Enter")
    lr.blur()
    error = page.locator("#error")
    error.wait_for(state="visible", timeout=5000)
    assert "lr_g" in error.text_content()
    assert "invalid" in lr.get_attribute("class")
    step = page.evaluate("window.lab.latest.step")
    page.wait_for_function(f"window.lab.latest.step > {step + 10}", timeout=20000)  # still streaming and training
    state = server_state(lab_url, page)
    assert state["lr_g"] == 1e-3 and state["errors"] >= 1 and state["playing"]


# ---------------------------------------------------------------------- only the lab's own page

FOREIGN_PAGE = """<!doctype html><title>elsewhere</title><script>
window.result = "pending";
const ws = new WebSocket("ws://127.0.0.1:%(port)d/ws?token=%(token)s");
ws.onopen = () => { window.result = "open"; };
ws.onmessage = () => { window.result = "message"; };
ws.onclose = (e) => { if (window.result === "pending") window.result = "closed"; };
</script>"""


@pytest.fixture
def foreign_site(tmp_path, lab_server):
    """A second tiny web server on another port of 127.0.0.1: another origin, same machine."""
    (tmp_path / "index.html").write_text(FOREIGN_PAGE % {"port": lab_server.port, "token": lab_server.token})
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join(5)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_a_page_from_another_origin_cannot_open_the_labs_websocket(browser, lab_server, foreign_site):
    registry = lab_server.app.state.registry
    context = browser.new_context()
    try:
        before = {s.id for s in registry.all()}
        other = context.new_page()
        # even a page that somehow learnt the token is refused: its Origin is not the lab's
        other.goto(foreign_site + "/index.html")
        other.wait_for_function("window.result !== 'pending'", timeout=10000)
        assert other.evaluate("window.result") == "closed"
        assert {s.id for s in registry.all()} <= before  # no session was made for it
        # while the lab's own page, in the same browser, connects and trains
        mine = context.new_page()
        mine.goto(f"{lab_server.url}/?token={lab_server.token}")
        mine.wait_for_function("window.lab && window.lab.session && window.lab.received > 0", timeout=20000)
        assert mine.evaluate("window.lab.session") in {s.id for s in registry.all()}
    finally:
        context.close()


def test_the_page_without_its_token_cannot_connect_and_says_why(browser, lab_server):
    context = browser.new_context()
    try:
        pg = context.new_page()
        pg.goto(lab_server.url + "/")
        pg.wait_for_function("document.getElementById('conn').textContent.includes('token')", timeout=10000)
        assert "token" in pg.locator("#error").text_content()
        pg.goto(f"{lab_server.url}/?token=not-the-token")
        pg.wait_for_function("document.getElementById('conn').textContent.includes('refused')", timeout=10000)
        assert pg.evaluate("window.lab.session") is None
    finally:
        context.close()


def test_a_rebound_host_name_gets_nothing(browser, lab_server):
    """DNS rebinding: a foreign name resolving to 127.0.0.1 reaches the port but is not served."""
    context = browser.new_context()
    try:
        pg = context.new_page()
        response = pg.goto(f"http://{REBOUND}:{lab_server.port}/?token={lab_server.token}")
        assert response.status == 400
        assert "ganforge lab" not in pg.content()
        assert pg.evaluate("typeof window.lab") == "undefined"
    finally:
        context.close()
