"""Fixtures and helpers for the dashboard tests: a private copy of the tiny dataset and run, the env that
points the dashboard at them, AppTest helpers, and a dashboard server with a Chromium to drive it.

The copy keeps the run and its data at the same relative places (run.json stores the
data path relative to the run folder), so the dashboard may write into the run
(representatives, cached maps) without touching the session's shared tiny run.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import failures
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from helpers import ROOT

DASHBOARD = ROOT / "dashboard"
APPTEST_TIMEOUT = 30
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = {"Home": "", "Data": "data", "Train": "train", "Embeddings": "embeddings", "Evaluate": "evaluate", "Probe": "probe", "Gallery": "gallery", "Compare": "compare"}
WIDTH = 1280
# Generous deadlines for every wait on the page: each wait is for a state (a selector, a
# text, a value), so a fast machine never waits them out; a busy one gets the time it needs.
TIMEOUT_MS = 120_000
SERVER_START_SECONDS = 180
T = TypeVar("T")


@dataclass(frozen=True)
class DashboardData:
    """Where the dashboard under test finds its data.

    Attributes:
        data: the dataset root with train/, test/ and unknown/.
        run: a trained run with representatives.
        runs_dir: where the dashboard puts new runs and splits.
    """

    data: Path
    run: Path
    runs_dir: Path

    def env(self) -> dict[str, str]:
        """Environment variables that point the dashboard at this data only."""
        return {"SIAMESE_RUN_ROOTS": str(self.run), "SIAMESE_DATA_ROOTS": str(self.data), "SIAMESE_RUNS_DIR": str(self.runs_dir),
                "SIAMESE_DASHBOARD_CACHE": str(self.runs_dir.parent / "dashboard-cache")}


@pytest.fixture(scope="session")
def dashboard_data(tiny_data: Path, tiny_run: Path, tmp_path_factory) -> DashboardData:
    """A copy of the tiny dataset and run, with the same layout relative to each other."""
    common = Path(os.path.commonpath([tiny_data.resolve(), tiny_run.resolve()]))
    dest = tmp_path_factory.mktemp("dashboard")
    data = dest / tiny_data.resolve().relative_to(common)
    run = dest / tiny_run.resolve().relative_to(common)
    shutil.copytree(tiny_data, data)
    shutil.copytree(tiny_run, run)
    return DashboardData(data=data, run=run, runs_dir=dest / "new_runs")


@pytest.fixture()
def dashboard_env(dashboard_data: DashboardData, monkeypatch) -> DashboardData:
    """Point an in-process dashboard (AppTest) at the copied data."""
    for name, value in dashboard_data.env().items():
        monkeypatch.setenv(name, value)
    return dashboard_data


# --- in-process pages (Streamlit's AppTest) ---------------------------------------------


def open_page(page: str | None = None) -> AppTest:
    """Run the app, then switch to ``page`` (a file in dashboard/views), and check it ran cleanly."""
    at = AppTest.from_file(str(DASHBOARD / "Home.py"), default_timeout=APPTEST_TIMEOUT).run()
    if page is not None:
        at.switch_page(f"views/{page}").run()
    assert not crashed(at), crashed(at)
    return at


def crashed(at: AppTest) -> list[str]:
    """What went wrong on a page: uncaught exceptions, and unexpected errors the page caught and folded away (failures.py)."""
    caught = [str(e.value) for e in at.error if any(x.label == failures.DETAILS for x in at.expander)]
    return [str(e.value) for e in at.exception] + caught


def image_captions(at: AppTest) -> list[str]:
    """Captions of every st.image on the page, as the browser shows them (Markdown's backslash
    escapes, which keep file and class names plain text, removed)."""
    return [re.sub(r"\\(.)", r"\1", caption) for element in at.image for caption in element.captions]


def texts(at: AppTest) -> str:
    """All markdown, captions, alerts and titles of the page, joined."""
    parts = [*at.title, *at.markdown, *at.caption, *at.info, *at.success, *at.warning, *at.error]
    return "\n".join(str(p.value) for p in parts)


def png_bytes(size: tuple[int, int] = (80, 60)) -> bytes:
    """A small dark-gray PNG, as an upload."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (40, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- a real server and browser (Playwright and Debian's Chromium) -------------------------


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
    with running_server(dashboard_data, tmp_path_factory.mktemp("server") / "streamlit.log") as url:
        yield url


@contextlib.contextmanager
def running_server(data: DashboardData, log: Path) -> Iterator[str]:
    """`streamlit run dashboard/Home.py` on a free port, pointed at ``data`` only; yields its URL
    once it answers, and stops it afterwards."""
    port = free_port()
    env = {**os.environ, **data.env(), "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, "-m", "streamlit", "run", "dashboard/Home.py", "--server.headless", "true", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    with open(log, "w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
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
    """Headless Chromium, driven by Playwright (skipped, or failed in CI, without them)."""
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


@contextlib.contextmanager
def browser_page(browser, height: int = 800):
    """A page in a browser context of its own (its own Streamlit session), WIDTH x ``height``."""
    context = browser.new_context(viewport={"width": WIDTH, "height": height})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture()
def page(browser, server):
    """A page of its own at 1280x800 on the shared server."""
    with browser_page(browser) as page:
        yield page


README_SCREENSHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    """Where the page screenshots go: a temporary folder, or the README's docs/screenshots/
    when SIAMESE_REFRESH_SCREENSHOTS=1 asks to refresh them (no test run rewrites tracked files)."""
    if os.environ.get("SIAMESE_REFRESH_SCREENSHOTS") == "1":
        README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return README_SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


def browse(page, server: str, title: str) -> None:
    """Open a page in the browser and wait until it has drawn, without an exception."""
    page.goto(f"{server}/{PAGES[title]}")
    page.wait_for_selector(f'h1:has-text("{title if title != "Home" else "Siamese thermal faces"}")')
    wait_idle(page)
    assert_no_exception(page)


def wait_idle(page) -> None:
    """Wait until the script has finished and no spinner is left."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSpinner\"]')")


def assert_no_exception(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.text_content()
    caught = page.get_by_text(failures.DETAILS, exact=True)  # an unexpected error the page caught
    assert caught.count() == 0, page.locator('[data-testid="stAlert"]').first.text_content()


# Resolves once the main block's height has not changed for ten animation frames (charts have re-laid out).
SETTLED = """() => new Promise(resolve => {
    const main = document.querySelector('[data-testid="stMain"]');
    let last = -1, same = 0;
    const tick = () => {
        const height = main.scrollHeight;
        same = height === last ? same + 1 : 0;
        last = height;
        if (same >= 10) resolve(height); else requestAnimationFrame(tick);
    };
    tick();
})"""


def full_page_screenshot(page, path: Path) -> None:
    """Stretch the viewport to the content (Streamlit scrolls inside its main block), then shoot."""
    for _ in range(3):  # images and charts may grow the page once it is taller
        height = max(900, min(int(page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")) + 40, 6000))
        if height == page.viewport_size["height"]:
            break
        page.set_viewport_size({"width": WIDTH, "height": height})
        wait_idle(page)
        page.evaluate(SETTLED)  # charts re-lay out for the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": WIDTH, "height": 900})
