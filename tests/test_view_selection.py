"""siamese.selection: what a view shows, chosen from a run's results (hand-computed cases and the committed demo run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import view_selection as selection

import siamese
from helpers import DEMO_RUN
from siamese.maps.training_maps import image_path


@pytest.fixture(scope="module")
def demo() -> siamese.Run:
    """The committed demo run: only its files are read here (no model, no TensorFlow)."""
    if not (DEMO_RUN / "run.json").exists():
        pytest.skip("sample_data/demo_run is not committed")
    return siamese.load_run(DEMO_RUN)


@pytest.fixture()
def evaluation() -> siamese.Evaluation:
    """Two classes, three test images and one unknown, with distances chosen by hand.

    Image 0 (a) is nearest a at 0.1: right. Image 1 (a) is nearest b at 0.2: wrong.
    Image 2 (b) is nearest a at 0.3: wrong. The unknown one is nearest a at 0.7.
    """
    return siamese.Evaluation(
        class_names=["a", "b"], threshold=0.25,
        files=["t/a/0.png", "t/a/1.png", "t/b/2.png"], true=np.array([0, 0, 1]),
        class_dist=np.array([[0.1, 0.5], [0.6, 0.2], [0.3, 0.4]]),
        unknown_files=["u/x/3.png"], unknown_groups=["x"], unknown_class_dist=np.array([[0.7, 0.9]]),
        skipped=[],
    )


def test_distance_groups_split_by_outcome_with_the_range_and_accuracy(evaluation):
    groups = selection.distance_groups(evaluation)
    assert groups["groups"] == {"right class": [0.1], "wrong class": [0.2, 0.3], "unknown": [0.7]}
    assert groups["max"] == pytest.approx(0.7 * 1.05)
    assert groups["accuracy"] == pytest.approx(1 / 3)
    # A suggested threshold beyond every distance widens the range.
    assert selection.distance_groups(evaluation, [0.2, 2.0])["max"] == pytest.approx(2.0 * 1.05)


def test_nonempty_cells_are_the_confusion_cells_that_hold_images(evaluation):
    # At 0.25: image 0 is identified as a, image 1 accepted as b, image 2 (0.3) rejected.
    cells = selection.nonempty_cells(evaluation.confusion())
    assert cells == [("a", "a", 1), ("a", "b", 1), ("b", "unknown", 1)]
    for true, predicted, n in cells:
        assert len(evaluation.cell(true, predicted)) == n


def test_class_threshold_vector_follows_class_order_and_fills_gaps():
    edited = pd.DataFrame({"class": ["b", "a", "c"], "threshold": [0.4, np.nan, 0.9]})
    vector = selection.class_threshold_vector(edited, ["a", "b", "d"], default=0.25)
    assert vector.tolist() == [0.25, 0.4, 0.25]  # a left blank, d missing: the default; c is not a class
    assert vector.dtype == np.float64


def test_class_files_groups_a_listing_by_class(tmp_path: Path):
    for name, files in {"anna": ["1.png", "2.png"], "bob": ["3.png"]}.items():
        (tmp_path / name).mkdir()
        for file in files:
            (tmp_path / name / file).write_bytes(b"")
    listing = siamese.scan_folder(tmp_path)
    assert selection.class_files(listing) == {
        "anna": [str(tmp_path / "anna" / "1.png"), str(tmp_path / "anna" / "2.png")],
        "bob": [str(tmp_path / "bob" / "3.png")],
    }


def test_nearest_representatives_are_the_nearest_classes_with_their_images(demo):
    names = demo.class_names
    distances = {name: 1.0 + i for i, name in enumerate(names)}
    distances[names[5]], distances[names[2]] = 0.1, 0.2
    nearest = selection.nearest_representatives(demo, distances, 3)
    assert [(name, distance) for name, distance, _ in nearest] == [(names[5], 0.1), (names[2], 0.2), (names[0], 1.0)]
    items = {item["class"]: item for item in demo.representatives()["items"]}
    for name, _, path in nearest:
        assert path == demo.path / items[name]["copy"] and path.exists()  # the copy kept in the run folder
        assert selection.representative_image(demo, name) == path
    assert selection.nearest_representatives(demo, distances, 0) == []
    assert selection.representative_image(demo, "nobody") is None


def test_representative_image_falls_back_to_the_training_image(demo, tmp_path: Path, monkeypatch):
    item = demo.representatives()["items"][0]
    record = {**demo.representatives(), "items": [{**item, "copy": "gone/nowhere.png"}]}
    monkeypatch.setattr(demo, "representatives", lambda: record)
    assert selection.representative_image(demo, item["class"]) == image_path(demo, item["file"])
    assert selection.nearest_representatives(demo, {item["class"]: 0.5, "other": 0.6}, 2) == [
        (item["class"], 0.5, image_path(demo, item["file"])), ("other", 0.6, None),
    ]


class Embedded:
    """Stands in for a run where only its training embeddings are read."""

    def __init__(self, embeddings: np.ndarray):
        self.embeddings = embeddings

    def training_embeddings(self) -> np.ndarray:
        return self.embeddings


def test_place_probe_is_the_inverse_distance_weighted_mean_of_the_nearest_points():
    run = Embedded(np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]]))
    table = pd.DataFrame({"x": [0.0, 10.0, 0.0], "y": [0.0, 0.0, 10.0]})
    # A probe at (1, 0) lies 1, 1 and sqrt(17) from the three points: weights 1, 1, 1/sqrt(17).
    w = 1 / np.sqrt(17)
    x, y = selection.place_probe(run, np.array([1.0, 0.0]), table)
    assert isinstance(x, float) and isinstance(y, float)
    assert (x, y) == pytest.approx((10 / (2 + w), 10 * w / (2 + w)))


def test_medoid_pairs_give_both_medoids_of_every_class(demo):
    pairs = selection.medoid_pairs(demo)
    record = demo.representatives()
    assert [name for name, _, _ in pairs] == demo.class_names
    tsne = {item["class"]: item["file"] for item in record["tsne_medoids"]}
    embedding = {item["class"]: item["file"] for item in record["embedding_medoids"]}
    for name, tsne_image, embedding_image in pairs:
        assert tsne_image == image_path(demo, tsne[name]) and tsne_image.exists()
        assert embedding_image == image_path(demo, embedding[name]) and embedding_image.exists()
