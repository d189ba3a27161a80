"""Interrupted training: SIGKILL at any moment leaves a loadable run or one marked failed; Ctrl-C cancels."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import ROOT
from siamese.runs import load_run


def _start(tiny_data, run_dir) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "siamese", "train", str(tiny_data / "train"), "--out", str(run_dir), "--epochs", "200", "--batch-size", "4"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )


def _wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the training process")
        time.sleep(0.05)


def _epochs(run_dir) -> int:
    try:
        return json.loads((run_dir / "run.json").read_text())["epochs_done"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


@pytest.mark.parametrize(
    "after_epochs",
    [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(3, marks=pytest.mark.slow)],  # the later ones train for epochs
    ids=["before-first-epoch", "after-one-epoch", "mid-run"],
)
def test_sigkill_leaves_the_run_loadable_or_marked_failed(tiny_data, tmp_path, after_epochs):
    run_dir = tmp_path / "run"
    proc = _start(tiny_data, run_dir)
    _wait_for(lambda: (run_dir / "run.json").exists() and _epochs(run_dir) >= after_epochs)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    run = load_run(run_dir)  # run.json is whole: written by rename, never in place
    assert run.status == "failed"
    assert "stopped before it finished" in run.error
    if run.has_model:  # a model.keras is whole too, and loads
        assert run.embed(np.zeros((1, 60, 80, 3), np.float32)).shape == (1, 512)
    if after_epochs >= 1:
        assert run.has_model
        assert len(run.history()) >= after_epochs


@pytest.mark.slow  # trains for at least one epoch
def test_ctrl_c_marks_the_run_cancelled_and_consistent(tiny_data, tmp_path):
    run_dir = tmp_path / "run"
    proc = _start(tiny_data, run_dir)
    _wait_for(lambda: _epochs(run_dir) >= 1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    run = load_run(run_dir)
    assert run.status == "cancelled"
    assert run.has_model and len(run.history()) == run.info["epochs_done"]


@pytest.mark.slow  # trains for at least one epoch
def test_cancel_request_stops_training(tiny_data, tmp_path):
    from siamese.rundir import request_cancel

    run_dir = tmp_path / "run"
    proc = _start(tiny_data, run_dir)
    _wait_for(lambda: _epochs(run_dir) >= 1)
    request_cancel(run_dir)
    proc.communicate(timeout=120)
    run = load_run(run_dir)
    assert run.status == "cancelled" and run.info["epochs_done"] < 200
    assert not (run_dir / "cancel.request").exists()
