"""In a real browser, on a radiometric run: hovering the heat map on Data and Probe shows degrees
Celsius; the two pages are screenshotted (docs/screenshots/*-thermal.png with SIAMESE_REFRESH_SCREENSHOTS=1)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import thermal_fixtures
from dashboard_fixtures import DashboardData, assert_no_exception, full_page_screenshot, wait_idle
from dashboard_fixtures import browse as open_page  # the browser's (dashboard_fixtures.open_page is AppTest's)

pytestmark = pytest.mark.browser

# The server and browser of dashboard_fixtures, pointed at the radiometric data instead.
CELSIUS = re.compile(r"\d+\.\d\d °C")


@pytest.fixture(scope="module")
def dashboard_data(thermal_dashboard_data: DashboardData) -> DashboardData:
    return thermal_dashboard_data


def hover_heat_map(page, title_start: str) -> str:
    """Hover the middle of the heat map whose title starts with ``title_start``; return its SVG hover label."""
    plot = page.locator(".js-plotly-plot").filter(has=page.locator(".gtitle", has_text=title_start)).first
    plot.wait_for()
    plot.scroll_into_view_if_needed()
    drag = plot.locator(".nsewdrag").first
    box = drag.bounding_box()
    drag.hover(force=True, position={"x": box["width"] / 2, "y": box["height"] / 2})
    label = page.locator(".hoverlayer .hovertext").first
    label.wait_for()
    return label.text_content()


def test_data_heat_map_shows_degrees_celsius_on_hover(page, server, dashboard_data: DashboardData, screenshots: Path):
    open_page(page, server, "Data")
    page.get_by_text("Temperatures", exact=True).wait_for()
    first = sorted((dashboard_data.data / "train").rglob("*.png"))[0].name
    text = hover_heat_map(page, f"{first}:")
    assert CELSIUS.search(text) and "column" in text, text
    assert_no_exception(page)
    full_page_screenshot(page, screenshots / "data-thermal.png")


def test_probe_heat_map_shows_degrees_celsius_on_hover(page, server, dashboard_data: DashboardData, screenshots: Path):
    open_page(page, server, "Probe")
    frame = thermal_fixtures.a_test_frame(dashboard_data.data)
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(frame))
    page.locator('[data-testid="stAlert"]', has_text="Identified as").or_(page.locator('[data-testid="stAlert"]', has_text="Unknown person")).first.wait_for()
    page.locator(".js-plotly-plot").nth(2).wait_for()  # heat map, distance per class, place on the map
    wait_idle(page)
    text = hover_heat_map(page, f"{frame.name}:")
    assert CELSIUS.search(text), text
    assert_no_exception(page)
    full_page_screenshot(page, screenshots / "probe-thermal.png")
