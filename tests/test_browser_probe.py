"""The threshold's digits and the Probe page's uploads in a real browser (Playwright and Debian's Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboard_fixtures import PAGES, DashboardData, assert_no_exception, wait_idle

pytestmark = pytest.mark.browser


UPLOAD = '[data-testid="stFileUploader"] input[type="file"]'
THUMB = '[data-testid="stSliderThumbValue"]'




def go(page, title: str) -> None:
    """Open a page through the sidebar's navigation (the session, and its threshold, are kept)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    page.wait_for_selector(f'h1:has-text("{title}")')
    wait_idle(page)
    assert_no_exception(page)


def verdict(page):
    return page.locator('[data-testid="stAlert"]', has_text="Identified as").or_(page.locator('[data-testid="stAlert"]', has_text="Unknown person"))


def test_the_slider_shows_the_digits_a_button_sets_on_evaluate_and_probe(page, server, dashboard_data: DashboardData):
    page.goto(f"{server}/{PAGES['Evaluate']}")
    page.wait_for_selector('h1:has-text("Evaluate")')
    wait_idle(page)
    button = page.get_by_role("button", name="Equal error:")
    value = button.inner_text().split(":")[1].strip()
    button.click()
    page.wait_for_function("(v) => document.querySelector('[data-testid=\"stSliderThumbValue\"]').innerText.trim() === v", arg=value)
    wait_idle(page)
    assert page.locator(THUMB).first.inner_text().strip() == value

    go(page, "Probe")
    image = sorted((dashboard_data.data / "test").rglob("*.png"))[0]
    page.locator(UPLOAD).set_input_files(str(image))
    verdict(page).first.wait_for()
    page.locator(".js-plotly-plot").nth(1).wait_for()
    wait_idle(page)
    assert page.locator(THUMB).first.inner_text().strip() == value  # the same digits as the Evaluate button
    assert f"threshold {value}" in verdict(page).first.inner_text()
    # The bar chart's threshold label: drawn in Plotly's annotation layer, above the bars.
    label = page.locator(".js-plotly-plot").first.locator(".infolayer .annotation-text")
    assert label.first.text_content() == f"threshold {value}"


def test_a_refused_upload_leaves_no_verdict_behind(page, server, dashboard_data: DashboardData, tmp_path: Path):
    page.goto(f"{server}/{PAGES['Probe']}")
    page.wait_for_selector('h1:has-text("Probe")')
    wait_idle(page)
    image = sorted((dashboard_data.data / "test").rglob("*.png"))[0]
    page.locator(UPLOAD).set_input_files(str(image))
    verdict(page).first.wait_for()
    wait_idle(page)

    notes = tmp_path / "notes.txt"
    notes.write_text("a shopping list")
    page.locator(UPLOAD).set_input_files(str(notes))
    error = page.locator('[data-testid="stAlert"]', has_text="notes.txt is not an image the dashboard can read")
    error.wait_for()
    wait_idle(page)
    assert_no_exception(page)
    assert verdict(page).count() == 0 and page.locator(".js-plotly-plot").count() == 0
    assert "BytesIO" not in page.locator('[data-testid="stMain"]').inner_text()
