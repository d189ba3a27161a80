"""A corpus of damaged and hostile runs and bad inputs: each gets one sentence and exit 2, never a traceback.

Every run is a copy of the committed demo run with one file changed, so the table needs
no training. Each case runs through the command line (in-process for the table, and as a
real subprocess for a sample) and, for the run-file cases, through the Evaluate and Probe
pages (AppTest): a plain error, no exception element.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from dashboard_fixtures import DASHBOARD, crashed, png_bytes, texts
from streamlit.testing.v1 import AppTest

from helpers import DEMO_RUN
from siamese.cli import main

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "sample_data" / "thermal_faces"
TEST_IMAGE = DATA / "test" / "person_01" / "person_01_025.png"


def _edit_run(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        info = json.loads((run / "run.json").read_text())
        change(info)
        (run / "run.json").write_text(json.dumps(info))
    return damage


def _edit_reps(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        record = json.loads((run / "representatives.json").read_text())
        change(record)
        (run / "representatives.json").write_text(json.dumps(record))
    return damage


def _set(path: str, value) -> Callable[[dict], None]:
    *parents, last = path.split(".")

    def change(data: dict) -> None:
        for key in parents:
            data = data[key]
        data[last] = value
    return change


def _npz(**arrays) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        with np.load(run / "representatives.npz") as npz:
            saved = {"embeddings": npz["embeddings"], "labels": npz["labels"]}
        saved.update(arrays)
        np.savez(run / "representatives.npz", **saved)
    return damage


def _garbage_npz(run: Path) -> None:
    (run / "representatives.npz").write_bytes(b"\x89garbage, not a zip archive" * 50)


def _object_npz(run: Path) -> None:
    with np.load(run / "representatives.npz") as npz:
        labels = npz["labels"]
    np.savez(run / "representatives.npz", embeddings=np.array([{"a": 1}] * 16, dtype=object), labels=labels)


def _run_json_folder(run: Path) -> None:
    (run / "run.json").unlink()
    (run / "run.json").mkdir()


def _deep_run_json(run: Path) -> None:
    (run / "run.json").write_text("[" * 100_000 + "]" * 100_000)


def _running(pid) -> Callable[[dict], None]:
    def change(info: dict) -> None:
        info.update(status="running", pid=pid, host=None)
    return change


def _cut_classes(info: dict) -> None:
    info["config"]["class_names"] = info["config"]["class_names"][:2]


def _labels_99(run: Path) -> None:
    with np.load(run / "representatives.npz") as npz:
        labels = npz["labels"].copy()
    labels[3] = 99
    _npz(labels=labels)(run)


def _embeddings(change: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        np.save(run / "embeddings.npy", change(np.load(run / "embeddings.npy")).astype(np.float32))
    return damage


def _sparse_embeddings(run: Path) -> None:
    """A 6 GB embeddings.npy that takes no disk: a valid header, then a hole."""
    header = np.lib.format.header_data_from_array_1_0(np.zeros((3_000_000, 512), np.float32))
    with open(run / "embeddings.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.truncate(6 * 1024**3)


def _fifo_embeddings(run: Path) -> None:
    (run / "embeddings.npy").unlink()
    os.mkfifo(run / "embeddings.npy")


def _drop(path: str) -> Callable[[dict], None]:
    *parents, last = path.split(".")

    def change(data: dict) -> None:
        for key in parents:
            data = data[key]
        del data[last]
    return change


# (id, damage, the file named, a fragment of the sentence): issue 12's items 1, 4 and 7.
DAMAGED_RUNS = [
    ("shape-letters", _edit_run(_set("config.input_shape", ["a", "b", "c"])), "run.json", "field config.input_shape is [\"a\", \"b\", \"c\"], not three whole numbers"),
    ("shape-two-values", _edit_run(_set("config.input_shape", [60, 80])), "run.json", "field config.input_shape is [60, 80], not three whole numbers"),
    ("shape-fraction", _edit_run(_set("config.input_shape", [60.5, 80, 3])), "run.json", "field config.input_shape is [60.5, 80, 3]"),
    ("shape-not-the-models", _edit_run(_set("config.input_shape", [30, 40, 3])), "run.json", "field config.input_shape is [30, 40, 3], but model.keras takes [60, 80, 3]"),
    ("shape-huge", _edit_run(_set("config.input_shape", [100000, 100000, 3])), "run.json", "more than the network's input limit of 1,048,576 (512x512x4)"),
    ("shape-too-small", _edit_run(_set("config.input_shape", [1, 10000, 1])), "run.json", "smaller than the network's minimum of 8x8"),
    ("npz-garbage", _garbage_npz, "representatives.npz", "is not a NumPy .npz archive"),
    ("npz-object-array", _object_npz, "representatives.npz", "cannot be read as plain arrays"),
    ("npz-seven-dims", _npz(embeddings=np.zeros((16, 1, 1, 1, 1, 1, 512), np.float32)), "representatives.npz", "field embeddings is an array of shape [16, 1, 1, 1, 1, 1, 512]"),
    ("npz-wrong-width", _npz(embeddings=np.zeros((16, 7), np.float32)), "representatives.npz", "field embeddings is 7 values per row, not 512"),
    ("npz-nan", _npz(embeddings=np.full((16, 512), np.nan, np.float32)), "representatives.npz", "NaN or infinite"),
    ("npz-labels-99", _labels_99, "representatives.npz", "field labels is holding class 99, not class indices from 0 to 15"),
    ("npz-labels-float", _npz(labels=np.zeros(16, np.float32)), "representatives.npz", "field labels is an array of shape [16] and type float32"),
    ("npz-missing-array", lambda run: np.savez(run / "representatives.npz", embeddings=np.zeros((16, 512), np.float32)), "representatives.npz", "lacks the array labels"),
    ("threshold-null", _edit_reps(_set("suggested_threshold", None)), "representatives.json", "field suggested_threshold is null, not a distance of 0 or more"),
    ("threshold-text", _edit_reps(_set("suggested_threshold", "abc")), "representatives.json", "field suggested_threshold is \"abc\""),
    ("threshold-negative", _edit_reps(_set("suggested_threshold", -1.0)), "representatives.json", "field suggested_threshold is -1.0"),
    ("method-unknown", _edit_reps(_set("method", "magic")), "representatives.json", "field method is \"magic\", not one of tsne-medoid, medoid"),
    ("perplexity-text", _edit_reps(_set("perplexity", "thirty")), "representatives.json", "field perplexity is \"thirty\""),
    ("rule-unknown", _edit_reps(_set("rule", "telepathy")), "representatives.json", "field rule is \"telepathy\", not one of medoid"),
    ("item-class-unknown", _edit_reps(lambda r: r["items"][0].update({"class": "nobody"})), "representatives.json", "field items[0].class is \"nobody\""),
    ("class-threshold-text", _edit_reps(_set("calibration.rule_thresholds.knn", "high")), "representatives.json", "field calibration.rule_thresholds.knn"),
    ("window-text", _edit_run(_set("config.window", "abc")), "run.json", "field config.window is \"abc\", not two temperatures"),
    ("window-reversed", _edit_run(_set("config.window", [38, 28])), "run.json", "field config.window is [38, 28]"),
    ("unit-unknown", _edit_run(_set("config.unit", "furlongs")), "run.json", "field config.unit is \"furlongs\", not one of counts"),
    ("palette-unknown", _edit_run(_set("config.palette", "plaid")), "run.json", "field config.palette is \"plaid\""),
    ("window-on-counts", _edit_run(_set("config.window", [28, 38])), "run.json", "field config holds pixel settings that cannot be combined"),
    ("embeddings-nan", _embeddings(lambda e: np.where(np.arange(len(e))[:, None] == 3, np.nan, e)), "embeddings.npy", "NaN or infinite"),
    ("embeddings-rows", _embeddings(lambda e: e[:-5]), "embeddings.npy", "not one embedding per training image"),
    ("embeddings-sparse-huge", _sparse_embeddings, "embeddings.npy", "more than the limit of 536,870,912"),
    ("embeddings-fifo", _fifo_embeddings, "embeddings.npy", "is not a regular file"),
    ("class-named-unknown", _edit_run(lambda info: info["config"]["class_names"].__setitem__(0, "unknown")), "run.json",
     "field config.class_names is holding a class named 'unknown'"),
    ("run-json-folder", _run_json_folder, "run.json", "is a folder, not a JSON file"),
    ("run-json-deep", _deep_run_json, "run.json", "nests 100000 levels deep, more than the limit of 32"),
    ("run-json-not-json", lambda run: (run / "run.json").write_text("{not json"), "run.json", "is not valid JSON"),
    ("run-json-list", lambda run: (run / "run.json").write_text("[1, 2]"), "run.json", "does not hold a JSON object"),
    ("pid-text", _edit_run(_running("abc")), "run.json", "field pid is \"abc\", not a process id"),
    ("pid-huge", _edit_run(_running(2**80)), "run.json", f"field pid is {2**80}, not a process id"),
    ("status-unknown", _edit_run(_set("status", "sleeping")), "run.json", "field status is \"sleeping\""),
    ("train-dir-missing", _edit_run(_drop("config.train_dir")), "run.json", "field config.train_dir is null, not the training folder's path"),
    ("train-dir-integer", _edit_run(_set("config.train_dir", 7)), "run.json", "field config.train_dir is 7"),
    ("class-names-empty", _edit_run(_set("config.class_names", [])), "run.json", "field config.class_names is [], not a list of one or more class names"),
    ("class-names-integers", _edit_run(_set("config.class_names", list(range(16)))), "run.json", "field config.class_names is [0, 1, 2"),
    ("class-names-repeated", _edit_run(_set("config.class_names", ["a"] * 16)), "run.json", "not a list of distinct class names"),
    ("class-names-cut", _edit_run(_cut_classes), "representatives.json", "field items[2].class is \"person_03\", not one of the run's classes"),
    ("format-version-true", _edit_run(_set("format_version", True)), "run.json", "field format_version is true, which this version of siamese cannot read"),
    ("format-version-negative", _edit_run(_set("format_version", -7)), "run.json", "field format_version is -7"),
    ("format-version-newer", _edit_run(_set("format_version", 99)), "run.json", "upgrade siamese"),
    ("config-not-object", _edit_run(_set("config", "fast")), "run.json", "field config is \"fast\", not an object of settings"),
    ("map-csv-garbage", lambda run: (run / "map.csv").write_bytes(b"\x00\xff" * 40), "map.csv", "cannot be read as a table"),
    ("embeddings-npy-garbage", lambda run: (run / "embeddings.npy").write_bytes(b"not numpy"), "embeddings.npy", "cannot be read as an array"),
]
# Cases that need the network loaded to be found (the model's own input shape).
NEEDS_MODEL = {"shape-not-the-models"}


@pytest.fixture()
def demo_copy(tmp_path: Path) -> Path:
    """A copy of the demo run whose train_dir still reaches the committed training folder."""
    run = tmp_path / "runs" / "demo_run"
    shutil.copytree(DEMO_RUN, run)
    info = json.loads((run / "run.json").read_text())
    info["config"]["train_dir"] = os.path.relpath(DATA / "train", run)
    (run / "run.json").write_text(json.dumps(info))
    record = json.loads((run / "representatives.json").read_text())
    record["data"] = record["calibration"]["data"] = info["config"]["train_dir"]
    (run / "representatives.json").write_text(json.dumps(record))
    return run


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("case, damage, file, fragment", DAMAGED_RUNS, ids=[c[0] for c in DAMAGED_RUNS])
@pytest.mark.parametrize("command", ["probe", "evaluate"])
def test_damaged_run_gives_one_sentence_naming_file_and_field(demo_copy: Path, capsys, command, case, damage, file, fragment):
    damage(demo_copy)
    argv = [command, str(demo_copy), str(TEST_IMAGE if command == "probe" else DATA / "test")]
    assert main(argv) == 2
    err = _one_line_error(capsys)
    assert file in err and fragment in err, err


BAD_INPUTS = [
    ("probe-negative-threshold", ["probe", "{run}", str(TEST_IMAGE), "--threshold", "-5"], "threshold -5.0 is not valid; use a distance of 0 or more"),
    ("evaluate-negative-threshold", ["evaluate", "{run}", str(DATA / "test"), "--threshold", "-5"], "threshold -5.0 is not valid"),
    ("train-seed-negative", ["train", str(DATA / "train"), "--out", "{tmp}/new", "--seed", "-1"], "seed -1 is not valid; use a whole number from 0 to 4,294,967,295"),
    ("train-seed-huge", ["train", str(DATA / "train"), "--out", "{tmp}/new", "--seed", "99999999999999999999999"], "seed 99999999999999999999999 is not valid"),
    ("split-seed-negative", ["split", str(DATA / "train"), "{tmp}/split", "--seed", "-1"], "seed -1 is not valid"),
    ("represent-seed-negative", ["represent", "{run}", "--seed", "-1"], "seed -1 is not valid"),
    ("sample-data-seed-negative", ["sample-data", "{tmp}/sample", "--seed", "-1"], "seed -1 is not valid"),
    ("train-input-shape-huge", ["train", str(DATA / "train"), "--out", "{tmp}/new", "--input-shape", "4000,4000,1"],
     "input shape '4000,4000,1' gives images of 4000x4000x1 = 16,000,000 values, more than the network's input limit"),
    ("train-input-shape-tiny", ["train", str(DATA / "train"), "--out", "{tmp}/new", "--input-shape", "4,4,1"], "height and width at least 8"),
    ("baseline-extra-classes", ["baseline", str(DATA / "train"), str(DATA / "unknown")], "are not in the training folder"),
    ("probe-missing-image", ["probe", "{run}", "{tmp}/nothing.png"], "does not exist"),
]


@pytest.mark.parametrize("case, argv, fragment", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_gives_one_sentence(demo_copy: Path, tmp_path: Path, capsys, case, argv, fragment):
    argv = [a.format(run=demo_copy, tmp=tmp_path) for a in argv]
    assert main(argv) == 2
    err = _one_line_error(capsys)
    assert fragment in err, err
    assert "--unknown" not in err or case != "baseline-extra-classes", err
    assert not (tmp_path / "new").exists() and not (tmp_path / "split").exists()


def test_inferred_shape_obeys_the_limits(tmp_path: Path, capsys):
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / "thin" / name).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (1, 10000)).save(tmp_path / "thin" / name / f"{i}.png")
    assert main(["train", str(tmp_path / "thin"), "--out", str(tmp_path / "run"), "--epochs", "1"]) == 2
    err = _one_line_error(capsys)
    assert "gives images of 10000x1 pixels, smaller than the network's minimum of 8x8" in err, err
    assert "--input-shape" in err  # and the advice works: the same data trains at a given shape (test_cli covers training)


def test_a_class_named_like_the_rejection_verdict_is_refused_before_training(tmp_path: Path, capsys):
    """A class 'unknown' would be indistinguishable from a rejection (issue 23 item 9)."""
    from PIL import Image

    for name in ("alice", "unknown"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (16, 12), 40 * i).save(tmp_path / "data" / name / f"{i}.png")
    assert main(["train", str(tmp_path / "data"), "--out", str(tmp_path / "run"), "--epochs", "1"]) == 2
    err = _one_line_error(capsys)
    assert "class folder named 'unknown'" in err and "renamed" in err, err
    assert not (tmp_path / "run").exists() and sorted(p.name for p in (tmp_path / "data").iterdir()) == ["alice", "unknown"]


def test_all_files_unreadable_gives_no_advice_that_fails(tmp_path: Path, capsys):
    for name in ("a", "b"):
        (tmp_path / "bad" / name).mkdir(parents=True)
        (tmp_path / "bad" / name / "x.png").write_bytes(b"not a png")
    assert main(["train", str(tmp_path / "bad"), "--out", str(tmp_path / "run")]) == 2
    err = _one_line_error(capsys)
    assert "none of the 2 image files could be read" in err and "--input-shape" not in err, err


@pytest.mark.parametrize("case", ["npz-garbage", "run-json-deep", "pid-huge", "shape-huge", "window-text"])
def test_damaged_run_in_a_real_process_exits_2_without_traceback(demo_copy: Path, case: str):
    damage = next(c[1] for c in DAMAGED_RUNS if c[0] == case)
    damage(demo_copy)
    done = subprocess.run([sys.executable, "-m", "siamese", "probe", str(demo_copy), str(TEST_IMAGE)],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 2 and "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


# --- the same run files on the dashboard's Evaluate and Probe pages --------------------------

@pytest.fixture()
def dashboard_on_copy(demo_copy: Path, monkeypatch) -> Path:
    monkeypatch.setenv("SIAMESE_RUN_ROOTS", str(demo_copy))  # a root that is a run is listed even when damaged
    monkeypatch.setenv("SIAMESE_DATA_ROOTS", str(DATA))
    monkeypatch.setenv("SIAMESE_RUNS_DIR", str(demo_copy.parent.parent / "new_runs"))
    return demo_copy


DASHBOARD_CASES = [c for c in DAMAGED_RUNS if c[0] in {
    "shape-letters", "shape-huge", "shape-not-the-models", "npz-garbage", "npz-object-array", "npz-seven-dims", "npz-labels-99",
    "threshold-null", "threshold-text", "run-json-folder", "run-json-deep", "pid-text", "pid-huge", "train-dir-missing",
    "window-text", "train-dir-integer", "class-names-empty", "class-names-cut", "class-names-integers", "format-version-true", "format-version-negative",
}]


@pytest.mark.slow
@pytest.mark.parametrize("case, damage, file, fragment", DASHBOARD_CASES, ids=[c[0] for c in DASHBOARD_CASES])
@pytest.mark.parametrize("page", ["evaluate.py", "probe.py"])
def test_damaged_run_on_the_dashboard_is_a_plain_error(dashboard_on_copy: Path, page, case, damage, file, fragment):
    damage(dashboard_on_copy)
    # A longer timeout than open_page's: the machine may be busy, and these pages load TensorFlow.
    at = AppTest.from_file(str(DASHBOARD / "Home.py"), default_timeout=180).run()
    at.sidebar.selectbox(key="_run_picker").set_value(str(dashboard_on_copy.resolve())).run()
    at.switch_page(f"views/{page}").run()
    if page == "probe.py" and not at.error:
        at.file_uploader[0].upload("face.png", png_bytes(), "image/png").run()
    assert not crashed(at), crashed(at)
    shown = at.error[0].value.replace("\\", "") if at.error else ""  # as the browser shows it: Markdown escapes removed
    assert fragment in shown and file in shown, texts(at)
    assert str(REPO) not in shown  # paths are shown relative to the repository


def test_committed_demo_run_validates():
    from siamese import load_run

    run = load_run(DEMO_RUN)
    run.representatives()
    embeddings, labels = run.representative_embeddings()
    assert embeddings.shape == (16, 512) and sorted(labels.tolist()) == list(range(16))



# --- paths in run files that lead outside the run (issue 12, item 6) -------------------------

def _point_outside(run: Path, outside: Path) -> None:
    record = json.loads((run / "representatives.json").read_text())
    record["data"] = str(outside)
    for item in record["items"]:
        item["copy"] = str(outside / "face.png")
    (run / "representatives.json").write_text(json.dumps(record))


def test_cli_reports_run_file_paths_outside_the_runs_dataset(demo_copy: Path, tmp_path: Path, capsys):
    _point_outside(demo_copy, tmp_path / "outside")
    assert main(["probe", str(demo_copy), str(TEST_IMAGE)]) == 0
    err = capsys.readouterr().err
    assert f"representatives.json field data points to {tmp_path / 'outside'}, outside the run's training folder" in err, err
    assert "field items[0].copy points to" in err and "outside the run folder" in err


@pytest.mark.slow
def test_dashboard_shows_no_image_from_outside_its_roots(dashboard_on_copy: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    shutil.copytree(DATA / "train", outside)  # real images, but in no root of the dashboard
    _point_outside(dashboard_on_copy, outside)
    at = AppTest.from_file(str(DASHBOARD / "Home.py"), default_timeout=180).run()
    at.sidebar.selectbox(key="_run_picker").set_value(str(dashboard_on_copy.resolve())).run()
    at.switch_page("views/embeddings.py").run()
    assert not crashed(at), crashed(at)
    refused = [c.value for c in at.caption if "outside the dashboard's data and run folders" in str(c.value)]
    assert refused, texts(at)
    assert not at.get("image"), "an image from outside the roots was shown"


@pytest.mark.slow
def test_choose_representatives_does_not_follow_train_dir_outside_the_roots(dashboard_on_copy: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    shutil.copytree(DATA / "train", outside)
    for name in ("representatives.json", "representatives.npz"):
        (dashboard_on_copy / name).unlink()
    _edit_run(_set("config.train_dir", str(outside)))(dashboard_on_copy)
    at = AppTest.from_file(str(DASHBOARD / "Home.py"), default_timeout=180).run()
    at.sidebar.selectbox(key="_run_picker").set_value(str(dashboard_on_copy.resolve())).run()
    at.switch_page("views/evaluate.py").run()
    assert not crashed(at), crashed(at)
    assert at.error and "training folder lies outside the dashboard's data folders" in at.error[0].value, texts(at)
    assert not [b for b in at.button if b.label == "Choose representatives"]


def test_the_schema_knows_every_method_and_rule():
    from siamese.maps.representatives import METHODS
    from siamese.runs import schema
    from siamese.scoring.rules import RULES

    assert schema.METHODS is METHODS and schema.RULES is RULES  # one source for each
