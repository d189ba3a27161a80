"""Runs side by side (siamese.scoring.compare_runs): the same images for every run, each at its own threshold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helpers import copy_run
from siamese import SiameseError, evaluate, load_run
from siamese.scoring.compare_runs import METRICS, CompareResult, compare_runs, run_labels

KEYS = [key for key, _, _ in METRICS]


def test_the_same_run_twice_differs_in_nothing(tiny_run: Path, tiny_data: Path):
    result = compare_runs([tiny_run, tiny_run], tiny_data / "test", tiny_data / "unknown")
    assert result.labels == ["tiny", "tiny (2)"]
    assert result.differing_settings() == []
    assert result.differences()["tiny (2)"] == dict.fromkeys(KEYS, 0.0)
    assert result.best() == {key: ["tiny", "tiny (2)"] for key in KEYS}  # a tie: both are best
    text, best = result.display_metrics()
    assert text.loc["tiny (2)", "accuracy"] == f"{result.metrics['tiny']['accuracy']:.3f} (+0.000)"
    assert best.loc[:, ["accuracy", "EER"]].to_numpy().all()
    assert not best.loc[:, ["rule", "threshold"]].to_numpy().any()  # the decision is shown, never ranked


def test_numbers_are_each_runs_own_evaluation(tiny_run: Path, tiny_run_medoid: Path, tiny_data: Path):
    result = compare_runs([tiny_run, tiny_run_medoid], tiny_data / "test", tiny_data / "unknown")
    assert result.labels == ["tiny", "tiny_medoid"] and result.evaluated == result.labels
    for label, path in zip(result.labels, [tiny_run, tiny_run_medoid]):
        run = load_run(path)
        expected = evaluate(run, tiny_data / "test", tiny_data / "unknown").metrics()
        got = result.metrics[label]
        assert got["threshold"] == run.threshold_record()["threshold"] and got["rule"] == run.rule
        assert got["threshold_source"] == "calibration"
        assert (got["n_test"], got["n_unknown"]) == (expected["n_test"], expected["n_unknown"]) == (8, 8)
        for key in KEYS:
            assert got[key] == pytest.approx(expected[key]), key
    assert (result.metrics["tiny"]["rule"], result.metrics["tiny_medoid"]["rule"]) == ("knn", "medoid")
    differing = result.differing_settings()
    assert {"rule", "threshold", "representatives"} <= set(differing)
    assert not {"margin", "epochs", "learning_rate", "training_data"} & set(differing)  # the same network
    for key in KEYS:
        assert result.differences()["tiny_medoid"][key] == pytest.approx(result.metrics["tiny_medoid"][key] - result.metrics["tiny"][key])
    # The same history (one network), as the overlaid curves draw it.
    pd.testing.assert_frame_equal(result.histories["tiny"], result.histories["tiny_medoid"])
    table = result.settings_table()
    assert list(table.columns) == ["tiny", "tiny_medoid"]
    assert table.loc["rule"].tolist() == ["knn", "medoid"]
    assert table.loc["representatives"].tolist() == ["tsne-medoid, 1 per class", "tsne-medoid, 2 per class"]
    assert table.loc["input shape"].tolist() == ["60×80×3", "60×80×3"]


def _result(metrics: dict[str, dict]) -> CompareResult:
    labels = list(metrics)
    decision = {"rule": "knn", "threshold": 0.1, "threshold_source": "calibration", "n_test": 10, "n_unknown": 4}
    return CompareResult(
        labels=labels, paths=labels, test_dir="test", unknown_dir="unknown", settings={label: {} for label in labels},
        histories={}, metrics={label: {**decision, **m} for label, m in metrics.items()}, without_representatives=[], mismatched={},
    )


def test_best_and_differences_by_hand():
    result = _result({
        "a": {"accuracy": 0.9, "identified_rate": 0.8, "rejection_rate": 0.5, "false_reject_rate": 0.2, "auroc_unknown": 0.75, "eer": 0.25},
        "b": {"accuracy": 0.8, "identified_rate": 0.8, "rejection_rate": 0.75, "false_reject_rate": 0.125, "auroc_unknown": 0.875, "eer": 0.125},
        "c": {"accuracy": 1.0, "identified_rate": 0.5, "rejection_rate": None, "false_reject_rate": 0.5, "auroc_unknown": None, "eer": None},
    })
    # Higher is better, except for known rejected and EER; a missing value is never best.
    assert result.best() == {
        "accuracy": ["c"], "identified_rate": ["a", "b"], "rejection_rate": ["b"], "false_reject_rate": ["b"], "auroc_unknown": ["b"], "eer": ["b"],
    }
    differences = result.differences()
    assert differences["a"] == dict.fromkeys(KEYS, 0.0)
    assert differences["b"] == pytest.approx({"accuracy": -0.1, "identified_rate": 0.0, "rejection_rate": 0.25, "false_reject_rate": -0.075,
                                              "auroc_unknown": 0.125, "eer": -0.125})
    assert differences["c"]["rejection_rate"] is None and differences["c"]["accuracy"] == pytest.approx(0.1)
    text, best = result.display_metrics()
    assert text.loc["a"].tolist() == ["knn", "0.1", "calibration", "0.900", "0.800", "0.500", "0.200", "0.750", "0.250"]
    assert text.loc["b", "accuracy"] == "0.800 (-0.100)" and text.loc["b", "strangers rejected"] == "0.750 (+0.250)"
    assert text.loc["c", "AUROC"] == "–"
    assert best.loc["b"].tolist() == [False, False, False, False, True, True, True, True, True]
    assert best.loc["c", "accuracy"] and not best.loc["a", "accuracy"]


def test_labels_are_unique():
    assert run_labels([Path("x/run"), Path("y/run"), Path("z/other"), Path("w/run")]) == ["run", "run (2)", "other", "run (3)"]


def test_runs_that_cannot_be_measured_are_listed_not_evaluated(tiny_run: Path, tiny_data: Path, tmp_path: Path):
    bare = copy_run(tiny_run, tmp_path / "bare")  # trained, no representatives yet

    def evaluator(run, test_dir, unknown_dir):
        assert run.path == tiny_run, "only the run with representatives is evaluated"
        return evaluate(run, test_dir, unknown_dir)

    result = compare_runs([tiny_run, bare], tiny_data / "test", None, evaluator=evaluator)
    assert result.without_representatives == ["bare"] and result.evaluated == ["tiny"]
    assert result.settings["bare"]["rule"] is None and result.settings["bare"]["margin"] == result.settings["tiny"]["margin"]
    assert len(result.histories["bare"]) == 2  # its curves are still shown
    assert result.metrics["tiny"]["rejection_rate"] is None  # no unknown set
    with pytest.raises(SiameseError, match="has no representatives yet; run `python -m siamese represent"):
        compare_runs([tiny_run, bare], tiny_data / "test", strict=True)

    # A test set of people the run never trained on: listed with the reason, not evaluated.
    result = compare_runs([tiny_run, tiny_run], tiny_data / "unknown", evaluator=lambda *a: pytest.fail("evaluated a mismatched run"))
    assert result.evaluated == [] and set(result.mismatched) == {"tiny", "tiny (2)"}
    assert "was not trained on stranger_01, stranger_02 of the test set" in result.mismatched["tiny"]
    assert "--" not in result.mismatched["tiny"]  # no command-line flag: the dashboard shows it as it is


@pytest.mark.parametrize("runs, test, unknown, words", [
    (["{run}"], "{data}/test", None, "two or more runs, got 1"),
    (["{run}", "{missing}"], "{data}/test", None, "does not exist"),
    (["{run}", "{run}"], "{missing}", None, "does not exist"),
    (["{run}", "{run}"], "{data}/test", "{missing}", "does not exist"),
], ids=["one-run", "missing-run", "missing-test", "missing-unknown"])
def test_bad_input_is_one_sentence(runs, test, unknown, words, tiny_run: Path, tiny_data: Path, tmp_path: Path):
    values = {"run": tiny_run, "data": tiny_data, "missing": tmp_path / "missing"}
    with pytest.raises(SiameseError, match=words):
        compare_runs([r.format(**values) for r in runs], test.format(**values), unknown.format(**values) if unknown else None)
