"""End-to-end tests of the lab in headless Chromium: the real page against the real server."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from ganforge.lab.server import bind_socket, create_app, make_server

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def lab_url(tmp_path_factory):
    app = create_app(tmp_path_factory.mktemp("lab-workspace"))
    sock = bind_socket("127.0.0.1", 0)
    server = make_server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    end = time.monotonic() + 20
    while not server.started and time.monotonic() < end:
        time.sleep(0.05)
    assert server.started, "the lab server did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, lab_url):
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.page_errors = []
    pg.on("pageerror", lambda e: pg.page_errors.append(str(e)))
    # the page must not reach beyond the lab server (no CDN, no fonts, no analytics)
    outside = []
    pg.route("**/*", lambda route: route.continue_() if route.request.url.startswith(lab_url)
             else (outside.append(route.request.url), route.abort()))
    pg.goto(lab_url + "/")
    pg.wait_for_function("window.lab && window.lab.session && window.lab.received > 0", timeout=20000)
    yield pg
    assert not pg.page_errors, pg.page_errors
    assert not outside, outside
    context.close()


def server_state(lab_url: str, page) -> dict:
    sid = page.evaluate("window.lab.session")
    return httpx.get(f"{lab_url}/api/sessions/{sid}", timeout=5).json()


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
