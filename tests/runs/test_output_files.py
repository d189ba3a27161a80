"""Output files (evaluate --csv): refused inside datasets, over links, folders, devices and existing files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from helpers import DEMO_RUN, ROOT, tree_digest
from siamese.cli import main
from siamese.errors import SiameseError
from siamese.runs.atomic_files import write_text
from siamese.runs.output_files import check_output_file

DATA = ROOT / "sample_data" / "thermal_faces"


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    """A copy of the demo run beside a small copy of the test set (so a refusal can be shown to leave it unchanged)."""
    shutil.copytree(DEMO_RUN, tmp_path / "runs" / "demo_run")
    for name in ("person_01", "person_02"):
        shutil.copytree(DATA / "test" / name, tmp_path / "test" / name)
    return tmp_path


def _image(workspace: Path) -> Path:
    return sorted((workspace / "test" / "person_01").iterdir())[0]


CASES = [
    ("a-dataset-image", lambda w: _image(w), "lies inside the dataset"),
    ("a-new-file-in-the-dataset", lambda w: w / "test" / "person_01" / "table.csv", "lies inside the dataset"),
    ("an-existing-file", lambda w: (w / "old.csv").write_text("kept") and w / "old.csv", "already exists; add --force to replace it"),
    ("a-folder", lambda w: (w / "folder").mkdir() or w / "folder", "is a folder; give a file name"),
    ("a-symlink", lambda w: os.symlink(w / "elsewhere.csv", w / "link.csv") or w / "link.csv", "is a symbolic link"),
    ("a-fifo", lambda w: os.mkfifo(w / "pipe.csv") or w / "pipe.csv", "is not a regular file"),
    ("a-device", lambda w: Path("/dev/full"), "is not a regular file"),
    ("a-symlink-into-the-dataset", lambda w: os.symlink(w / "test", w / "alias") or w / "alias" / "t.csv", "lies inside the dataset"),
]


@pytest.mark.parametrize("case, make, fragment", CASES, ids=[c[0] for c in CASES])
def test_evaluate_csv_refuses_unsafe_paths_before_any_work(workspace: Path, capsys, case, make, fragment):
    target = make(workspace)
    before = tree_digest(workspace / "test")
    device = Path("/dev/full").stat() if case == "a-device" else None
    assert main(["evaluate", str(workspace / "runs" / "demo_run"), str(workspace / "test"), "--csv", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --csv ") and fragment in err and "\n" not in err and "Traceback" not in err, err
    assert tree_digest(workspace / "test") == before
    if case == "an-existing-file":
        assert target.read_text() == "kept"
    if case == "a-symlink":
        assert target.is_symlink() and not (workspace / "elsewhere.csv").exists()
    if case == "a-device":
        assert Path("/dev/full").stat().st_mode == device.st_mode and Path("/dev/full").is_char_device()


def test_force_replaces_a_regular_file_and_a_new_file_is_written(workspace: Path, capsys):
    run, test = str(workspace / "runs" / "demo_run"), str(workspace / "test")
    (workspace / "old.csv").write_text("old")
    assert main(["evaluate", run, test, "--csv", str(workspace / "old.csv"), "--force", "--json"]) == 0
    assert (workspace / "old.csv").read_text().startswith("file,")
    assert main(["evaluate", run, test, "--csv", str(workspace / "out" / "new.csv"), "--json"]) == 0
    assert (workspace / "out" / "new.csv").read_text().startswith("file,")
    capsys.readouterr()


def test_atomic_writes_never_replace_what_is_not_a_regular_file(tmp_path: Path):
    os.symlink(tmp_path / "target", tmp_path / "link")
    os.mkfifo(tmp_path / "fifo")
    for name in ("link", "fifo"):
        with pytest.raises(SiameseError, match="is not a regular file"):
            write_text(tmp_path / name, "text")
    assert (tmp_path / "link").is_symlink() and not (tmp_path / "target").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # its temporary file is gone too


def test_a_file_in_a_path_whose_parent_is_a_file_is_refused(tmp_path: Path):
    (tmp_path / "plain").write_text("x")
    with pytest.raises(SiameseError, match="is not a folder"):
        check_output_file(tmp_path / "plain" / "t.csv", [], force=False)
