"""Interrupted training: SIGKILL at any moment leaves a loadable run or one marked failed; Ctrl-C cancels.

Waits are on the run's state (run.json's epoch count), with deadlines generous enough for
a machine whose cores are busy with other work; a training process that ends while a
test waits fails the wait at once, with its output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from helpers import ROOT, wait_until
from siamese.runs.layout import request_cancel
from siamese.runs.store import load_run

EPOCHS = 100_000  # never reached: every test stops the training itself
DEADLINE = 600.0  # seconds; TensorFlow's import and the first epoch take far less, even under load


def _start(tiny_data, run_dir) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "siamese", "train", str(tiny_data / "train"), "--out", str(run_dir), "--epochs", str(EPOCHS), "--batch-size", "4"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        # A shell starts background jobs (`pytest &`, nohup) with SIGINT ignored, and children
        # inherit that, so Ctrl-C would never reach the training: give it the default back.
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _epochs(run_dir) -> int:
    try:
        return json.loads((run_dir / "run.json").read_text())["epochs_done"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


def _wait_for_epochs(proc: subprocess.Popen, run_dir, epochs: int) -> None:
    """Wait until run.json exists and records ``epochs`` finished epochs."""
    def done() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"training ended (exit {proc.returncode}) before epoch {epochs}:\n{proc.stderr.read().decode()}")
        return (run_dir / "run.json").exists() and _epochs(run_dir) >= epochs

    try:
        wait_until(done, DEADLINE, lambda: f"no epoch {epochs} after {DEADLINE:.0f} s (at {_epochs(run_dir)})", every=0.05)
    except AssertionError:
        proc.kill()
        raise


@pytest.mark.parametrize(
    "after_epochs",
    [0, pytest.param(1, marks=pytest.mark.slow), pytest.param(3, marks=pytest.mark.slow)],  # the later ones train for epochs
    ids=["before-first-epoch", "after-one-epoch", "mid-run"],
)
def test_sigkill_leaves_the_run_loadable_or_marked_failed(tiny_data, tmp_path, after_epochs):
    run_dir = tmp_path / "run"
    proc = _start(tiny_data, run_dir)
    _wait_for_epochs(proc, run_dir, after_epochs)
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
    _wait_for_epochs(proc, run_dir, 1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 130, stderr
    run = load_run(run_dir)
    assert run.status == "cancelled"
    assert run.has_model and len(run.history()) == run.info["epochs_done"] < EPOCHS


@pytest.mark.slow  # trains for at least one epoch
def test_cancel_request_stops_training(tiny_data, tmp_path):
    run_dir = tmp_path / "run"
    proc = _start(tiny_data, run_dir)
    _wait_for_epochs(proc, run_dir, 1)
    request_cancel(run_dir)
    proc.communicate(timeout=DEADLINE)
    run = load_run(run_dir)
    assert run.status == "cancelled" and run.info["epochs_done"] < EPOCHS
    assert not (run_dir / "cancel.request").exists()


def test_a_ctrl_c_lost_in_a_finalizer_still_stops_training(tiny_data, tmp_path):
    """Python drops an exception raised in ``__del__``; a Ctrl-C handled there must still cancel.

    Quick: training stops in its first epoch, after the interrupted batch."""
    import siamese
    from siamese.model.backend import keras

    class CtrlCInAFinalizer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 1:
                try:
                    signal.raise_signal(signal.SIGINT)  # the handler raises KeyboardInterrupt here...
                except KeyboardInterrupt:
                    pass  # ...and it is lost, as it would be inside a finalizer

    # Python's own handler, as in a terminal (a shell's background job starts with SIGINT ignored).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        config = siamese.TrainConfig(train_dir=str(tiny_data / "train"), epochs=1000, batch_size=4)
        run = siamese.train(config, tmp_path / "run", verbose=0, extra_callbacks=[CtrlCInAFinalizer()])
        assert run.status == "cancelled" and run.info["epochs_done"] <= 1  # stopped after the interrupted batch
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    finally:
        signal.signal(signal.SIGINT, previous)


def test_the_first_ctrl_c_only_flags_the_training_and_a_second_one_raises():
    """A KeyboardInterrupt raised inside TensorFlow can abort the process (SIGABRT); the first
    Ctrl-C therefore raises nothing and stops training after the batch, a second one raises."""
    from types import SimpleNamespace

    from siamese.training.single_process import ctrl_c_stops

    recorder = SimpleNamespace(interrupted=False)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with ctrl_c_stops(recorder):
            signal.raise_signal(signal.SIGINT)  # raises nothing
            assert recorder.interrupted
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    finally:
        signal.signal(signal.SIGINT, previous)
