"""The run store: opening, listing and reading runs, and refusing damaged ones."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

import siamese
from helpers import run_cli
from siamese.errors import SiameseError
from siamese.runs.store import FORMAT_VERSION, Run, list_runs, load_run, new_run_info, write_run_info
from siamese.training.config import TrainConfig


def _write_run(run_dir, status="complete", created="2026-01-01T00:00:00+00:00", pid=None, **info):
    """A run folder with a run.json only, as training writes it (no model)."""
    run_dir.mkdir(parents=True)
    record = new_run_info(TrainConfig(train_dir="../data", input_shape=[8, 8, 1], class_names=["a", "b"]), [])
    record.update(status=status, created=created, pid=pid, **info)
    write_run_info(run_dir, record)
    return run_dir


def test_a_run_reads_its_settings_relative_to_its_folder(tmp_path):
    run = load_run(_write_run(tmp_path / "runs" / "r"))
    assert run.name == "r" and run.input_shape == (8, 8, 1) and run.class_names == ["a", "b"]
    assert run.train_dir == (tmp_path / "runs" / "data").resolve()
    assert run.config == TrainConfig(train_dir="../data", input_shape=[8, 8, 1], class_names=["a", "b"])
    assert run.info["format_version"] == FORMAT_VERSION
    assert run.history().empty and not run.has_model and not run.has_representatives


def test_a_running_run_whose_process_is_gone_is_failed(tmp_path):
    alive = load_run(_write_run(tmp_path / "alive", status="running", pid=os.getpid()))
    assert alive.status == "running" and alive.error is None
    dead = load_run(_write_run(tmp_path / "dead", status="running", pid=2**22 + 12345))  # above Linux's pid limit
    assert dead.status == "failed" and "stopped before it finished" in dead.error


def test_list_runs_newest_first_leaving_out_damaged_folders(tmp_path):
    _write_run(tmp_path / "old", created="2026-01-01T00:00:00+00:00")
    _write_run(tmp_path / "new", created="2026-02-01T00:00:00+00:00")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "run.json").write_text("{")
    (tmp_path / "not-a-run").mkdir()
    assert [r.name for r in list_runs(tmp_path)] == ["new", "old"]
    assert list_runs(tmp_path / "missing") == []
    assert list_runs(tmp_path)[0].summary()["name"] == "new"


def test_a_run_without_a_model_or_representatives_says_what_to_do(tmp_path):
    run = load_run(_write_run(tmp_path / "r"))
    with pytest.raises(SiameseError, match="has no model.keras yet"):
        run.embed(np.zeros((1, 8, 8, 1), np.float32))
    with pytest.raises(SiameseError, match="represent"):
        run.threshold_record()


def test_a_calibrated_record_decides_with_its_per_class_thresholds_when_asked(tmp_path):
    run_dir = _write_run(tmp_path / "r")
    record = {"suggested_threshold": 0.4, "threshold_source": "calibration", "target_frr": 0.05, "per_class_threshold": True,
              "calibration": {"class_thresholds": {"a": 0.3}}, "items": []}
    (run_dir / "representatives.json").write_text(json.dumps(record))
    np.savez(run_dir / "representatives.npz", embeddings=np.eye(2, dtype=np.float32), labels=np.array([0, 1]))
    threshold, source, frr, per_class = load_run(run_dir).decision()
    assert (threshold, source, frr) == (0.4, "calibration", 0.05)
    np.testing.assert_allclose(per_class, [0.3, 0.4])  # class b has none recorded: the global one


def test_a_record_from_before_rules_and_calibration_reads_with_its_defaults(tmp_path):
    run_dir = _write_run(tmp_path / "r")
    (run_dir / "representatives.json").write_text(json.dumps({"suggested_threshold": 0.4, "items": [{"row": 0}, {"row": 2}]}))
    np.savez(run_dir / "representatives.npz", embeddings=np.eye(2, dtype=np.float32), labels=np.array([0, 1]))
    np.save(run_dir / "embeddings.npy", np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0]], np.float32))
    pd.DataFrame({"file": ["a/1", "a/2", "b/1"], "class": ["a", "a", "b"], "x": 0.0, "y": 0.0}).to_csv(run_dir / "map.csv", index=False)
    run = load_run(run_dir)
    assert run.rule == "medoid" and run.class_thresholds() is None and run.suggested_threshold() == 0.4
    assert run.threshold_record() == {"threshold": 0.4, "source": "training", "criterion": "equal error rate on the training images",
                                      "target_frr": None, "training_threshold": 0.4, "rule_thresholds": {}}
    assert tuple(run.decision()) == (0.4, "training", None, None)
    assert tuple(run.decision(0.25)) == (0.25, "given", None, None)
    embeddings, labels = run.representative_embeddings()
    assert embeddings.shape == (2, 2) and labels.tolist() == [0, 1]
    scorer = run.scorer()
    assert scorer is run.scorer()  # fitted once
    np.testing.assert_allclose(scorer.class_distances(np.array([[0.0, 0.0]])), [[np.sqrt(1e-7), np.sqrt(2.0)]], rtol=1e-6)
    run.forget_scorers()
    assert run.scorer() is not scorer


def test_the_api_keeps_its_names():
    """The Python API the README documents (siamese.load_run, Run.embed, ...) stays importable."""
    for name in ("load_run", "list_runs", "load_folder", "evaluate", "probe", "represent", "train", "request_cancel", "TrainConfig", "Run"):
        assert hasattr(siamese, name), name
    for method in ("embed", "embed_files", "embedding_network", "siamese_model", "representatives", "threshold_record", "scorer", "history"):
        assert callable(getattr(Run, method)), method


def _copy_run(tiny_run, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(tiny_run, target)
    return target


@pytest.mark.parametrize(
    "content, words",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "does not hold a JSON object"),
        (json.dumps({"format_version": 99, "config": {}}), "field format_version is 99, which this version of siamese cannot read"),
        (json.dumps({"format_version": 1}), "field config is null, not an object of settings"),
        (json.dumps({"format_version": "1", "config": {}}), "field format_version is \"1\""),
    ],
    ids=["malformed", "not-an-object", "future-version", "no-config", "version-not-a-number"],
)
def test_bad_run_json_is_reported(tiny_run, tmp_path, content, words):
    run_dir = _copy_run(tiny_run, tmp_path)
    (run_dir / "run.json").write_text(content)
    with pytest.raises(SiameseError, match=words):
        load_run(run_dir)
    result = run_cli("evaluate", str(run_dir), str(tmp_path), check=False)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("missing", ["model.keras", "representatives.npz", "representatives.json"])
def test_missing_run_files_are_reported(tiny_run, tiny_data, tmp_path, missing):
    run_dir = _copy_run(tiny_run, tmp_path)
    (run_dir / missing).unlink()
    result = run_cli("evaluate", str(run_dir), str(tiny_data / "test"), check=False)
    assert result.returncode == 2
    assert ("model.keras" in result.stderr) if missing == "model.keras" else ("represent" in result.stderr)
