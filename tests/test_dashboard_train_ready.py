"""The Train page's "Choose representatives when training ends" box and what a finished training says next."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from dashboard_fixtures import DashboardData, open_page, texts

from helpers import copy_run
from siamese.runs.jobs import JOB_SUFFIX, list_jobs

BOX = "Choose representatives when training ends"


def test_the_box_is_on_by_default(dashboard_env: DashboardData):
    at = open_page("train.py")
    box = next(c for c in at.checkbox if c.label == BOX)
    assert box.value is True
    assert "Embeddings or Evaluate page" in box.help


def finished_job(runs_dir: Path, source: Path, represent: bool, with_representatives: bool, pid: int) -> Path:
    """What a training job leaves on disk: its run folder and its job file (as siamese.runs.jobs writes them)."""
    run_dir = runs_dir / "run-done"
    if with_representatives:
        shutil.copytree(source, run_dir)
    else:
        copy_run(source, run_dir)
    (runs_dir / f"run-done{JOB_SUFFIX}").write_text(json.dumps({
        "pid": pid, "host": socket.gethostname(), "started": "2026-01-01T00:00:00+00:00", "run_dir": str(run_dir), "command": [], "represent": represent,
    }))
    return run_dir


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("represent, with_representatives, state, message", [
    (True, True, "complete", "chose the representatives: **run-done** is ready. Choose it in the sidebar, then open Evaluate or Probe."),
    (False, False, "complete", 'Finished 2 epochs. Choose **run-done** in the sidebar, then press "Choose representatives" on the Embeddings or Evaluate page'),
    (True, False, "complete", "Finished 2 epochs, but choosing the representatives did not finish."),
], ids=["ready", "box-unchecked", "representing-failed"])
def test_a_finished_training_says_what_comes_next(represent, with_representatives, state, message, dashboard_env: DashboardData, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SIAMESE_RUNS_DIR", str(tmp_path))
    finished_job(tmp_path, dashboard_env.run, represent, with_representatives, dead_pid())
    assert [job.state for job in list_jobs(tmp_path)] == [state]
    at = open_page("train.py")
    assert message in texts(at), texts(at)
    links = {link.proto.label for link in at.get("page_link")}
    assert links == ({"Evaluate", "Probe"} if with_representatives else set())
    if represent and not with_representatives:
        assert at.warning and not at.success  # not a success: the run is not ready
        assert 'press "Choose representatives" on the Embeddings or Evaluate page' in at.warning[0].value


def test_a_job_still_choosing_representatives_is_active(dashboard_env: DashboardData, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SIAMESE_RUNS_DIR", str(tmp_path))
    finished_job(tmp_path, dashboard_env.run, represent=True, with_representatives=False, pid=os.getpid())  # a live process
    assert [job.state for job in list_jobs(tmp_path)] == ["representing"]
    at = open_page("train.py")
    assert "run-done** · representing" in texts(at)
    assert any(b.label == "Cancel" for b in at.button)
