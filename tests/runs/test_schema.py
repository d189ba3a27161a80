"""Fuzzing the run files: any JSON value in any field of run.json or representatives.json, any
array in representatives.npz, any bytes as a JSON file: a usable run or one clear refusal, never a crash."""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from helpers import DEMO_RUN
from siamese.errors import SiameseError
from siamese.runs.recorded_scoring import Recorded
from siamese.runs.schema import load_representative_arrays, read_json_object
from siamese.runs.store import Run, load_run

RUN_INFO = json.loads((DEMO_RUN / "run.json").read_text())
RECORD = json.loads((DEMO_RUN / "representatives.json").read_text())
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
RUN_FIELDS = ["format_version", "status", "pid", "host", "epochs_done", "error", "metrics", "calibration_files", "architecture",
              "config", "config.train_dir", "config.input_shape", "config.class_names", "config.epochs", "config.seed",
              "config.margin", "config.augment", "config.val_dir", "config.input_shape.0", "config.class_names.3"]
RECORD_FIELDS = ["suggested_threshold", "training_threshold", "rule", "k", "per_class_threshold", "target_frr", "items",
                 "items.0", "items.0.class", "items.0.row", "calibration", "calibration.rule_thresholds",
                 "calibration.class_thresholds", "calibration.class_thresholds.person_01", "data", "method", "perplexity",
                 "seed", "tsne_medoids", "tsne_medoids.0", "created"]


def _replace(data, dotted: str, value):
    data = copy.deepcopy(data)
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def _dump(value) -> str:
    return json.dumps(value, allow_nan=True)


@FUZZ
@given(field=st.sampled_from(RUN_FIELDS), value=json_values)
def test_any_value_in_any_run_json_field_loads_or_is_refused(field, value):
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        (run_dir / "run.json").write_text(_dump(_replace(RUN_INFO, field, value)))
        try:
            run = load_run(run_dir)
        except SiameseError as exc:
            assert "run.json" in str(exc) and "\n" not in str(exc)
            return
        # What loaded is usable: every property a page or command reads.
        assert run.status in ("running", "complete", "failed", "cancelled")
        assert len(run.input_shape) == 3 and all(isinstance(n, str) for n in run.class_names)
        run.summary()
        _ = run.error, run.train_dir, run.calibration_files


@FUZZ
@given(field=st.sampled_from(RECORD_FIELDS), value=json_values)
def test_any_value_in_any_representatives_field_reads_or_is_refused(field, value):
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        (run_dir / "representatives.json").write_text(_dump(_replace(RECORD, field, value)))
        (run_dir / "representatives.npz").write_bytes((DEMO_RUN / "representatives.npz").read_bytes())
        recorded = Recorded(run_dir, RUN_INFO["config"]["class_names"], 512)
        try:
            record = recorded.threshold_record()
            choice = recorded.decision()
            _ = recorded.rule, recorded.class_thresholds(), recorded.recorded_class_thresholds()
        except SiameseError as exc:
            assert "representatives.json" in str(exc) and "\n" not in str(exc)
            return
        assert math.isfinite(record["threshold"]) and record["threshold"] >= 0 and math.isfinite(choice.threshold)


@FUZZ
@given(
    embeddings=hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=4, max_side=6)),
    labels=hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=2, max_side=6)),
)
def test_any_arrays_in_representatives_npz_load_or_are_refused(embeddings, labels):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "representatives.npz"
        np.savez(path, embeddings=embeddings, labels=labels)
        try:
            loaded, classes = load_representative_arrays(path, n_classes=4, n_items=len(labels) if labels.ndim else 0, dimension=None)
        except SiameseError as exc:
            assert "representatives.npz" in str(exc) and "\n" not in str(exc)
            return
        assert loaded.ndim == 2 and loaded.dtype == np.float32 and np.isfinite(loaded).all()
        assert classes.shape == (len(loaded),) and ((classes >= 0) & (classes < 4)).all()


@FUZZ
@given(st.binary(max_size=2000) | st.text(alphabet="[]{}\"\\:,01 a", max_size=3000).map(str.encode))
def test_any_bytes_as_a_json_file_read_or_are_refused(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.json"
        path.write_bytes(data)
        try:
            assert isinstance(read_json_object(path, "train it again"), dict)
        except SiameseError as exc:
            assert "\n" not in str(exc)


def test_the_demo_run_passes_the_schema():
    run = Run(DEMO_RUN, RUN_INFO)
    assert run.representatives()["items"] and run.representative_embeddings()[0].shape == (16, 512)


def test_a_newline_in_a_calibration_key_stays_quoted_on_one_line():
    record = copy.deepcopy(RECORD)
    record.setdefault("calibration", {})["rule_thresholds"] = {"\n": -1}
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        (run_dir / "representatives.json").write_text(json.dumps(record))
        (run_dir / "representatives.npz").write_bytes((DEMO_RUN / "representatives.npz").read_bytes())
        recorded = Recorded(run_dir, RUN_INFO["config"]["class_names"], 512)
        try:
            recorded.threshold_record()
        except SiameseError as exc:
            assert "\n" not in str(exc) and "'\\n'" in str(exc)
        else:
            raise AssertionError("a negative threshold was accepted")


# --- the nesting check is linear (issue 23 item 3) ---------------------------------------------

HOSTILE_TEXTS = {
    "unterminated-escapes": '"\\' * 1_000_000,   # the old check rescanned to the end from every quote
    "escaped-quotes": '"' + '\\"' * 1_000_000,
    "quotes": '"a' * 1_000_000,
    "brackets": "[" * 2_000_000,
}


def test_the_nesting_check_counts_brackets_outside_strings_only():
    from siamese.runs.schema import json_depth

    assert json_depth('{"a": [1, {"b": "]]}}\\"[[["}]}') == 3
    assert json_depth('"\\\\"[[') == 2 and json_depth('{"a\\\\": "[["}') == 1 and json_depth("") == 0
    assert json_depth("[]" * 5) == 1 and json_depth("[" * 1000) == 1000


def test_an_invalid_two_megabyte_json_file_is_refused_in_one_pass(tmp_path: Path):
    """Each text is 2 MB; the quadratic check took 10 s on 40 KB of the first. The deadline
    (a bound on a state, generous for a busy machine) is thousands of times what one pass takes."""
    import threading

    from helpers import wait_until

    results: dict[str, str] = {}

    def read_all() -> None:
        for name, text in HOSTILE_TEXTS.items():
            (tmp_path / f"{name}.json").write_text(text)
            try:
                read_json_object(tmp_path / f"{name}.json", "train again")
            except SiameseError as exc:
                results[name] = str(exc)

    worker = threading.Thread(target=read_all, daemon=True)
    worker.start()
    wait_until(lambda: len(results) == len(HOSTILE_TEXTS), 60, lambda: f"only {sorted(results)} were refused within 60 s")
    assert "nests 2000000 levels deep" in results["brackets"]
    assert all("is not valid JSON" in results[n] for n in HOSTILE_TEXTS if n != "brackets"), results
