"""The dashboard on a radiometric run and dataset: temperatures on Data and Probe, the Train form's
unit, window and palette read-back (AppTest, in process)."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from dashboard_fixtures import DASHBOARD, DashboardData, crashed, open_page, texts
from streamlit.testing.v1 import AppTest
from thermal_fixtures import a_test_frame

import siamese

# Shared fixtures live in their own modules: conftest.py belongs to the core package's tests.


@pytest.fixture()
def thermal_env(thermal_dashboard_data: DashboardData, monkeypatch) -> DashboardData:
    for name, value in thermal_dashboard_data.env().items():
        monkeypatch.setenv(name, value)
    return thermal_dashboard_data


def _charts(at) -> list[dict]:
    """Every Plotly figure on the page, as its JSON (data and layout)."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _array(value) -> np.ndarray:
    """A figure's array: a JSON list, or Plotly's typed-array encoding ({dtype, bdata, shape})."""
    if isinstance(value, dict):
        flat = np.frombuffer(base64.b64decode(value["bdata"]), np.dtype(value["dtype"]))
        return flat.reshape([int(n) for n in str(value.get("shape", flat.size)).split(",")])
    return np.asarray(value, dtype=float)


def _title(figure: dict) -> str:
    return (figure["layout"].get("title") or {}).get("text", "")


def _heat_maps(at) -> list[dict]:
    """Figures whose first trace is a heat map with the temperature in its hover label."""
    return [f for f in _charts(at) if f["data"][0]["type"] == "heatmap" and "°C</b>" in f["data"][0].get("hovertemplate", "")]


def test_data_page_shows_temperatures_per_class_and_a_heat_map_in_celsius(thermal_env: DashboardData):
    at = open_page("data.py")
    assert not at.error, texts(at)
    assert any(h.value == "Temperatures" for h in at.subheader)
    unit = next(s for s in at.selectbox if s.label == "Values are in")
    assert unit.value == "centikelvin"  # the run's unit (and what the values look like)
    histogram = next(f for f in _charts(at) if _title(f).startswith("Temperature histogram per class"))
    assert histogram["data"][0]["y"] == [f"person_0{i}" for i in range(1, 5)]
    shares = _array(histogram["data"][0]["z"])
    np.testing.assert_allclose(shares.sum(axis=1), 100.0)  # each class's row is its share of pixels per 0.25 °C
    (heatmap,) = _heat_maps(at)
    trace = heatmap["data"][0]
    assert (trace["zmin"], trace["zmax"]) == (28, 38)  # coloured over the run's window
    celsius = _array(trace["z"])
    assert celsius.shape == (60, 80) and 15 < celsius.min() and 33 < celsius.max() < 40  # degrees Celsius of a face frame
    assert "Suggested temperature window" in texts(at)  # from the room and skin temperatures


def test_choosing_another_image_redraws_the_heat_map(thermal_env: DashboardData):
    at = open_page("data.py")
    picker = next(s for s in at.selectbox if s.label == "Image for the heat map")
    picker.select(len(picker.options) - 1).run()
    assert not crashed(at)
    assert _title(_heat_maps(at)[0]).startswith("person_04_006.png")


def test_probe_shows_the_uploaded_frame_in_celsius(thermal_env: DashboardData):
    frame = a_test_frame(thermal_env.data)
    expected = siamese.probe(siamese.load_run(thermal_env.run), frame)
    at = open_page("probe.py")
    at.file_uploader[0].upload(frame.name, frame.read_bytes(), "image/png").run()
    assert not crashed(at) and not at.error, texts(at)
    assert expected.predicted_class in texts(at)
    assert len(_charts(at)) == 3  # the heat map, distance per class, place on the map
    (heatmap,) = _heat_maps(at)
    assert _title(heatmap).startswith(frame.name) and "window 28-38 °C" in _title(heatmap)


def test_probe_refuses_an_8_bit_image_for_a_radiometric_run(thermal_env: DashboardData, tiny_data):
    image = sorted((tiny_data / "test").rglob("*.png"))[0]
    at = open_page("probe.py")
    at.file_uploader[0].upload(image.name, image.read_bytes(), "image/png").run()
    assert not crashed(at)
    assert at.error and f"{image.name} is an 8-bit image" in at.error[0].value and "cannot hold temperatures" in at.error[0].value


def test_train_form_offers_unit_window_and_palette_with_a_suggestion(thermal_env: DashboardData):
    at = open_page("train.py")
    unit = next(s for s in at.selectbox if s.label == "Pixel values are")
    palette = next(s for s in at.selectbox if s.label == "Palette read-back")
    window = next(t for t in at.text_input if t.label == "Temperature window (°C)")
    assert unit.value == "counts" and palette.value == "none" and window.value == ""
    assert "suggested" in window.placeholder and ":" in window.placeholder.rsplit(" ", 1)[-1]
    # A window without a unit is refused with the package's sentence; no training starts.
    window.input("28:38")
    at.button[0].click().run()
    assert not crashed(at)
    assert at.error and "a temperature window needs the unit" in at.error[0].value, texts(at)
    assert not thermal_env.runs_dir.exists() or not any(thermal_env.runs_dir.iterdir())


def test_an_8_bit_dataset_shows_no_temperature_section(dashboard_env):
    at = open_page("data.py")
    assert not any(h.value == "Temperatures" for h in at.subheader)


def test_an_8_bit_dataset_gets_no_window_suggestion_on_the_train_form(dashboard_env):
    at = open_page("train.py")
    window = next(t for t in at.text_input if t.label == "Temperature window (°C)")
    assert window.placeholder == "blank: per frame" and "needs a temperature unit" in window.help
    assert "no window is suggested" in window.help


@pytest.mark.parametrize("page", ["embeddings.py", "evaluate.py"])
def test_other_pages_open_on_a_radiometric_run(thermal_env: DashboardData, page: str):
    at = open_page(page)
    assert not at.error, texts(at)


def test_home_scores_a_radiometric_run_on_its_frames(thermal_env: DashboardData):
    # Home embeds the test and unknown frames on first paint: more than AppTest's usual 30 s on a busy machine.
    at = AppTest.from_file(str(DASHBOARD / "Home.py"), default_timeout=180).run()
    assert not crashed(at) and not at.error, texts(at)


def test_a_big_upload_draws_a_bounded_heat_map(thermal_env: DashboardData):
    """A 4096x3072 16-bit frame (16.7 million values at most in the browser before) is drawn at
    most HEATMAP_SIDE cells a side, aspect kept, with the whole frame's range in its title."""
    import io

    import thermal_views
    from PIL import Image

    rows, columns = np.mgrid[0:3072, 0:4096]
    frame = (29815 + (rows + columns) * 1200 // 7166).astype(np.uint16)  # centikelvin: 25 °C rising to 37 °C
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    at = open_page("probe.py")
    at.file_uploader[0].upload("big.png", buffer.getvalue(), "image/png").run()
    assert not crashed(at) and not at.error, texts(at)
    (heatmap,) = _heat_maps(at)
    z = _array(heatmap["data"][0]["z"])
    assert z.shape == (192, 256) and z.size <= thermal_views.HEATMAP_SIDE ** 2
    assert _array(heatmap["data"][0]["x"])[-1] == 255 * 16  # the axes count the frame's pixels
    assert "25.0 to 37.0 °C" in _title(heatmap)  # the full frame's coldest and warmest


def test_shrink_takes_block_means_and_keeps_small_frames():
    import thermal_views

    frame = np.arange(12, dtype=float).reshape(3, 4)
    assert thermal_views.shrink(frame, side=4)[1] == 1 and thermal_views.shrink(frame, side=4)[0].tolist() == frame.tolist()
    small, step = thermal_views.shrink(frame, side=2)
    assert step == 2 and small.tolist() == [[2.5, 4.5], [8.5, 10.5]]  # the last row padded with itself
