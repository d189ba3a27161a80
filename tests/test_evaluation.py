"""The decision rule and its metrics on tiny hand-made examples."""

from __future__ import annotations

import numpy as np
import pytest

from siamese.evaluation import (
    Evaluation,
    class_distances,
    confusion,
    decide,
    pairwise_distances,
    place_on_map,
    threshold_sweep,
    unknown_roc,
)


def test_pairwise_distances_hand_values():
    d = pairwise_distances(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [6.0, 8.0]]))
    np.testing.assert_allclose(d, [[np.sqrt(1e-7), 10.0], [5.0, 5.0]], rtol=1e-6)


def test_class_distance_is_the_mean_over_that_class_representatives():
    emb = np.array([[0.0, 0.0]])
    reps = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
    dist = class_distances(emb, reps, np.array([0, 0, 1]), n_classes=3)
    np.testing.assert_allclose(dist, [[2.0, 2.0, np.inf]])


def test_decide_nearest_class_and_strict_threshold():
    dist = np.array([[0.1, 0.5], [0.7, 0.3], [0.2, 0.9]])
    predicted, distance, accepted = decide(dist, threshold=0.2)
    np.testing.assert_array_equal(predicted, [0, 1, 0])
    np.testing.assert_allclose(distance, [0.1, 0.3, 0.2])
    # a distance at the threshold is rejected, as in the original
    np.testing.assert_array_equal(accepted, [True, False, False])


def test_confusion_has_an_unknown_column_for_rejections():
    table = confusion(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), np.array([True, True, False, True]), ["a", "b"])
    assert list(table.columns) == ["a", "b", "unknown"]
    assert table.loc["a"].tolist() == [1, 1, 0]
    assert table.loc["b"].tolist() == [0, 1, 1]


def test_roc_auroc_and_eer_on_a_tiny_example():
    known = np.array([0.1, 0.2, 0.3, 0.6])
    unknown = np.array([0.4, 0.5, 0.7, 0.8])
    roc = unknown_roc(known, unknown)
    # 16 known/unknown pairs, unknown is farther in all but (0.6 vs 0.4) and (0.6 vs 0.5)
    assert roc.auroc == pytest.approx(14 / 16)
    # rejecting at >= 0.5 (or anything in (0.4, 0.5]): known rejected 1/4 (0.6), unknown
    # accepted 1/4 (0.4); the threshold sits in the middle of that gap
    assert roc.eer == pytest.approx(0.25)
    assert roc.eer_threshold == pytest.approx(0.45)


def test_perfect_separation_has_zero_eer():
    roc = unknown_roc(np.array([0.1, 0.2]), np.array([0.8, 0.9]))
    assert roc.auroc == 1.0 and roc.eer == 0.0
    assert roc.eer_threshold == pytest.approx(0.5)  # halfway between 0.2 and 0.8


def test_threshold_sweep_hand_values():
    sweep = threshold_sweep(np.array([0.1, 0.3, 0.5]), np.array([True, True, False]), np.array([0.2, 0.6]), np.array([0.0, 0.35, 1.0]))
    np.testing.assert_allclose(sweep["identified_rate"], [0.0, 2 / 3, 2 / 3])
    np.testing.assert_allclose(sweep["false_reject_rate"], [1.0, 1 / 3, 0.0])
    np.testing.assert_allclose(sweep["rejection_rate"], [1.0, 0.5, 0.0])


def _evaluation(threshold: float = 0.25) -> Evaluation:
    return Evaluation(
        class_names=["a", "b"],
        threshold=threshold,
        files=["a1", "a2", "b1"],
        true=np.array([0, 0, 1]),
        class_dist=np.array([[0.1, 0.9], [0.3, 0.8], [0.6, 0.2]]),
        unknown_files=["x1", "x2"],
        unknown_groups=["x", "x"],
        unknown_class_dist=np.array([[0.5, 0.7], [0.9, 0.24]]),
        skipped=[],
    )


def test_evaluation_metrics_follow_the_threshold_without_recomputing():
    ev = _evaluation()
    m = ev.metrics()
    assert m["accuracy"] == 1.0
    assert m["identified_rate"] == pytest.approx(2 / 3)  # a2 at 0.3 is rejected
    assert m["rejection_rate"] == pytest.approx(0.5)  # x2 at 0.24 is accepted as b
    assert ev.confusion().loc["a", "unknown"] == 1
    higher = ev.at(0.35).metrics()
    assert higher["identified_rate"] == 1.0 and higher["rejection_rate"] == 0.5
    assert ev.at(0.2).metrics()["rejection_rate"] == 1.0
    assert ev.class_dist is ev.at(0.35).class_dist


def test_evaluation_table_and_suggestions():
    ev = _evaluation()
    table = ev.table()
    assert table["verdict"].tolist() == ["identified", "rejected", "identified", "rejected", "falsely accepted"]
    suggestions = ev.suggestions(target_false_accept=0.0)
    assert set(suggestions) == {"eer", "best_balance", "target_far"}
    # no unknown accepted: the threshold must not exceed the nearest unknown distance 0.24
    assert suggestions["target_far"]["threshold"] <= 0.24
    assert ev.at(suggestions["target_far"]["threshold"]).metrics()["rejection_rate"] == 1.0


def test_place_on_map_is_the_weighted_mean_of_nearest_points():
    train = np.array([[0.0], [1.0], [10.0]])
    xy = np.array([[0.0, 0.0], [4.0, 0.0], [100.0, 100.0]])
    # distances 0.25 and 0.75 to the two nearest: weights 4 and 4/3 -> x = (0*4 + 4*4/3) / (16/3) = 1
    np.testing.assert_allclose(place_on_map(np.array([0.25]), train, xy, k=2), [1.0, 0.0])
