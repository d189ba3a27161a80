"""The private scratch folder train decodes the faces into: mode 0700, removed when training
ends, and removed by the next training when a SIGKILL left it behind."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import ROOT
from siamese.training import scratch

DATA = ROOT / "sample_data" / "thermal_faces"


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
