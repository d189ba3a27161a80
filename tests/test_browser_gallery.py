"""Issue 22's "done when" in a real browser: enroll a person on the Gallery page from five uploaded
images, then the Probe page identifies a sixth image of them, with no training.

The demo run and its data are copied first (enrolling writes into the run folder); the
committed sample_data stays as it is.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
from dashboard_fixtures import DashboardData, assert_no_exception, browser_page, running_server, wait_idle

from helpers import DEMO_RUN, ROOT, tree_digest

pytestmark = pytest.mark.browser

SAMPLE_FACES = ROOT / "sample_data" / "thermal_faces"
STRANGER = SAMPLE_FACES / "unknown" / "stranger_01"
UPLOAD = '[data-testid="stFileUploader"] input[type="file"]'


@pytest.fixture(scope="module")
def demo_copy(tmp_path_factory) -> DashboardData:
    """The demo run and the sample faces, copied side by side (the run finds its data at ../thermal_faces)."""
    if not (DEMO_RUN / "run.json").exists():
        pytest.skip("the demo run is not in sample_data/demo_run")
    dest = tmp_path_factory.mktemp("demo")
    shutil.copytree(DEMO_RUN, dest / "demo_run")
    shutil.copytree(SAMPLE_FACES, dest / "thermal_faces")
    return DashboardData(data=dest / "thermal_faces", run=dest / "demo_run", runs_dir=dest / "new_runs")


@pytest.fixture(scope="module")
def demo_server(demo_copy: DashboardData, tmp_path_factory) -> Iterator[str]:
    with running_server(demo_copy, tmp_path_factory.mktemp("server") / "streamlit.log") as url:
        yield url


@pytest.fixture()
def demo_page(browser, demo_server):
    with browser_page(browser) as page:
        yield page


def go(page, title: str) -> None:
    """Open a page through the sidebar's navigation (the session, and its run, are kept)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    page.wait_for_selector(f'h1:has-text("{title}")')
    wait_idle(page)
    assert_no_exception(page)


def test_enroll_eve_from_five_uploads_then_the_probe_page_identifies_a_sixth_image(demo_page, demo_server, demo_copy: DashboardData):
    page = demo_page
    images = sorted(STRANGER.glob("*.png"))
    assert len(images) >= 6
    tracked = tree_digest(DEMO_RUN), tree_digest(SAMPLE_FACES)
    data_before = tree_digest(demo_copy.data)

    page.goto(f"{demo_server}/gallery")
    page.wait_for_selector('h1:has-text("Gallery")')
    wait_idle(page)
    assert_no_exception(page)
    # the copy is the chosen run (its label is its own folder), not the committed sample_data/demo_run
    assert page.locator('[data-testid="stSidebar"] input[aria-label="Run"]').input_value().startswith("demo_run (")
    page.get_by_text("0 enrolled afterwards").first.wait_for()

    name = page.get_by_label("Name", exact=True).and_(page.locator("input"))
    name.fill("Eve")
    name.press("Enter")
    wait_idle(page)
    page.locator(UPLOAD).first.set_input_files([str(p) for p in images[:5]])
    page.locator('[data-testid="stFileChip"]').nth(4).wait_for()
    wait_idle(page)
    enroll = page.get_by_role("button", name="Enroll", exact=True)
    enroll.and_(page.locator(":enabled")).wait_for()
    enroll.click()
    page.locator('[data-testid="stAlert"]', has_text="Enrolled Eve from 5 images").wait_for()
    wait_idle(page)
    assert_no_exception(page)
    page.get_by_text("1 enrolled afterwards").first.wait_for()

    go(page, "Probe")
    page.locator(UPLOAD).first.set_input_files(str(images[5]))
    verdict = page.locator('[data-testid="stAlert"]', has_text="Identified as").or_(page.locator('[data-testid="stAlert"]', has_text="Unknown person"))
    verdict.first.wait_for()
    wait_idle(page)
    assert_no_exception(page)
    assert re.search(r"\bIdentified as Eve[:,]", verdict.first.inner_text()), verdict.first.inner_text()

    assert (demo_copy.run / "gallery" / "Eve").is_dir() and len(list((demo_copy.run / "gallery" / "Eve").iterdir())) == 5
    assert tree_digest(demo_copy.data) == data_before  # the uploads went into the run folder only
    assert (tree_digest(DEMO_RUN), tree_digest(SAMPLE_FACES)) == tracked  # the committed files are untouched
