"""Outputs: no --csv inside a run folder, CSV cells never run as spreadsheet formulas, and
train's decoded copy of the faces lives in a private folder removed even after a SIGKILL."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from helpers import DEMO_RUN, ROOT
from siamese.cli import main
from siamese.runs.output_files import spreadsheet_safe
from siamese.training import scratch

DATA = ROOT / "sample_data" / "thermal_faces"


@pytest.fixture()
def run_copy(tmp_path: Path) -> Path:
    shutil.copytree(DEMO_RUN, tmp_path / "runs" / "demo_run")
    return tmp_path / "runs" / "demo_run"


@pytest.mark.parametrize("name", ["run.json", "history.csv", "new/table.csv"])
def test_csv_inside_the_run_folder_is_refused_even_with_force(run_copy: Path, capsys, name):
    before = {p.name: p.read_bytes() for p in run_copy.iterdir() if p.is_file()}
    assert main(["evaluate", str(run_copy), str(DATA / "test"), "--csv", str(run_copy / name), "--force"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"lies inside the run folder {run_copy}" in err and "\n" not in err, err
    assert {p.name: p.read_bytes() for p in run_copy.iterdir() if p.is_file()} == before
    assert not (run_copy / "new").exists()


def test_text_cells_that_look_like_formulas_are_quoted_and_numbers_are_not():
    table = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "plain", "a=b"],
                          "distance": [-0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]})
    safe = spreadsheet_safe(table)
    assert safe["name"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "plain", "a=b"]
    assert safe["distance"].tolist() == table["distance"].tolist() and safe["distance"].dtype == float
    assert table["name"][0].startswith("=")  # the caller's table is left as it was


def test_evaluate_csv_quotes_a_class_named_like_a_formula(tmp_path: Path, capsys):
    unknown = tmp_path / "unknown" / "=HYPERLINK(1)"
    unknown.mkdir(parents=True)
    shutil.copy(DATA / "test" / "person_01" / "person_01_025.png", unknown / "face.png")
    out = tmp_path / "out.csv"
    assert main(["evaluate", str(DEMO_RUN), str(DATA / "test"), "--unknown", str(tmp_path / "unknown"), "--csv", str(out), "--json"]) == 0
    capsys.readouterr()
    rows = list(csv.DictReader(out.open(newline="")))
    assert "'=HYPERLINK(1)" in {row["true_class"] for row in rows}
    assert not any(value.startswith(scratch_starts) for row in rows for value in row.values() for scratch_starts in ("=", "+", "@"))
    assert all(float(row["distance"]) >= 0 for row in rows)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _leftover(parent: Path, name: str, owner: dict | None) -> Path:
    folder = parent / f"{scratch.PREFIX}{name}"
    folder.mkdir(mode=0o700)
    (folder / "images.npy").write_bytes(b"decoded faces")
    if owner is not None:
        (folder / scratch.OWNER_FILE).write_text(json.dumps(owner))
    return folder


def test_a_killed_trainings_scratch_folder_goes_with_the_next_start(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(scratch.tempfile, "tempdir", str(tmp_path))
    dead = _leftover(tmp_path, "dead", {"pid": _dead_pid(), "host": scratch.socket.gethostname()})
    live = _leftover(tmp_path, "live", {"pid": os.getpid(), "host": scratch.socket.gethostname()})
    old_unowned, new_unowned = _leftover(tmp_path, "old", None), _leftover(tmp_path, "new", None)
    then = time.time() - 10 * scratch.UNOWNED_STALE_SECONDS
    os.utime(old_unowned, (then, then))
    with scratch.scratch_folder() as folder:
        assert folder.parent == tmp_path and stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert json.loads((folder / scratch.OWNER_FILE).read_text())["pid"] == os.getpid()
        assert not dead.exists() and not old_unowned.exists()
        assert live.exists() and new_unowned.exists()
    assert not folder.exists()


def test_train_decodes_into_a_private_scratch_folder_after_removing_stale_ones(tmp_path: Path, monkeypatch):
    import siamese.training.single_process as single_process
    from siamese.errors import SiameseError
    from siamese.training.config import TrainConfig

    monkeypatch.setattr(scratch.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    dead = _leftover(tmp_path / "tmp", "dead", {"pid": _dead_pid(), "host": scratch.socket.gethostname()})
    seen = []

    def load(config, workdir):
        seen.append((workdir, stat.S_IMODE(workdir.stat().st_mode), dead.exists()))
        raise SiameseError("stopped here")

    monkeypatch.setattr(single_process, "load_training_data", load)
    with pytest.raises(SiameseError, match="stopped here"):
        single_process.train(TrainConfig(train_dir=str(DATA / "train"), epochs=1), tmp_path / "run")
    [(workdir, mode, dead_left)] = seen
    assert workdir.parent == tmp_path / "tmp" and workdir.name.startswith(scratch.PREFIX) and mode == 0o700
    assert not dead_left and not workdir.exists()
