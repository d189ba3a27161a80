"""The Embeddings map past charts.SVG_POINT_LIMIT points, in a real browser: WebGL, the class picker, click selection.

A run of 30 synthetic classes with about 1,100 training images is trained for one
epoch (the map's layout is tested, not the network). Skipped like the other browser
tests when Chromium or Playwright is missing, except in CI.
"""

from __future__ import annotations

import charts
import numpy as np
import pytest
from dashboard_fixtures import DashboardData, assert_no_exception, wait_idle

import siamese
from helpers import run_cli

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # trains a run of 1,100 images: minutes on a busy machine

CHOSEN = "person_07"


@pytest.fixture(scope="module")
def dashboard_data(tmp_path_factory) -> DashboardData:
    """30 identities x 48 images (43 train, 5 test): after the held-out share, over 1,000 map points."""
    from siamese.sample.dataset import write_sample_dataset

    root = tmp_path_factory.mktemp("webgl")
    data = root / "faces"
    write_sample_dataset(data, identities=30, per_identity=48, unknown_identities=2, unknown_per_identity=3, test_fraction=0.1, seed=7)
    run = root / "runs" / "webgl"
    run_cli("train", str(data / "train"), "--out", str(run), "--epochs", "1", "--batch-size", "32")
    run_cli("represent", str(run))
    return DashboardData(data=data, run=run, runs_dir=root / "new_runs")




GRAPH = "document.querySelector('[data-testid=\"stPlotlyChart\"] .js-plotly-plot')"


def trace_names(page) -> list[str]:
    return page.evaluate(f"() => {GRAPH}.data.map(t => t.name)")


def screen_position(page, x: float, y: float) -> tuple[float, float]:
    """Where the map draws the data point (x, y), in page pixels."""
    return tuple(page.evaluate(
        f"""([x, y]) => {{
            const gd = {GRAPH}, layout = gd._fullLayout, box = gd.getBoundingClientRect();
            return [box.left + layout._size.l + layout.xaxis.l2p(x), box.top + layout._size.t + layout.yaxis.l2p(y)];
        }}""",
        [x, y],
    ))


def test_map_of_many_points_draws_with_webgl_highlights_a_class_and_selects_by_click(page, server, dashboard_data: DashboardData):
    run = siamese.load_run(dashboard_data.run)
    table = run.training_map()
    assert len(table) > charts.SVG_POINT_LIMIT
    page.goto(f"{server}/embeddings")
    page.wait_for_selector('h1:has-text("Embeddings")')
    wait_idle(page)
    page.locator(".js-plotly-plot").first.wait_for()
    assert_no_exception(page)
    # WebGL: the points are on a canvas, not SVG markers.
    assert page.evaluate(f"() => {GRAPH}.data.every(t => t.type === 'scattergl')")
    assert page.locator(".js-plotly-plot .scatterlayer path.point").count() == 0
    assert page.locator(".js-plotly-plot canvas").count() > 0
    assert trace_names(page) == ["training images", "representatives"]

    # The class picker: type to find a class; it gets its own coloured trace, the rest turns gray.
    picker = page.locator('[data-testid="stMultiSelect"]').first
    picker.click()
    page.keyboard.type(CHOSEN)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.wait_for_function(f"(name) => {GRAPH} && {GRAPH}.data.some(t => t.name === name)", arg=CHOSEN)
    wait_idle(page)
    assert trace_names(page) == ["other classes", CHOSEN, "representatives"]
    colours = page.evaluate(f"() => {GRAPH}.data.map(t => t.marker.color)")
    assert colours[0] == charts.MUTED and colours[1] in charts.CLASS_COLOURS

    # Click the chosen class's point farthest from any other point: it alone is selected and its image shown.
    own = table[(table["class"] == CHOSEN) & ~table["representative"]]
    xy = table[["x", "y"]].to_numpy()
    gaps = [np.sort(np.hypot(*(xy - xy[i]).T))[1] for i in own.index]
    row = int(own.index[int(np.argmax(gaps))])
    file_name = table["file"].iloc[row].rsplit("/", 1)[-1]
    page.mouse.click(*screen_position(page, float(table["x"].iloc[row]), float(table["y"].iloc[row])))
    page.get_by_text("1 selected").wait_for()
    caption = page.locator('[data-testid="stImage"]', has_text=file_name).first
    caption.wait_for()
    assert caption.locator("img").count() == 1
    assert_no_exception(page)
