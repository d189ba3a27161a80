"""The dashboard in a real browser: Playwright drives Debian's Chromium against a server the test starts.

Skipped when Chromium or Playwright is missing, except in CI (CI=true), where that fails.
The page screenshots in docs/screenshots/ (shown in the README) are taken here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dashboard_fixtures
import pytest
from dashboard_fixtures import ROOT, DashboardData

pytestmark = pytest.mark.browser

# The fixtures live in dashboard_fixtures.py: conftest.py belongs to the core package's tests.
dashboard_data = dashboard_fixtures.dashboard_data

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = {"Home": "", "Data": "data", "Train": "train", "Embeddings": "embeddings", "Evaluate": "evaluate", "Probe": "probe"}
SCREENSHOTS = ROOT / "docs" / "screenshots"
DEMO_RUN = ROOT / "sample_data" / "demo_run"
DEMO_PROBE = ROOT / "sample_data" / "thermal_faces" / "test"
WIDTH = 1280
TIMEOUT_MS = 60_000


def missing(reason: str) -> None:
    """Skip, or fail in CI, where the browser tests must run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; in CI the browser tests must run (apt-get install chromium; pip install playwright)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(dashboard_data: DashboardData, tmp_path_factory) -> Iterator[str]:
    """`streamlit run dashboard/Home.py` on a free port, pointed at the tiny data; yields its URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    env = {**os.environ, **dashboard_data.env(), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "streamlit", "run", "dashboard/Home.py", "--server.headless", "true", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        missing(f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright for Python is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def wait_idle(page) -> None:
    """Wait until the script has finished and no spinner is left."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')")


def open_page(page, server: str, title: str) -> None:
    page.goto(f"{server}/{PAGES[title]}")
    page.wait_for_selector(f'h1:has-text("{title if title != "Home" else "Siamese thermal faces"}")')
    wait_idle(page)
    assert_no_exception(page)


def assert_no_exception(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.text_content()


def points(page):
    """The SVG markers of the map's class traces (trace 0 holds the representatives)."""
    return page.locator(".js-plotly-plot .scatterlayer .trace:not(:first-child) path.point")


def hover_label(page, point):
    """Hover a map point (Plotly needs force=True) and return its SVG hover label once shown."""
    point.hover(force=True)
    label = page.locator(".hoverlayer .hovertext").first
    label.wait_for()
    return label


def test_hover_a_map_point_shows_class_file_and_distance(page, server):
    open_page(page, server, "Embeddings")
    text = hover_label(page, points(page).nth(3)).text_content()
    assert "person_" in text and ".png" in text and "distance to representative" in text, text


def test_click_a_map_point_shows_its_image(page, server):
    open_page(page, server, "Embeddings")
    point = points(page).nth(5)
    label = hover_label(page, point)
    file_name = next(line for line in label.locator("tspan.line").all_text_contents() if line.endswith(".png"))
    point.click(force=True)
    caption = page.locator('[data-testid="stImage"]', has_text=file_name).first
    caption.wait_for()
    assert caption.locator("img").count() == 1
    assert_no_exception(page)


def test_keyboard_moves_the_threshold_and_the_table_changes(page, server):
    open_page(page, server, "Evaluate")
    table = page.locator('[data-testid="stTable"]').first
    before = table.inner_text()
    slider = page.locator('[data-testid="stSlider"] input[type="range"]').first  # visually hidden, keyboard-operable
    slider.focus()
    slider.press("Home")  # threshold 0: every known image is rejected
    page.wait_for_function("(before) => document.querySelector('[data-testid=\"stTable\"]').innerText !== before", arg=before)
    wait_idle(page)
    assert float(slider.input_value()) == 0.0
    after = table.inner_text()
    assert after != before
    # The unknown column now holds every test image of its row.
    rows = table.locator("tbody tr")
    assert rows.count() > 0
    for i in range(rows.count()):
        counts = [int(c) for c in rows.nth(i).locator("td").all_inner_texts()]
        assert counts[:-1] == [0] * (len(counts) - 1) and counts[-1] > 0, counts
    slider.press("End")
    page.wait_for_function("(after) => document.querySelector('[data-testid=\"stTable\"]').innerText !== after", arg=after)
    assert_no_exception(page)


def test_upload_a_probe_shows_the_verdict(page, server, dashboard_data: DashboardData):
    open_page(page, server, "Probe")
    image = sorted((dashboard_data.data / "test").rglob("*.png"))[0]
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(image))
    verdict = page.locator('[data-testid="stAlert"]', has_text="Identified as").or_(page.locator('[data-testid="stAlert"]', has_text="Unknown person")).first
    verdict.wait_for()
    page.locator(".js-plotly-plot").nth(1).wait_for()  # distance per class, place on the map
    wait_idle(page)
    assert_no_exception(page)
    assert page.locator(".js-plotly-plot").count() == 2


def test_training_runs_on_across_a_reload_and_shows_its_curves(page, server):
    open_page(page, server, "Train")
    inputs = page.locator('[data-testid="stNumberInput"] input')
    for index, value in ((0, "3"), (1, "8")):  # epochs, batch size
        inputs.nth(index).fill(value)
        inputs.nth(index).press("Tab")  # commits the value (Enter would submit the form)
        page.wait_for_function("([i, v]) => document.querySelectorAll('[data-testid=\"stNumberInput\"] input')[i].value === v", arg=[index, value])
    page.get_by_role("button", name="Start training").click()
    page.locator("text=/Starting|Epoch \\d+ of 3|Finished 3 epochs/").first.wait_for()
    page.reload()  # a new browser session: the training lives on in its own process
    page.locator("text=/Finished \\d+ epochs/").first.wait_for(timeout=180_000)
    assert page.locator("text=Finished 3 epochs").count() == 1
    page.locator(".js-plotly-plot").first.wait_for()  # Plotly draws after the text, asynchronously
    wait_idle(page)
    assert_no_exception(page)
    assert page.locator(".js-plotly-plot").count() == 1  # loss and pair-accuracy curves


def choose_run(page, label_start: str) -> None:
    """Pick a run in the sidebar's run picker."""
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.locator('[role="option"]', has_text=label_start).first.click()
    wait_idle(page)


def full_page_screenshot(page, path: Path) -> None:
    """Stretch the viewport to the content (Streamlit scrolls inside its main block), then shoot."""
    for _ in range(3):  # images and charts may grow the page once it is taller
        height = max(900, min(int(page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")) + 40, 6000))
        if height == page.viewport_size["height"]:
            break
        page.set_viewport_size({"width": WIDTH, "height": height})
        page.wait_for_timeout(800)  # charts re-lay out for the new size
        wait_idle(page)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": WIDTH, "height": 900})


def test_every_page_opens_without_exception_and_is_screenshotted(page, server):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    open_page(page, server, "Home")
    # The README shows the committed demo run when it is there; the tiny test run otherwise.
    if (DEMO_RUN / "run.json").exists():
        choose_run(page, "sample_data/demo_run")
    for title in PAGES:
        # Navigate inside the session (a URL would start a new one and forget the run choice).
        page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
        page.wait_for_selector(f'h1:has-text("{title if title != "Home" else "Siamese thermal faces"}")')
        wait_idle(page)
        if title == "Data":
            page.locator('[data-testid="stButtonGroup"]').get_by_text("inferno", exact=True).click()  # the palette then applies on every page
            wait_idle(page)
        if title == "Embeddings":
            points(page).nth(10).click(force=True)
            page.locator('[data-testid="stImage"]').first.wait_for()
            wait_idle(page)
        if title == "Probe":
            probes = sorted(DEMO_PROBE.rglob("*.png")) if (DEMO_RUN / "run.json").exists() else []
            if probes:
                page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(probes[0]))
                page.locator('[data-testid="stAlert"]').first.wait_for()
                page.locator(".js-plotly-plot").nth(1).wait_for()
                wait_idle(page)
        assert_no_exception(page)
        if title != "Train":
            assert page.locator(".js-plotly-plot").count() > 0 or title in ("Home", "Probe"), f"{title} drew no chart"
        full_page_screenshot(page, SCREENSHOTS / f"{title.lower()}.png")
