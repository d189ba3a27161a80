"""Ten browser sessions at once on Evaluate and Probe: no errors, each keeps its own threshold."""

from __future__ import annotations

import pytest
from dashboard_fixtures import PAGES, TIMEOUT_MS, WIDTH, DashboardData, assert_no_exception, wait_idle

import siamese

pytestmark = pytest.mark.browser
SESSIONS = 10
# The sum of the per-class table's `unknown` column (known images rejected as unknown). The
# table draws on a canvas; its accessible table holds the cells of the rows on screen (every
# row of the tiny test set).
REJECTED_KNOWN = """() => {
    const table = document.querySelector('[data-testid="stDataFrame"] table');
    if (!table) return null;
    const header = [...table.querySelectorAll('thead th')].map(th => th.innerText.trim());
    const column = header.indexOf('unknown');
    const rows = [...table.querySelectorAll('tbody tr')];
    if (column < 0 || !rows.length) return null;
    return rows.reduce((sum, row) => sum + parseInt(row.querySelectorAll('td')[column].innerText, 10), 0);
}"""


@pytest.fixture(scope="module")
def evaluation(dashboard_data: DashboardData) -> siamese.Evaluation:
    """The evaluation Evaluate shows by default (the run's sibling test and unknown folders)."""
    return siamese.evaluate(siamese.load_run(dashboard_data.run), dashboard_data.data / "test", dashboard_data.data / "unknown")


@pytest.fixture()
def pages(browser, server):
    """Ten separate browser contexts: ten Streamlit sessions with their own state."""
    contexts = [browser.new_context(viewport={"width": WIDTH, "height": 900}) for _ in range(SESSIONS)]
    opened = []
    for context in contexts:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS * 3)
        opened.append(page)
    yield opened
    for context in contexts:
        context.close()


def _open_all(pages, server: str, title: str) -> None:
    for page in pages:  # start every load before waiting for any, so the server serves them together
        page.goto(f"{server}/{PAGES[title]}", wait_until="commit")
    for page in pages:
        page.wait_for_selector(f'h1:has-text("{title}")')
        wait_idle(page)
        assert_no_exception(page)


def test_ten_sessions_on_evaluate_each_keep_their_own_threshold(pages, server, evaluation: siamese.Evaluation):
    _open_all(pages, server, "Evaluate")
    sliders = [page.locator('[data-testid="stSlider"] input[type="range"]').first for page in pages]
    for i, slider in enumerate(sliders):
        slider.focus()
        slider.press("Home")
        for _ in range(i):
            slider.press("ArrowRight")
    values = [float(slider.input_value()) for slider in sliders]
    assert len(set(values)) == SESSIONS, values  # ten different thresholds, none leaked into another session
    assert values == sorted(values)
    # The slider sends its value after a short pause, so an idle page may not have rerun yet:
    # wait until each page's table shows what its own threshold gives.
    unknown_counts = []
    for page, value in zip(pages, values):
        expected = int(evaluation.at(value).confusion()["unknown"].sum())
        page.wait_for_function(f"() => ({REJECTED_KNOWN})() === {expected}")
        wait_idle(page)
        assert_no_exception(page)
        unknown_counts.append(page.evaluate(REJECTED_KNOWN))
    # a higher threshold never rejects more known images
    assert unknown_counts == sorted(unknown_counts, reverse=True)
    assert unknown_counts[0] > 0


def test_ten_sessions_probe_at_once(pages, server, dashboard_data: DashboardData):
    _open_all(pages, server, "Probe")
    images = sorted([*dashboard_data.data.glob("test/*/*.png"), *dashboard_data.data.glob("unknown/*/*.png")])
    assert len(images) >= SESSIONS
    for page, image in zip(pages, images[:: len(images) // SESSIONS]):
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(image))
    for page in pages:
        verdict = page.locator('[data-testid="stAlert"]', has_text="Identified as").or_(page.locator('[data-testid="stAlert"]', has_text="Unknown person")).first
        verdict.wait_for()
        wait_idle(page)
        assert_no_exception(page)
