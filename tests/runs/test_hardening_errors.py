"""Smaller tracebacks: a representative's row of 10^30, a full disk during train or evaluate --csv,
and an unreadable class folder each give one sentence and exit status 2."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import siamese.training.single_process as single_process
from helpers import DEMO_RUN, ROOT
from siamese.cli import main

DATA = ROOT / "sample_data" / "thermal_faces"
IMAGE = DATA / "test" / "person_01" / "person_01_025.png"


def _one_sentence(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("row", [10**30, 10**19, 2**63 - 1])
def test_a_representative_row_too_large_for_any_map_is_one_sentence(tmp_path: Path, capsys, row):
    run = tmp_path / "demo_run"
    shutil.copytree(DEMO_RUN, run)
    record = json.loads((run / "representatives.json").read_text())
    record["items"][0]["row"] = row
    (run / "representatives.json").write_text(json.dumps(record))
    assert main(["probe", str(run), str(IMAGE)]) == 2
    assert "do not agree (rows, classes)" in _one_sentence(capsys)


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "/scratch/siamese-train-x/images.npy")


def test_a_full_disk_while_train_decodes_is_one_sentence(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setattr(single_process, "load_training_data", _disk_full)
    assert main(["train", str(DATA / "train"), "--out", str(tmp_path / "run"), "--epochs", "1"]) == 2
    err = _one_sentence(capsys)
    assert "the disk is full (or the user's quota is used up) while writing /scratch/siamese-train-x/images.npy" in err, err
    assert "free some space" in err


def test_a_full_disk_while_evaluate_writes_its_csv_is_one_sentence(tmp_path: Path, capsys, monkeypatch):
    def full(self, path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    out = tmp_path / "table.csv"
    assert main(["evaluate", str(DEMO_RUN), str(DATA / "test"), "--csv", str(out)]) == 2
    assert "the disk is full" in _one_sentence(capsys)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_an_unreadable_class_folder_is_one_sentence(tmp_path: Path, capsys, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(DATA / "train", data)
    locked = data / "person_02"
    iterdir = Path.iterdir

    def refusing(self):
        if self == locked:  # tests run as root, so a chmod 000 folder would still be readable
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return iterdir(self)

    monkeypatch.setattr(Path, "iterdir", refusing)
    assert main(["train", str(data), "--out", str(tmp_path / "run"), "--epochs", "1"]) == 2
    err = _one_sentence(capsys)
    assert f"class folder {locked} cannot be read (Permission denied); give this user permission to read it" in err, err


def test_an_unexpected_os_error_is_not_hidden(tmp_path: Path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(single_process, "load_training_data", broken)
    with pytest.raises(OSError, match="Input/output error"):
        main(["train", str(DATA / "train"), "--out", str(tmp_path / "run"), "--epochs", "1"])
