"""Choosing representatives and the threshold: the training equal-error point, calibration on
held-out images, the map table, and the choices represent accepts."""

from __future__ import annotations

import numpy as np
import pytest

from siamese.errors import SiameseError
from siamese.maps.representatives import METHODS, calibrate, map_table, represent, training_threshold
from siamese.maps.training_maps import MAP_COLUMNS
from siamese.scoring.metrics import equal_error_threshold
from siamese.scoring.rules import RULES, Scorer


def test_training_threshold_is_the_equal_error_point_of_own_against_nearest_other_class():
    class_dist = np.array([[0.1, 0.6, 0.9], [0.7, 0.2, 0.8], [0.95, 0.65, 0.3]])
    labels = np.array([0, 1, 2])
    # own class: 0.1, 0.2, 0.3; nearest other class: 0.6, 0.7, 0.65
    expected = equal_error_threshold(np.array([0.1, 0.2, 0.3]), np.array([0.6, 0.7, 0.65]))
    assert training_threshold(class_dist, labels) == expected
    assert 0.3 < expected <= 0.6  # the two groups do not overlap: it separates them


def test_calibration_sets_every_rule_threshold_at_the_target_false_reject_rate():
    near = Scorer("medoid", 2, np.array([[0.0], [10.0]]), np.array([0, 1]))
    far = Scorer("centroid", 2, np.array([[-1.0], [11.0]]), np.array([0, 1]))
    held_out = np.array([[1.0], [2.0], [9.0], [7.0]])
    labels = np.array([0, 0, 1, 1])
    fitted = calibrate({"medoid": near, "centroid": far}, held_out, labels, "medoid", 0.25, 2)
    # medoid: nearest distances 1, 2, 1, 3; one of four may be rejected: midway between 2 and 3
    np.testing.assert_allclose(fitted["distances"], [1.0, 2.0, 1.0, 3.0])
    assert fitted["rule_thresholds"]["medoid"] == pytest.approx(2.5)
    # centroid: 2, 3, 2, 4 -> midway between 3 and 4
    assert fitted["rule_thresholds"]["centroid"] == pytest.approx(3.5)
    assert fitted["class_thresholds"].shape == (2,)


def test_map_table_has_the_stored_columns_and_marks_the_representatives():
    xy = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    table = map_table(["a/1.png", "a/2.png", "b/1.png"], np.array([0, 0, 1]), ["a", "b"], xy, np.array([0.1, 0.0, 0.0]), np.array([1, 2]))
    assert list(table.columns) == MAP_COLUMNS
    assert table["class"].tolist() == ["a", "a", "b"] and table["representative"].tolist() == [False, True, True]


@pytest.mark.parametrize(
    "option, words",
    [
        ({"method": "kmeans"}, ", ".join(METHODS)),
        ({"rule": "cosine"}, ", ".join(RULES)),
        ({"per_class": 0}, "per-class count"),
        ({"k": 0}, "neighbours"),
        ({"perplexity": 0.0}, "perplexity"),
        ({"target_frr": 1.0}, "false-reject rate"),
    ],
    ids=["method", "rule", "per-class", "k", "perplexity", "target-frr"],
)
def test_represent_refuses_a_bad_option_before_reading_anything(option, words):
    with pytest.raises(SiameseError, match=words):
        represent(None, **option)  # type: ignore[arg-type]  # refused before the run is touched


def test_a_representative_linked_from_outside_the_dataset_is_not_copied_into_the_run(tiny_run, tiny_data, tmp_path):
    """Issue 23 item 11: a symbolic link out of a dataset must not smuggle its target into
    the run folder, where the dashboard would show it as the run's own file."""
    import shutil

    from siamese import load_run

    run_dir, data, outside = tmp_path / "run", tmp_path / "data", tmp_path / "outside"
    shutil.copytree(tiny_run, run_dir)
    shutil.copytree(tiny_data / "train", data)
    linked = sorted(p.name for p in data.iterdir())[0]
    shutil.move(data / linked, outside)
    (data / linked).mkdir()
    for image in sorted(outside.iterdir()):
        (data / linked / image.name).symlink_to(image)
    represent(load_run(run_dir), data_dir=data, perplexity=5)
    items = {item["class"]: item for item in load_run(run_dir).representatives()["items"]}
    assert items[linked]["copy"] is None and not (run_dir / "representatives" / linked).exists()
    others = [item for name, item in items.items() if name != linked]
    assert others and all((run_dir / item["copy"]).is_file() for item in others)
