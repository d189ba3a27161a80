"""Exclusive run folders: one writer per run folder, stale locks and killed writers' leftovers handled."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import DEMO_RUN, ROOT, wait_until
from siamese.cli import main
from siamese.errors import SiameseError
from siamese.runs.locks import REPRESENT_LOCK, TRAIN_LOCK, claim_run_dir, exclusive


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_claimed_folder_is_refused_to_a_second_writer(tmp_path: Path):
    run_dir = tmp_path / "run"
    with claim_run_dir(run_dir, [tmp_path / "data"]):
        assert (run_dir / TRAIN_LOCK).is_file()
        with pytest.raises(SiameseError, match=r"run is in use by another process \(pid \d+\); wait for it to finish or choose another --out"):
            with claim_run_dir(run_dir, [tmp_path / "data"]):
                pass
        (run_dir / "run.json").write_text("{}")
    assert not (run_dir / TRAIN_LOCK).exists()
    with pytest.raises(SiameseError, match="already exists and is not empty"):
        with claim_run_dir(run_dir, [tmp_path / "data"]):
            pass


def test_a_failure_before_anything_is_written_leaves_no_folder(tmp_path: Path):
    with pytest.raises(SiameseError, match="bad data"):
        with claim_run_dir(tmp_path / "new", [tmp_path / "data"]):
            raise SiameseError("bad data")
    assert not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()  # a folder the user made stays
    with pytest.raises(SiameseError):
        with claim_run_dir(tmp_path / "kept", [tmp_path / "data"]):
            raise SiameseError("bad data")
    assert (tmp_path / "kept").is_dir()


def test_a_killed_writers_lock_and_temporary_files_are_cleaned(tmp_path: Path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / TRAIN_LOCK).write_text(json.dumps({"pid": _dead_pid(), "host": None}))
    (run_dir / ".run.json.k3j_a9z1.tmp").write_text("{half")
    (run_dir / ".model.keras.abcdefgh.keras").write_bytes(b"half a model")
    with claim_run_dir(run_dir, [tmp_path / "data"]):
        assert sorted(p.name for p in run_dir.iterdir()) == [TRAIN_LOCK]
        assert json.loads((run_dir / TRAIN_LOCK).read_text())["pid"] == os.getpid()


def test_a_run_folder_inside_the_dataset_is_refused_before_it_is_made(tmp_path: Path):
    with pytest.raises(SiameseError, match="lies inside the dataset"):
        with claim_run_dir(tmp_path / "data" / "run", [tmp_path / "data"]):
            pass
    assert not (tmp_path / "data").exists()


@pytest.fixture()
def demo_copy(tmp_path: Path) -> Path:
    run = tmp_path / "demo_run"
    shutil.copytree(DEMO_RUN, run)
    return run


def test_represent_twice_at_once_refuses_the_second(demo_copy: Path, capsys):
    with exclusive(demo_copy, REPRESENT_LOCK, "wait"):
        assert main(["represent", str(demo_copy)]) == 2
    err = capsys.readouterr().err.strip()
    assert "is in use by another process" in err and "wait until its representatives are recorded" in err and "\n" not in err, err


def test_a_run_killed_before_its_first_epoch_is_reported_failed(demo_copy: Path, capsys):
    info = json.loads((demo_copy / "run.json").read_text())
    info.update(status="running", pid=_dead_pid(), host=None)
    (demo_copy / "run.json").write_text(json.dumps(info))
    (demo_copy / "model.keras").unlink()
    for command in (["represent", str(demo_copy)], ["probe", str(demo_copy), str(ROOT / "sample_data/thermal_faces/test/person_01/person_01_025.png")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "failed before its first epoch ended (the training process stopped before it finished (killed or crashed))" in err, err
        assert "wait for the first epoch" not in err


def test_a_failed_run_is_warned_about_and_refused_with_strict(demo_copy: Path, capsys):
    info = json.loads((demo_copy / "run.json").read_text())
    info.update(status="failed", error="MemoryError: out of memory")
    (demo_copy / "run.json").write_text(json.dumps(info))
    image = str(ROOT / "sample_data/thermal_faces/test/person_01/person_01_025.png")
    assert main(["probe", str(demo_copy), image, "--strict"]) == 2
    assert "failed (MemoryError: out of memory); train it again, or leave out --strict" in capsys.readouterr().err
    assert main(["probe", str(demo_copy), image]) == 0
    captured = capsys.readouterr()
    assert "warning: run" in captured.err and "failed (MemoryError: out of memory); using the model of its last finished epoch" in captured.err
    assert "identified as person_01" in captured.out


def _train(data: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, "-m", "siamese", "train", str(data), "--out", str(out), "--batch-size", "8", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def _wait_for(path: Path, process: subprocess.Popen, seconds: float = 300) -> None:
    def appeared() -> bool:
        assert process.poll() is None, process.communicate()
        return path.exists()

    wait_until(appeared, seconds, f"{path} did not appear", every=0.05)


@pytest.mark.slow
def test_two_trainings_into_one_folder_the_second_exits_2(tiny_data: Path, tmp_path: Path):
    out = tmp_path / "run"
    first = _train(tiny_data / "train", out, "--epochs", "2", "--seed", "1")
    try:
        _wait_for(out / TRAIN_LOCK, first)  # claimed: before the data is read or TensorFlow imported
        second = _train(tiny_data / "train", out, "--epochs", "4", "--seed", "2")
        _, err = second.communicate(timeout=300)
        assert second.returncode == 2 and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1 and "is in use by another process" in err, err
        _, err = first.communicate(timeout=600)
        assert first.returncode == 0, err
    finally:
        first.kill()
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "complete" and info["config"]["seed"] == 1 and info["config"]["epochs"] == 2  # the first run, untouched
    assert not (out / TRAIN_LOCK).exists()


@pytest.mark.slow
def test_represent_after_sigkill_before_the_first_epoch_says_the_run_failed(tiny_data: Path, tmp_path: Path):
    out = tmp_path / "run"
    process = _train(tiny_data / "train", out, "--epochs", "50")
    try:
        _wait_for(out / "run.json", process)  # written just before the model is built
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        process.kill()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-m", "siamese", "represent", str(out)], capture_output=True, text=True, env=env, timeout=300)
    if (out / "model.keras").exists():  # the machine was fast enough to finish an epoch first: then it warns
        assert "failed" in done.stderr, done.stderr
    else:
        assert done.returncode == 2 and "failed before its first epoch ended" in done.stderr, done.stderr
    retrain = subprocess.run([sys.executable, "-m", "siamese", "train", str(tiny_data / "train"), "--out", str(out), "--epochs", "1"],
                             capture_output=True, text=True, env=env, timeout=300)
    assert retrain.returncode == 2 and "already exists and is not empty" in retrain.stderr  # the failed run is kept, not overwritten
