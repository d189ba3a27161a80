"""The command line end to end on a tiny generated dataset, its JSON contract and its errors."""

from __future__ import annotations

import csv
import inspect
import json
import os
from dataclasses import fields

import pytest

from helpers import run_cli, tree_digest
from siamese.cli import build_parser
from siamese.maps.representatives import METHODS, represent
from siamese.runs.store import load_run
from siamese.scoring.rules import RULES
from siamese.training.config import PRECISIONS, USER_SETTINGS, TrainConfig
from siamese.training.single_process import STRATEGIES

EVALUATE_KEYS = {"n_test", "threshold", "accuracy", "identified_rate", "confusion", "cmc", "threshold_source", "calibration_frr"}
UNKNOWN_KEYS = {"n_unknown", "rejection_rate", "auroc_unknown", "eer", "eer_threshold", "dir_at_far"}


def test_train_writes_a_complete_run(tiny_run, tiny_data):
    run = load_run(tiny_run)
    assert run.status == "complete"
    assert run.info["epochs_done"] == 2
    assert run.class_names == ["person_01", "person_02", "person_03", "person_04"]
    assert run.input_shape == (60, 80, 3)
    assert run.train_dir == (tiny_data / "train").resolve()
    config = run.info["config"]
    assert (config["margin"], config["learning_rate"], config["epochs"]) == (0.6, 0.004, 2)
    assert len(config["data_fingerprint"]) == 64
    history = run.history()
    assert history["epoch"].tolist() == [1, 2]
    assert {"loss", "pair_accuracy"} <= set(history.columns)
    assert (tiny_run / "model.keras").exists()


def test_represent_records_representatives_without_touching_data(tiny_run):
    run = load_run(tiny_run)
    record = run.representatives()
    assert [item["class"] for item in record["items"]] == run.class_names
    for item in record["items"]:
        assert (tiny_run / item["copy"]).exists()
        assert (run.train_dir / item["file"]).exists()
    table = run.training_map()
    # 6 training images per class: round(6 * 0.15) = 1 held out per class, never trained on nor mapped
    held_out = run.calibration_files
    assert len(held_out) == 4 and len({f.split("/")[0] for f in held_out}) == 4
    assert len(table) == record["n_images"] == 20 and not set(held_out) & set(table["file"])
    assert table["representative"].sum() == 4
    assert record["threshold_source"] == "calibration" and record["target_frr"] == 0.05
    calibration = record["calibration"]
    assert sorted(calibration["files"]) == sorted(held_out)
    # the threshold rejects at most 5% of the held-out images: none of 4
    assert max(calibration["distances"]) < record["suggested_threshold"]
    assert set(calibration["rule_thresholds"]) == {"medoid", "centroid", "knn", "mahalanobis"}
    assert record["training_threshold"] > 0


def test_represent_without_held_out_images_falls_back_with_a_warning(tiny_data, tmp_path):
    run_dir = tmp_path / "nocal"
    run_cli("train", str(tiny_data / "train"), "--out", str(run_dir), "--epochs", "1", "--batch-size", "8", "--calibration-split", "0")
    out = run_cli("represent", str(run_dir), "--method", "medoid")
    assert "no held-out known images" in out.stderr and "strangers" in out.stderr
    record = load_run(run_dir).representatives()
    assert record["threshold_source"] == "training" and record["calibration"] is None
    assert record["suggested_threshold"] == record["training_threshold"]
    # a separate folder of known images calibrates instead
    run_cli("represent", str(run_dir), "--method", "medoid", "--calibrate", str(tiny_data / "test"), "--rule", "knn", "--k", "3",
            "--per-class-threshold", "--target-frr", "0.1")
    record = load_run(run_dir).representatives()
    assert record["threshold_source"] == "calibration" and record["calibration"]["source"] == "calibration folder"
    assert len(record["calibration"]["files"]) == 8 and record["rule"] == "knn" and record["k"] == 3
    assert record["per_class_threshold"] is True
    metrics = json.loads(run_cli("evaluate", str(run_dir), str(tiny_data / "test"), "--json").stdout)
    assert metrics["rule"] == "knn" and metrics["per_class_thresholds"] is True and metrics["calibration_frr"] == 0.1


def test_evaluate_json_has_the_documented_keys(tiny_run, tiny_data, tmp_path):
    out = run_cli("evaluate", str(tiny_run), str(tiny_data / "test"), "--unknown", str(tiny_data / "unknown"),
                  "--threshold", "0.3", "--json", "--csv", str(tmp_path / "table.csv"))
    metrics = json.loads(out.stdout)
    assert EVALUATE_KEYS | UNKNOWN_KEYS <= set(metrics)
    assert metrics["n_test"] == 8 and metrics["n_unknown"] == 8 and metrics["threshold"] == 0.3
    assert set(metrics["confusion"]) == set(load_run(tiny_run).class_names)
    assert sum(sum(row.values()) for row in metrics["confusion"].values()) == 8
    assert 0.0 <= metrics["auroc_unknown"] <= 1.0
    assert metrics["threshold_source"] == "given" and metrics["calibration_frr"] is None
    assert set(metrics["dir_at_far"]) == {"0.01", "0.05", "0.1"} and len(metrics["cmc"]) == 4  # four classes: four ranks
    assert metrics["cmc"] == sorted(metrics["cmc"]) and metrics["cmc"][0] == metrics["accuracy"]
    own = json.loads(run_cli("evaluate", str(tiny_run), str(tiny_data / "test"), "--unknown", str(tiny_data / "unknown"),
                             "--json", "--compare-rules").stdout)
    assert own["threshold_source"] == "calibration" and own["calibration_frr"] == 0.05
    assert [r["rule"] for r in own["rules"]] == ["medoid", "centroid", "knn", "mahalanobis"]
    runs_rule = next(r for r in own["rules"] if r["rule"] == own["rule"] == "knn")  # the default rule
    assert runs_rule["accuracy"] == own["accuracy"] and runs_rule["rejection_rate"] == own["rejection_rate"]
    rows = list(csv.DictReader(open(tmp_path / "table.csv")))
    assert len(rows) == 16
    assert set(rows[0]) == {"file", "set", "true_class", "predicted_class", "distance", "verdict"}


def test_probe_json_names_every_class(tiny_run, tiny_data):
    image = sorted((tiny_data / "test" / "person_02").iterdir())[0]
    result = json.loads(run_cli("probe", str(tiny_run), str(image), "--json").stdout)
    assert set(result["distances"]) == set(load_run(tiny_run).class_names)
    assert result["distance"] == pytest.approx(min(result["distances"].values()))
    assert isinstance(result["accepted"], bool)
    huge = json.loads(run_cli("probe", str(tiny_run), str(image), "--json", "--threshold", "100").stdout)
    assert huge["accepted"] is True and huge["predicted_class"] == huge["nearest_class"]
    zero = json.loads(run_cli("probe", str(tiny_run), str(image), "--json", "--threshold", "0").stdout)
    assert zero["accepted"] is False and zero["predicted_class"] == "unknown"


@pytest.mark.slow  # trains, represents and evaluates in six command-line processes
def test_every_command_leaves_the_dataset_byte_identical(tiny_data, tmp_path):
    before = tree_digest(tiny_data)
    run_dir = tmp_path / "run"
    run_cli("split", str(tiny_data / "train"), str(tmp_path / "split"))
    run_cli("train", str(tiny_data / "train"), "--out", str(run_dir), "--epochs", "1", "--batch-size", "8")
    run_cli("represent", str(run_dir), "--method", "medoid", "--per-class", "2", "--perplexity", "5")
    run_cli("evaluate", str(run_dir), str(tiny_data / "test"), "--unknown", str(tiny_data / "unknown"))
    run_cli("probe", str(run_dir), str(next((tiny_data / "unknown").rglob("*.png"))))
    run_cli("baseline", str(tiny_data / "train"), str(tiny_data / "test"))
    assert tree_digest(tiny_data) == before
    assert len(load_run(run_dir).representatives()["items"]) == 8


def _parser_option(command: str, dest: str):
    """The argparse action of ``command``'s option stored in ``dest``."""
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return next(a for a in sub.choices[command]._actions if a.dest == dest)


def test_train_defaults_are_train_config_defaults():
    args = build_parser().parse_args(["train", "x", "--out", "y"])
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    compared = [name for name in defaults if name != "train_dir" and hasattr(args, name)]
    assert sorted(compared) == sorted(set(USER_SETTINGS) - {"train_dir"})  # every setting a user chooses is an option
    for name in compared:
        assert getattr(args, name) == defaults[name], f"--{name.replace('_', '-')} defaults to {getattr(args, name)!r}, TrainConfig to {defaults[name]!r}"


def test_represent_defaults_are_the_function_defaults():
    args = build_parser().parse_args(["represent", "run"])
    parameters = {name: p.default for name, p in inspect.signature(represent).parameters.items() if name != "run"}
    assert all(hasattr(args, name) for name in parameters)  # every parameter is an option
    for name, default in parameters.items():
        assert getattr(args, name) == default, f"represent option {name} defaults to {getattr(args, name)!r}, represent() to {default!r}"


def test_choices_come_from_the_package_lists():
    assert tuple(_parser_option("train", "precision").choices) == PRECISIONS
    assert tuple(_parser_option("train", "strategy").choices) == STRATEGIES
    assert tuple(_parser_option("represent", "method").choices) == METHODS
    assert tuple(_parser_option("represent", "rule").choices) == RULES


def test_sample_data_command(tmp_path):
    out = tmp_path / "sample"
    result = run_cli("sample-data", str(out), "--identities", "3", "--per-identity", "5", "--unknown-identities", "2",
                     "--unknown-per-identity", "2")
    assert "train" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["test", "train", "unknown"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", "{missing}", "--out", "{tmp}/r"], "does not exist"),
        (["train", "{data}/train", "--out", "{tmp}/r", "--margin", "-1"], "margin"),
        (["train", "{data}/train", "--out", "{tmp}/r", "--input-shape", "60,80"], "input shape"),
        (["train", "{data}/train", "--out", "{data}"], "not empty"),
        (["evaluate", "{missing}", "{data}/test"], "does not exist"),
        (["evaluate", "{tmp}", "{data}/test"], "run.json is missing"),
        (["evaluate", "{run}", "{data}/unknown"], "not trained on"),
        (["evaluate", "{run}", "{data}/test", "--threshold", "abc"], "not a number"),
        (["probe", "{run}", "{data}/nothing.png"], "does not exist"),
        (["probe", "{run}", "{conftest}"], "cannot be read as an image"),
        (["represent", "{run}", "--method", "kmeans"], "invalid choice"),
        (["split", "{data}/train", "{data}/train/inside"], "inside the dataset"),
        (["frobnicate"], "invalid choice"),
    ],
    ids=["missing-data", "bad-margin", "bad-shape", "run-over-data", "missing-run", "not-a-run", "unknown-class",
         "bad-threshold", "missing-image", "not-an-image", "bad-method", "split-inside", "bad-command"],
)
def test_bad_input_exits_2_with_one_line(args, words, tiny_data, tiny_run, tmp_path):
    values = {"missing": str(tmp_path / "missing"), "tmp": str(tmp_path), "data": str(tiny_data), "run": str(tiny_run),
              "conftest": os.path.join(os.path.dirname(__file__), "conftest.py")}
    before = tree_digest(tiny_data)
    result = run_cli(*[a.format(**values) for a in args], check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and words in lines[0]
    assert "Traceback" not in result.stderr
    assert tree_digest(tiny_data) == before


def test_run_without_representatives_is_reported(tiny_data, tmp_path):
    run_dir = tmp_path / "bare"
    run_cli("train", str(tiny_data / "train"), "--out", str(run_dir), "--epochs", "1", "--batch-size", "8")
    result = run_cli("evaluate", str(run_dir), str(tiny_data / "test"), check=False)
    assert result.returncode == 2 and "represent" in result.stderr
