"""Background training jobs: separate processes, separate run folders, found again from disk, cancellable."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from siamese import SiameseError, TrainConfig
from siamese.jobs import cancel_training, list_jobs, start_training, unique_run_name


def wait_for(root: Path, done, timeout: float = 180.0) -> list:
    deadline = time.monotonic() + timeout
    while True:
        jobs = list_jobs(root)
        if done(jobs):
            return jobs
        assert time.monotonic() < deadline, "\n\n".join(j.log_tail() for j in jobs)
        time.sleep(0.5)


def test_unique_names_and_no_overwrite(tmp_path: Path):
    names = {unique_run_name(tmp_path) for _ in range(50)}
    assert len(names) == 50
    (tmp_path / "taken").mkdir()
    with pytest.raises(SiameseError, match="already exists"):
        start_training(TrainConfig(train_dir=str(tmp_path)), tmp_path / "taken")
    with pytest.raises(SiameseError, match="epochs 0 is not valid"):
        start_training(TrainConfig(train_dir=str(tmp_path), epochs=0), tmp_path / "new")
    assert list_jobs(tmp_path) == []


@pytest.mark.slow  # trains two networks at once, one until it is cancelled
def test_two_trainings_at_once_write_to_different_runs_and_cancel_stops_one(tiny_data: Path, tmp_path: Path):
    root = tmp_path / "runs"
    long = TrainConfig(train_dir=str(tiny_data / "train"), epochs=500, batch_size=8)
    short = TrainConfig(train_dir=str(tiny_data / "train"), epochs=1, batch_size=8)
    first, second = root / unique_run_name(root), root / unique_run_name(root)
    pids = {start_training(long, first), start_training(short, second)}
    assert len(pids) == 2 and first != second

    jobs = wait_for(root, lambda jobs: {j.name: j.state for j in jobs} == {first.name: "running", second.name: "complete"} and (first / "model.keras").exists())
    cancel_training(next(j for j in jobs if j.name == first.name))
    jobs = wait_for(root, lambda jobs: all(j.state not in ("starting", "running") for j in jobs), timeout=60)
    states = {j.name: j.state for j in jobs}
    assert states == {first.name: "cancelled", second.name: "complete"}
    cancelled = next(j for j in jobs if j.name == first.name).run()
    assert 1 <= cancelled.info["epochs_done"] < 500
    assert cancelled.has_model  # the best model so far is kept
    assert next(j for j in jobs if j.name == second.name).run().info["epochs_done"] == 1
