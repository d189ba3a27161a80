"""Only regular files are read: a FIFO (or socket) named like an image is skipped with a warning, never opened.

Opening a FIFO for reading blocks until a writer appears, so every command here runs
in a subprocess with a timeout: a regression fails the test instead of hanging it.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import DEMO_RUN, ROOT
from siamese.data.folders import NOT_REGULAR, decode_image, scan_folder
from siamese.errors import SiameseError

DATA = ROOT / "sample_data" / "thermal_faces"


def _siamese(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "siamese", *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


@pytest.fixture()
def dataset_with_specials(tmp_path: Path) -> Path:
    """Two classes of the sample test set plus a FIFO and a socket named like images."""
    data = tmp_path / "data"
    for name in ("person_01", "person_02"):
        shutil.copytree(DATA / "test" / name, data / name)
    os.mkfifo(data / "person_01" / "pipe.png")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(data / "person_02" / "socket.png"))
    server.close()
    return data


def test_scan_skips_fifos_and_sockets_with_a_reason(dataset_with_specials: Path, caplog, monkeypatch):
    monkeypatch.setattr(logging.getLogger("siamese"), "propagate", True)  # the CLI's main() turns it off when run in-process
    listing = scan_folder(dataset_with_specials)
    assert not any(p.name in ("pipe.png", "socket.png") for p in listing.paths)
    reasons = {Path(s.path).name: s.reason for s in listing.skipped}
    assert reasons == {"pipe.png": NOT_REGULAR, "socket.png": NOT_REGULAR}
    assert "pipe.png: not a regular file" in caplog.text


def test_a_fifo_given_as_an_image_is_refused_without_opening_it(tmp_path: Path):
    os.mkfifo(tmp_path / "probe.png")
    with pytest.raises(SiameseError, match="probe.png is not a regular file"):
        decode_image(tmp_path / "probe.png")


def test_probe_of_a_fifo_exits_2_without_hanging(tmp_path: Path):
    os.mkfifo(tmp_path / "probe.png")
    done = _siamese("probe", str(DEMO_RUN), str(tmp_path / "probe.png"))
    assert done.returncode == 2 and "is not a regular file" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_evaluate_and_baseline_skip_a_fifo_in_the_dataset(dataset_with_specials: Path):
    done = _siamese("evaluate", str(DEMO_RUN), str(dataset_with_specials), "--json")
    assert done.returncode == 0, done.stderr
    assert "pipe.png: not a regular file" in done.stderr
    done = _siamese("baseline", str(dataset_with_specials), str(dataset_with_specials))
    assert done.returncode == 0 and "skipped" in done.stderr, done.stderr


@pytest.mark.slow
def test_train_on_a_dataset_with_a_fifo_finishes(dataset_with_specials: Path, tmp_path: Path):
    done = _siamese("train", str(dataset_with_specials), "--out", str(tmp_path / "run"), "--epochs", "1", "--batch-size", "8", timeout=600)
    assert done.returncode == 0, done.stderr
    assert "pipe.png: not a regular file" in done.stderr
