"""The Probe page's verdict (margin, narrow acceptances, risk figures), its nearest training images, the
map's neighbours of a clicked point, plain upload errors, and one threshold precision on every page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from dashboard_fixtures import DashboardData, crashed, image_captions, open_page, texts

import siamese
from siamese.scoring.neighbours import nearest_training_images, training_set
from siamese.scoring.probe import NARROW_MARGIN


def known_image(data: DashboardData) -> tuple[Path, siamese.ProbeResult]:
    """A test image the run identifies at its own threshold, and the package's result for it."""
    run = siamese.load_run(data.run)
    for image in sorted((data.data / "test").rglob("*.png")):
        result = siamese.probe(run, image)
        if result.accepted:
            return image, result
    pytest.skip("the tiny run identifies none of its test images")


def upload(at, image: Path) -> None:
    at.file_uploader[0].upload(image.name, image.read_bytes(), "image/png").run()


def test_a_narrow_acceptance_is_a_warning_with_its_margin(dashboard_env: DashboardData):
    image, expected = known_image(dashboard_env)
    at = open_page("probe.py")
    upload(at, image)
    narrow = expected.distance / (1 - NARROW_MARGIN / 2)  # the distance 5% of the threshold below it
    at.slider[0].set_value(narrow).run()
    assert not crashed(at) and not at.success, texts(at)
    assert at.warning[0].value.startswith(f"Identified as **{expected.predicted_class}**, narrowly"), texts(at)
    assert f"{NARROW_MARGIN:.0%}" in at.warning[0].value

    clear = expected.distance * 2  # half the threshold below it
    at.slider[0].set_value(clear).run()
    assert not at.warning, texts(at)
    verdict = at.success[0].value
    assert verdict.startswith(f"Identified as **{expected.predicted_class}**: distance ")
    assert " is 50% of the threshold " in verdict and "below it" not in verdict  # one reading: the distance's share


def test_the_verdict_states_the_rejected_and_accepted_shares_at_the_threshold(dashboard_env: DashboardData):
    image, _ = known_image(dashboard_env)
    run = siamese.load_run(dashboard_env.run)
    at = open_page("probe.py")
    upload(at, image)
    threshold = at.slider[0].value
    calibration = np.array(run.representatives()["calibration"]["distances"])
    strangers = siamese.evaluate(run, dashboard_env.data / "test", dashboard_env.data / "unknown").at(threshold).unknown()[2]
    risk = next(m.value for m in at.markdown if m.value.startswith("At this threshold"))
    assert f"**{np.mean(calibration >= threshold):.1%}** of the run's {len(calibration)} calibration images" in risk
    assert f"**{strangers.mean():.1%}** of the {len(strangers)} strangers in `{dashboard_env.data.name}/unknown` would be accepted" in risk


def test_the_probes_nearest_training_images_follow_k(dashboard_env: DashboardData):
    image, expected = known_image(dashboard_env)
    run = siamese.load_run(dashboard_env.run)
    at = open_page("probe.py")
    upload(at, image)
    assert at.number_input(key="probe_neighbours").value == 5
    nearest = nearest_training_images(training_set(run), expected.embedding, 5)
    shown = [c for c in image_captions(at) if c[:2] in {f"{i}." for i in range(1, 10)}]
    assert [c.split(" · ")[:2] for c in shown] == [[f"{i}. {n.class_name}", Path(n.file).name] for i, n in enumerate(nearest, start=1)]

    at.number_input(key="probe_neighbours").set_value(2).run()
    assert len([c for c in image_captions(at) if c.startswith(("1. ", "2. ", "3. "))]) == 2


def test_a_clicked_map_point_shows_its_nearest_training_images(dashboard_env: DashboardData):
    run = siamese.load_run(dashboard_env.run)
    table = run.training_map()
    row = int(table.index[~table["representative"]][1])
    at = open_page("embeddings.py")
    at.session_state["embedding_map"] = {
        "selection": {"points": [{"curve_number": 0, "point_number": 0, "point_index": 0, "customdata": [row, "x", 0.1, table["class"].iloc[row]]}], "point_indices": [0], "box": [], "lasso": []},
    }
    at.run()
    assert not crashed(at) and not at.error, texts(at)
    assert f"**Nearest training images** of {Path(table['file'].iloc[row]).name}" in texts(at)
    training = training_set(run)
    expected = nearest_training_images(training, training.embeddings[row], 5, exclude=row)
    shown = [c for c in image_captions(at) if c[:2] in {f"{i}." for i in range(1, 10)}]
    assert [c.split(" · ")[1] for c in shown] == [Path(n.file).name for n in expected]
    assert Path(table["file"].iloc[row]).name not in [c.split(" · ")[1] for c in shown]  # not its own neighbour


def test_a_refused_upload_replaces_the_verdict_with_one_sentence(dashboard_env: DashboardData):
    image, _ = known_image(dashboard_env)
    at = open_page("probe.py")
    upload(at, image)
    assert at.success or at.warning
    at.file_uploader[0].upload("notes.txt", b"a shopping list", "text/plain").run()
    assert not crashed(at)
    assert [e.value for e in at.error] == ["notes.txt is not an image the dashboard can read (PNG, JPEG, BMP or TIFF); choose another file."]
    assert not at.success and not at.warning and not at.slider  # nothing of the previous image is left
    assert "BytesIO" not in texts(at) and "Error:" not in texts(at)


def test_one_threshold_precision_on_evaluate_and_probe(dashboard_env: DashboardData):
    run = siamese.load_run(dashboard_env.run)
    at = open_page("evaluate.py")
    button = next(b for b in at.button if b.key == "suggest-eer")
    value = siamese.evaluate(run, dashboard_env.data / "test", dashboard_env.data / "unknown").suggestions()["eer"]["threshold"]
    assert button.label.endswith(f": {value:.4g}")
    button.click().run()
    slider = at.slider[0]
    assert slider.value == pytest.approx(value, abs=1e-12)  # exactly what the button set, not rounded to a step
    assert slider.proto.format == "%.4g"  # the browser writes the same four significant digits as the button
    histogram = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if json.loads(c.proto.spec)["layout"]["title"]["text"] == "Distance to the nearest class")
    assert [a["text"] for a in histogram["layout"]["annotations"]] == [f"threshold {value:.4g}"]

    image, _ = known_image(dashboard_env)
    at.switch_page("views/probe.py").run()
    upload(at, image)
    assert at.slider[0].value == pytest.approx(value, abs=1e-12) and at.slider[0].proto.format == "%.4g"
    assert f"threshold {value:.4g}" in texts(at)
    bars = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if json.loads(c.proto.spec)["layout"]["title"]["text"] == "Distance to each class")
    label = bars["layout"]["annotations"][0]
    assert label["text"] == f"threshold {value:.4g}" and (label["xref"], label["x"]) == ("paper", 1)  # in the right margin, off the bars
    assert bars["layout"]["shapes"][0]["layer"] == "above"
