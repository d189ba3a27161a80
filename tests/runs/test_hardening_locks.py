"""Locks are never visible empty (a full disk leaves none behind), an empty lock goes stale, and a
lock or a "running" record from another machine names that host and says how to take over."""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from pathlib import Path

import pytest

import siamese.runs.locks as locks
from helpers import DEMO_RUN
from siamese.cli import main
from siamese.errors import SiameseError
from siamese.runs.locks import REPRESENT_LOCK, TRAIN_LOCK, claim_run_dir, exclusive
from siamese.runs.store import load_run


class _FullDisk:
    """A file object whose writes fail as on a full disk."""

    def __init__(self, fd: int, *args, **kwargs):
        os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def write(self, text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_claiming_leaves_no_empty_lock(tmp_path: Path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with monkeypatch.context() as patch:
        patch.setattr(locks.os, "fdopen", _FullDisk)
        with pytest.raises(OSError):
            with exclusive(run_dir, TRAIN_LOCK, "wait"):
                pass
    assert list(run_dir.iterdir()) == []  # neither the lock nor its temporary file
    with claim_run_dir(run_dir, [tmp_path / "data"]):  # space freed: the folder can be claimed at once
        assert json.loads((run_dir / TRAIN_LOCK).read_text())["pid"] == os.getpid()
        assert (run_dir / TRAIN_LOCK).stat().st_mode & 0o044 == 0o044  # other users can read whose it is


def test_an_old_empty_lock_is_stale_and_a_fresh_one_is_not(tmp_path: Path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    lock = run_dir / TRAIN_LOCK
    lock.write_bytes(b"")  # what a full disk left with an earlier version
    with pytest.raises(SiameseError, match="in use by another process"):  # being written this instant, perhaps
        with claim_run_dir(run_dir, [tmp_path / "data"]):
            pass
    old = time.time() - 10 * locks.EMPTY_LOCK_SECONDS
    os.utime(lock, (old, old))
    with claim_run_dir(run_dir, [tmp_path / "data"]):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_a_lock_from_another_host_names_it_and_says_how_to_take_over(tmp_path: Path, capsys):
    run = tmp_path / "demo_run"
    shutil.copytree(DEMO_RUN, run)
    lock = run / REPRESENT_LOCK
    lock.write_text(json.dumps({"pid": 4242, "host": "lab-pc-7"}))
    assert main(["represent", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert "in use by process 4242 on host lab-pc-7, which this machine cannot check" in err, err
    assert f"if that process has stopped, delete {lock} to take the folder over" in err and "\n" not in err
    with pytest.raises(SiameseError, match=r"on host lab-pc-7.*or choose another --out.*delete .*\.train\.lock to take the folder over"):
        (run / TRAIN_LOCK).write_text(json.dumps({"pid": 4242, "host": "lab-pc-7"}))
        with claim_run_dir(run, [tmp_path / "data"]):
            pass


def test_a_run_recorded_as_training_on_another_host_says_so(tmp_path: Path, capsys):
    run = tmp_path / "demo_run"
    shutil.copytree(DEMO_RUN, run)
    info = json.loads((run / "run.json").read_text())
    info.update(status="running", pid=4242, host="lab-pc-7")
    (run / "run.json").write_text(json.dumps(info))
    assert load_run(run).training_host == "lab-pc-7"
    assert main(["represent", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert "is recorded as training on host lab-pc-7, which this machine cannot check" in err and "train a new run" in err, err
