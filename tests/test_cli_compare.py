"""The `compare` and `train --represent` commands end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import copy_run, run_cli, tree_digest
from siamese import evaluate, load_run
from siamese.scoring.compare_runs import METRICS, SETTINGS

RUN_KEYS = {"run", "path", "settings", "metrics", "difference"}


def test_compare_json_gives_every_run_its_own_numbers(tiny_run: Path, tiny_run_medoid: Path, tiny_data: Path):
    out = run_cli("compare", str(tiny_run), str(tiny_run_medoid), "--test", str(tiny_data / "test"), "--unknown", str(tiny_data / "unknown"), "--json")
    report = json.loads(out.stdout)
    assert set(report) == {"test_dir", "unknown_dir", "runs", "differing_settings", "best", "without_representatives", "mismatched"}
    assert [r["run"] for r in report["runs"]] == ["tiny", "tiny_medoid"]
    for entry, path in zip(report["runs"], [tiny_run, tiny_run_medoid]):
        assert set(entry) == RUN_KEYS
        assert set(entry["settings"]) == {key for key, _ in SETTINGS}
        expected = evaluate(load_run(path), tiny_data / "test", tiny_data / "unknown").metrics()
        for key, _, _ in METRICS:
            assert entry["metrics"][key] == pytest.approx(expected[key]), key
        assert entry["metrics"]["threshold"] == pytest.approx(load_run(path).threshold_record()["threshold"])
    first, second = (r["metrics"] for r in report["runs"])
    assert report["runs"][0]["difference"] == {key: 0.0 for key, _, _ in METRICS}
    assert report["runs"][1]["difference"]["accuracy"] == pytest.approx(second["accuracy"] - first["accuracy"])
    assert {"rule", "threshold"} <= set(report["differing_settings"]) and "margin" not in report["differing_settings"]
    assert set(report["best"]) == {key for key, _, _ in METRICS}
    assert report["without_representatives"] == [] and report["mismatched"] == {}


def test_compare_prints_the_settings_and_the_numbers(tiny_run: Path, tiny_run_medoid: Path, tiny_data: Path):
    out = run_cli("compare", str(tiny_run), str(tiny_run_medoid), "--test", str(tiny_data / "test")).stdout
    lines = out.splitlines()
    assert lines[0] == f"test set {tiny_data / 'test'}: 8 images"
    rule = next(line for line in lines if line.lstrip("* ").startswith("rule "))
    assert rule.startswith("* ") and rule.split()[-2:] == ["knn", "medoid"]  # marked as differing
    margin = next(line for line in lines if line.lstrip("* ").startswith("margin "))
    assert margin.startswith("  ")
    header = lines.index(next(line for line in lines if line.startswith("numbers on the same images")))
    assert lines[header + 1].split()[:3] == ["rule", "threshold", "threshold"]
    assert lines[header + 2].startswith("tiny ") and lines[header + 3].startswith("tiny_medoid ")
    assert "(+" in lines[header + 3] or "(-" in lines[header + 3]  # its difference from the first run


@pytest.mark.parametrize("args, words", [
    (["{run}", "--test", "{data}/test"], "two or more runs, got 1"),
    (["{run}", "{run}", "--test", "{missing}"], "does not exist"),
    (["{run}", "{run}", "--test", "{data}/test", "--unknown", "{missing}"], "does not exist"),
    (["{run}", "{bare}", "--test", "{data}/test"], "has no representatives yet; run `python -m siamese represent"),
    (["{run}", "{run}", "--test", "{data}/unknown"], "was not trained on stranger_01, stranger_02 of the test set"),
    (["{run}", "{run}"], "the following arguments are required: --test"),
], ids=["one-run", "missing-test", "missing-unknown", "no-representatives", "other-classes", "no-test"])
def test_compare_bad_input_exits_2_with_one_line(args, words, tiny_run: Path, tiny_data: Path, tmp_path: Path):
    bare = copy_run(tiny_run, tmp_path / "bare")
    values = {"run": str(tiny_run), "data": str(tiny_data), "missing": str(tmp_path / "missing"), "bare": str(bare)}
    result = run_cli("compare", *[a.format(**values) for a in args], check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], result.stderr
    assert result.stdout == ""


@pytest.mark.slow  # trains a network for an epoch, then chooses representatives twice
def test_train_represent_gives_a_run_ready_to_evaluate_as_represent_would(tiny_data: Path, tmp_path: Path):
    before = tree_digest(tiny_data)
    run_dir = tmp_path / "ready"
    out = run_cli("train", str(tiny_data / "train"), "--out", str(run_dir), "--epochs", "1", "--batch-size", "8", "--represent").stdout
    assert "complete, 1 epochs" in out and f"recorded 4 representatives (tsne-medoid, 1 per class) from 20 images in {run_dir}" in out
    run = load_run(run_dir)
    assert run.status == "complete" and run.has_representatives
    assert run_cli("evaluate", str(run_dir), str(tiny_data / "test"), "--json").returncode == 0  # ready, with nothing else to run

    # The same as running `represent` afterwards with its defaults.
    again = copy_run(run_dir, tmp_path / "again")
    run_cli("represent", str(again))
    ready, represented = run.representatives(), load_run(again).representatives()
    for key in ("method", "per_class", "rule", "k", "n_images", "suggested_threshold", "threshold_source", "threshold_criterion", "target_frr"):
        assert ready[key] == represented[key], key
    assert [(i["class"], i["file"]) for i in ready["items"]] == [(i["class"], i["file"]) for i in represented["items"]]
    assert tree_digest(tiny_data) == before
