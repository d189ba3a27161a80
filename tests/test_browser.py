"""The dashboard in a real browser: Playwright drives Debian's Chromium against a server the test starts.

Skipped when Chromium or Playwright is missing, except in CI (CI=true), where that fails.
The page screenshots are taken here: into a temporary folder, or into docs/screenshots/
(shown in the README) with SIAMESE_REFRESH_SCREENSHOTS=1.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from dashboard_fixtures import PAGES, TIMEOUT_MS, WIDTH, DashboardData, assert_no_exception, browser_page, full_page_screenshot, wait_idle
from dashboard_fixtures import browse as open_page  # the browser's (dashboard_fixtures.open_page is AppTest's)

import siamese
from helpers import DEMO_RUN, ROOT, rule_variant, wait_until
from siamese.runs.jobs import ACTIVE_STATES, Job, list_jobs

pytestmark = pytest.mark.browser


DEMO_PROBE = ROOT / "sample_data" / "thermal_faces" / "test"
TRAINING_SECONDS = 900  # three epochs on the tiny data: under a minute alone, several on a busy machine


@pytest.fixture()
def page(browser, server):
    with browser_page(browser, height=900) as page:
        yield page


def points(page):
    """The SVG markers of the map's class traces (the last trace holds the representatives)."""
    return page.locator(".js-plotly-plot .scatterlayer .trace:not(:last-child) path.point")


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


PER_CLASS = '[data-testid="stDataFrame"] table'  # the grid's accessible table of its visible rows


def per_class_rows(page) -> list[dict[str, str]]:
    """The rows of Evaluate's per-class table (it draws on a canvas; its accessible table has the cells)."""
    table = page.locator(PER_CLASS).first
    header = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    return [dict(zip(header, (c.strip() for c in row.locator("td").all_inner_texts()))) for row in table.locator("tbody tr").all()]


def test_keyboard_moves_the_threshold_and_the_table_changes(page, server):
    open_page(page, server, "Evaluate")
    table = page.locator(PER_CLASS).first
    table.wait_for(state="attached")
    before = table.inner_text()
    slider = page.locator('[data-testid="stSlider"] input[type="range"]').first  # visually hidden, keyboard-operable
    slider.focus()
    slider.press("Home")  # threshold 0: every known image is rejected
    page.wait_for_function("([selector, before]) => document.querySelector(selector).innerText !== before", arg=[PER_CLASS, before])
    wait_idle(page)
    assert float(slider.input_value()) == 0.0
    after = table.inner_text()
    assert after != before
    # The unknown column now holds every test image of its row, and the page is no wider than the window.
    rows = per_class_rows(page)
    assert rows
    for row in rows:
        assert row["identified"] == "0" and row["confused"] == "0" and row["unknown"] == row["images"] != "0", row
    assert page.evaluate("() => document.documentElement.scrollWidth") <= WIDTH
    slider.press("End")
    page.wait_for_function("([selector, after]) => document.querySelector(selector).innerText !== after", arg=[PER_CLASS, after])
    wait_idle(page)
    assert all(row["unknown"] == "0" for row in per_class_rows(page))
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


def second_run(data: DashboardData, source: Path, name: str) -> Path:
    """A second run for Compare beside the server's: ``source``'s network deciding by another rule,
    put where the dashboard finds runs (its runs folder)."""
    dest = data.runs_dir / name
    return dest if (dest / "run.json").exists() else rule_variant(source, dest)


def test_compare_two_runs_shows_their_numbers_and_curves(page, server, dashboard_data: DashboardData):
    second_run(dashboard_data, dashboard_data.run, "tiny_medoid")
    open_page(page, server, "Compare")
    numbers = page.locator('[data-testid="stTable"]').first
    header = numbers.locator("thead").inner_text()
    for column in ("rule", "threshold", "accuracy", "identified", "strangers rejected", "known rejected", "AUROC", "EER"):
        assert column in header, header
    rows = numbers.locator("tbody tr")
    assert rows.count() == 2, numbers.inner_text()
    first, second = (rows.nth(i).locator("th").first.inner_text() for i in range(2))
    assert first == "tiny" and second != first  # the sidebar's run, then one of the same classes
    assert "(" in rows.nth(1).inner_text()  # the second run's differences from the first
    # The best value of each number column is highlighted (one or more cells per column on a tie).
    highlighted = numbers.evaluate("table => [...table.querySelectorAll('td')].filter(td => getComputedStyle(td).backgroundColor === 'rgb(216, 243, 220)').length")
    assert highlighted >= 6  # six number columns, each with its best (both runs on a tie)
    # The overlaid curves: loss and pair accuracy for each of the two runs, one legend entry per run.
    curves = page.locator(".js-plotly-plot").first
    curves.locator(".scatterlayer .trace").nth(3).wait_for()
    assert curves.locator(".scatterlayer .trace").count() == 4
    assert sorted(curves.locator(".legend .traces .legendtext").all_text_contents()) == sorted([first, second])
    assert_no_exception(page)


def fill_number_inputs(page, values: dict[int, str]) -> None:
    """Type into a form's number inputs (by index) until each shows its value.

    On a busy machine the page may still redraw the form while the first keys arrive,
    and a redraw resets an input: so each is typed again until the page shows it.
    """
    inputs = page.locator('[data-testid="stNumberInput"] input')
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        wrong = {i: v for i, v in values.items() if inputs.nth(i).input_value() != v}
        if not wrong:
            return
        assert time.monotonic() < deadline, f"the number inputs {sorted(wrong)} never showed {wrong}"
        for index, value in wrong.items():
            inputs.nth(index).fill(value)
            inputs.nth(index).press("Tab")  # commits the value (Enter would submit the form)
        wait_idle(page)


@pytest.mark.slow  # trains a network for three epochs (besides needing Chromium)
def test_training_runs_on_across_a_reload_and_shows_its_curves(page, server, dashboard_data: DashboardData):
    open_page(page, server, "Train")
    fill_number_inputs(page, {0: "3", 1: "8"})  # epochs, batch size
    before = {job.name for job in list_jobs(dashboard_data.runs_dir)}
    page.get_by_role("button", name="Start training").click()
    page.locator("text=/Starting|Epoch \\d+ of 3|Finished 3 epochs/").first.wait_for()
    job = wait_until(lambda: next((j for j in list_jobs(dashboard_data.runs_dir) if j.name not in before), None), TRAINING_SECONDS, "the training never started")

    page.reload()  # a new browser session: the training lives on in its own process
    page.wait_for_selector('h1:has-text("Train")')
    # Its state is in the run folder: wait for run.json to say it finished (minutes on a busy machine).
    def finished() -> Job | None:
        now = next(j for j in list_jobs(dashboard_data.runs_dir) if j.name == job.name)
        return None if now.state in ACTIVE_STATES else now

    done = wait_until(finished, TRAINING_SECONDS, f"{job.name} did not finish")
    assert done.state == "complete", done.log_tail()
    assert siamese.load_run(done.run_dir).info["epochs_done"] == 3
    # The page polls the folder every two seconds while a training is active, then redraws.
    page.locator("text=Finished 3 epochs").first.wait_for()
    assert page.locator("text=Finished 3 epochs").count() == 1
    page.locator(".js-plotly-plot").first.wait_for()  # Plotly draws after the text, asynchronously
    wait_idle(page)
    assert_no_exception(page)
    assert page.locator(".js-plotly-plot").count() == 1  # loss and pair-accuracy curves


def choose_run(page, label_start: str) -> None:
    """Pick a run in the sidebar's run picker on Home, and wait until Home shows it as the selected run."""
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.locator('[role="option"]', has_text=label_start).first.click()
    page.locator('[data-testid="stMain"] [data-testid="stMarkdown"]', has_text=f"{Path(label_start).name} ·").first.wait_for()
    wait_idle(page)


def test_every_page_opens_without_exception_and_is_screenshotted(page, server, screenshots: Path, dashboard_data: DashboardData):
    open_page(page, server, "Home")
    # The README shows the committed demo run when it is there; the tiny test run otherwise.
    if (DEMO_RUN / "run.json").exists():
        second_run(dashboard_data, DEMO_RUN, "demo_run_medoid")  # Compare shows the demo run beside it
        choose_run(page, "sample_data/demo_run")
    else:
        second_run(dashboard_data, dashboard_data.run, "tiny_medoid")
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
            page.get_by_text("1 selected").wait_for()  # the map's own images are on the page already
            wait_idle(page)
        if title == "Probe":
            probes = sorted(DEMO_PROBE.rglob("*.png")) if (DEMO_RUN / "run.json").exists() else []
            if probes:
                page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(probes[0]))
                page.locator('[data-testid="stAlert"]').first.wait_for()
                page.locator(".js-plotly-plot").nth(1).wait_for()
                wait_idle(page)
        if title == "Gallery":  # every person a card with thumbnails, none broken
            page.get_by_text("trained", exact=True).first.wait_for()
            assert page.locator('[data-testid="stImage"] img').count() >= 3
        assert_no_exception(page)
        if title != "Train":
            # Data draws its per-class chart only when the counts differ (the sample data has 24 in every class).
            assert page.locator(".js-plotly-plot").count() > 0 or title in ("Home", "Probe", "Data", "Gallery"), f"{title} drew no chart"
        full_page_screenshot(page, screenshots / f"{title.lower()}.png")
