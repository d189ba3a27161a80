"""Background training jobs: separate processes, separate run folders, found again from disk, cancellable."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import wait_until
from siamese import SiameseError, TrainConfig
from siamese.cli import build_parser
from siamese.runs.jobs import cancel_training, list_jobs, start_training, train_command, unique_run_name
from siamese.training.config import USER_SETTINGS


def wait_for(root: Path, done, timeout: float = 600.0) -> list:
    """Poll the jobs on disk until ``done(jobs)``; the deadline allows for a machine busy with other work."""
    def finished() -> tuple[list] | None:
        jobs = list_jobs(root)
        return (jobs,) if done(jobs) else None  # a tuple: an empty list of jobs may be what is awaited

    return wait_until(finished, timeout, lambda: "\n\n".join(j.log_tail() for j in list_jobs(root)))[0]


def test_unique_names_and_no_overwrite(tmp_path: Path):
    names = set()
    for _ in range(50):  # in the same second: only the random suffix and the folders on disk tell them apart
        name = unique_run_name(tmp_path)
        (tmp_path / name).mkdir()  # claimed, as start_training claims it
        names.add(name)
    assert len(names) == 50
    (tmp_path / "taken").mkdir()
    with pytest.raises(SiameseError, match="already exists"):
        start_training(TrainConfig(train_dir=str(tmp_path)), tmp_path / "taken")
    with pytest.raises(SiameseError, match="epochs 0 is not valid"):
        start_training(TrainConfig(train_dir=str(tmp_path), epochs=0), tmp_path / "new")
    assert list_jobs(tmp_path) == []


@pytest.mark.parametrize("augment", [True, False])
def test_the_job_command_line_gives_back_every_setting(tmp_path: Path, augment: bool):
    """Every setting is spelled out, so a job trains exactly its config whatever the defaults."""
    config = TrainConfig(train_dir=str(tmp_path / "data"), epochs=7, batch_size=9, margin=0.8, learning_rate=0.001, input_shape=[30, 40, 1],
                         seed=5, validation_split=0.1, val_dir=str(tmp_path / "val"), precision="float32", calibration_split=0.2, augment=augment)
    command = train_command(config, tmp_path / "run")
    assert command[1:4] == ["-m", "siamese", "train"]
    assert [a for a in command if a.endswith("augment")] == ["--augment" if augment else "--no-augment"]
    args = build_parser().parse_args(command[3:])
    for name in USER_SETTINGS:
        value = getattr(args, name)
        assert (str(value) if name.endswith("_dir") else value) == getattr(config, name), name
    assert args.out == (tmp_path / "run").resolve()


@pytest.mark.slow  # trains two networks at once, one until it is cancelled
def test_two_trainings_at_once_write_to_different_runs_and_cancel_stops_one(tiny_data: Path, tmp_path: Path):
    root = tmp_path / "runs"
    long = TrainConfig(train_dir=str(tiny_data / "train"), epochs=100_000, batch_size=8)  # never reached: cancelled below
    short = TrainConfig(train_dir=str(tiny_data / "train"), epochs=1, batch_size=8)
    first, second = root / unique_run_name(root), root / unique_run_name(root)
    pids = {start_training(long, first), start_training(short, second)}
    assert len(pids) == 2 and first != second

    jobs = wait_for(root, lambda jobs: {j.name: j.state for j in jobs} == {first.name: "running", second.name: "complete"} and (first / "model.keras").exists())
    cancel_training(next(j for j in jobs if j.name == first.name))
    jobs = wait_for(root, lambda jobs: all(j.state not in ("starting", "running") for j in jobs))
    states = {j.name: j.state for j in jobs}
    assert states == {first.name: "cancelled", second.name: "complete"}
    cancelled = next(j for j in jobs if j.name == first.name).run()
    assert 1 <= cancelled.info["epochs_done"] < 100_000
    assert cancelled.has_model  # the best model so far is kept
    assert next(j for j in jobs if j.name == second.name).run().info["epochs_done"] == 1


@pytest.mark.parametrize("pixels", [{"unit": "centikelvin", "window": [28.5, 38.0]}, {"palette": "ironbow"}, {"unit": "kelvin"}], ids=["window", "palette", "unit"])
def test_the_job_command_line_gives_back_the_pixel_mapping(tmp_path: Path, pixels: dict):
    config = TrainConfig(train_dir=str(tmp_path / "data"), **pixels)
    args = build_parser().parse_args(train_command(config, tmp_path / "run")[3:])
    assert (args.unit, args.window, args.palette) == (config.unit, config.window, config.palette)


def test_a_job_asked_to_represent_says_so_in_its_command_line(tmp_path: Path):
    config = TrainConfig(train_dir=str(tmp_path / "data"))
    assert "--represent" not in train_command(config, tmp_path / "run")
    command = train_command(config, tmp_path / "run", represent=True)
    assert build_parser().parse_args(command[3:]).represent is True


def test_the_job_command_line_gives_back_every_user_setting(tmp_path: Path):
    """Each setting the form offers reaches the job, none left at its default (the loss once was)."""
    from siamese.training.config import USER_SETTINGS

    (tmp_path / "val").mkdir()
    config = TrainConfig(
        train_dir=str(tmp_path / "data"), epochs=7, batch_size=12, margin=0.9, learning_rate=0.001, input_shape=[32, 40, 3], seed=5,
        validation_split=0.1, val_dir=str(tmp_path / "val"), precision="float32", calibration_split=0.2, augment=False,
        unit="kelvin", window=[20.0, 40.0], palette="ironbow", loss="triplet",
    )
    args = build_parser().parse_args(train_command(config, tmp_path / "run")[3:])
    paths = {"train_dir", "val_dir"}
    for name in set(USER_SETTINGS) - paths:
        assert getattr(args, name) == getattr(config, name), name
        assert getattr(config, name) != getattr(TrainConfig(train_dir="x"), name), f"{name} is left at its default in this test"
    assert {Path(str(getattr(args, name))).resolve() for name in paths} == {Path(getattr(config, name)).resolve() for name in paths}
