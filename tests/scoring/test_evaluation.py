"""The Evaluation object: everything derived from cached distances, shared safely between sessions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from siamese.runs.store import load_run
from siamese.scoring.evaluation import Evaluation, evaluate


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


def test_metrics_have_the_open_set_keys():
    m = _evaluation().metrics()
    assert m["cmc"] == pytest.approx([1.0, 1.0])
    # FAR 0.5 allows one of two unknown (0.24 accepted): threshold 0.5; known right below it: a1, a2, b1
    assert m["dir_at_far"] == pytest.approx({"0.01": 2 / 3, "0.05": 2 / 3, "0.1": 2 / 3})
    assert m["threshold_source"] == "given" and m["calibration_frr"] is None


def test_per_class_thresholds_and_cells():
    ev = _evaluation()
    per_class = ev.at(0.25, class_thresholds=np.array([0.35, 0.1]))
    # a2 (0.3) now accepted by class a's 0.35; b1 (0.2) rejected by class b's 0.1; x2 (0.24 to b) rejected
    assert per_class.table()["verdict"].tolist() == ["identified", "identified", "rejected", "rejected", "rejected"]
    assert per_class.cell("b", "unknown")["file"].tolist() == ["b1"]
    assert ev.cell("a", "unknown")["file"].tolist() == ["a2"]


def test_rule_table_uses_each_rule_own_threshold():
    known_b = np.array([[0.2, 0.9], [0.9, 0.8], [0.6, 0.2]])  # second image nearest to b: wrong
    ev = Evaluation(
        class_names=["a", "b"], threshold=0.25, files=["a1", "a2", "b1"], true=np.array([0, 0, 1]),
        class_dist=np.array([[0.1, 0.9], [0.3, 0.8], [0.6, 0.2]]), unknown_files=["x1", "x2"], unknown_groups=["x", "x"],
        unknown_class_dist=np.array([[0.5, 0.7], [0.9, 0.24]]), skipped=[],
        rule_distances={"medoid": (np.array([[0.1, 0.9], [0.3, 0.8], [0.6, 0.2]]), np.array([[0.5, 0.7], [0.9, 0.24]])),
                        "centroid": (known_b, np.array([[0.5, 0.7], [0.9, 0.7]]))},
        rule_thresholds={"medoid": 0.25, "centroid": 0.5},
    )
    table = ev.rule_table().set_index("rule")
    assert table.loc["medoid", "accuracy"] == 1.0 and table.loc["centroid", "accuracy"] == pytest.approx(2 / 3)
    assert table.loc["medoid", "rejection_rate"] == 0.5  # 0.24 < 0.25 accepted
    assert table.loc["centroid", "rejection_rate"] == 1.0  # 0.5 and 0.7, both at or above 0.5
    assert table.loc["centroid", "identified_rate"] == pytest.approx(2 / 3)  # a1 0.2, b1 0.2 below 0.5
    assert table.loc["medoid", "auroc_unknown"] == pytest.approx(5 / 6)


def test_evaluation_at_different_thresholds_is_independent(tiny_run, tiny_data):
    shared = evaluate(load_run(tiny_run), tiny_data / "test", tiny_data / "unknown")
    original = shared.threshold
    thresholds = np.linspace(0.0, 1.0, 10)
    with ThreadPoolExecutor(max_workers=10) as pool:
        metrics = list(pool.map(lambda t: shared.at(t).metrics(), thresholds))
    assert [m["threshold"] for m in metrics] == list(thresholds)
    assert metrics == [shared.at(t).metrics() for t in thresholds]
    assert shared.threshold == original  # each session's threshold lives in its own copy
