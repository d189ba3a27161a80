"""Training on several workers: two processes on 127.0.0.1 under MultiWorkerMirroredStrategy.

Every worker is started as a user would (``python -m siamese train ... --workers ...
--worker-index I``) with free ports and its own TMPDIR, so what it leaves behind can be
checked. Waits are on state (run.json's epoch count, a worker's heartbeat file), never a
fixed time; every process has a deadline so nothing can hang the suite.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import siamese
from helpers import ROOT, run_cli, wait_until
from siamese.workers.cluster import local_addresses

DEADLINE = 600.0  # seconds for a whole training; TensorFlow's import and tiny epochs take far less, even under load


def _start(tiny_data: Path, out: Path, workers: str, index: int, tmp: Path, *extra: str) -> subprocess.Popen:
    tmp.mkdir(parents=True, exist_ok=True)
    # one thread per TensorFlow pool: two workers share the machine's cores
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "TMPDIR": str(tmp), "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    command = [sys.executable, "-m", "siamese", "train", str(tiny_data / "train"), "--out", str(out), "--batch-size", "4",
               "--workers", workers, "--worker-index", str(index), *extra]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen, deadline: float = DEADLINE) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"worker did not finish in {deadline:.0f} s:\n{err}") from None
    return proc.returncode, out, err


def _info(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "run.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _pair_auroc(run_dir: Path, folder: Path) -> float:
    """How well distances separate same-class from other-class pairs of every image in ``folder`` (0.5 = chance)."""
    from sklearn.metrics import roc_auc_score

    run = siamese.load_run(run_dir)
    data = siamese.load_folder(folder, run.input_shape)
    embeddings = run.embed(data.images)
    distances = np.linalg.norm(embeddings[:, None] - embeddings[None], axis=-1)
    upper = np.triu_indices(len(embeddings), 1)
    return float(roc_auc_score((data.labels[:, None] == data.labels[None])[upper], -distances[upper]))


# Quick: the pieces without TensorFlow --------------------------------------------------
def test_cli_refuses_inconsistent_worker_options(tiny_data, tmp_path):
    for extra, words in [(["--workers", "127.0.0.1:1,127.0.0.1:2"], "needs --worker-index"), (["--worker-index", "0"], "needs --workers"),
                         (["--workers", "127.0.0.1:1,127.0.0.1:2", "--worker-index", "0", "--strategy", "mirrored"], "leave out --strategy mirrored")]:
        result = run_cli("train", str(tiny_data / "train"), "--out", str(tmp_path / "run"), *extra, check=False)
        assert result.returncode == 2 and words in result.stderr and len(result.stderr.strip().splitlines()) == 1


# Slow: real workers ------------------------------------------------------------------
@pytest.mark.slow  # two workers train for two epochs
def test_two_workers_train_a_run_as_good_as_one_process(tiny_data, tiny_run, tmp_path):
    workers = local_addresses(2)
    chief, other = tmp_path / "chief" / "run", tmp_path / "other" / "run"
    procs = [_start(tiny_data, out, workers, i, tmp_path / f"tmp{i}", "--epochs", "2", "--represent") for i, out in enumerate([chief, other])]
    results = [_finish(p) for p in procs]
    for code, _, err in results:
        assert code == 0, err
    assert "finished 2 epochs; the run is written by worker 0" in results[1][1]
    assert "recorded 4 representatives" in results[0][1] and "recorded" not in results[1][1]  # --represent: on worker 0 only

    info = _info(chief)
    assert info["status"] == "complete" and info["epochs_done"] == 2 and info["pid"] is None
    assert info["distribution"]["strategy"] == "MultiWorkerMirroredStrategy" and info["distribution"]["global_batch_size"] == 8
    assert {"checkpoint", "history.csv", "model.keras", "run.json", "representatives.json"} <= {p.name for p in chief.iterdir()}
    assert siamese.load_run(chief).history()["epoch"].tolist() == [1, 2]
    assert not other.exists() and not any((tmp_path / "tmp1").iterdir())  # the other worker left nothing behind
    assert not any((tmp_path / "tmp0").iterdir())

    run_cli("represent", str(chief), "--perplexity", "5")
    report = json.loads(run_cli("evaluate", str(chief), str(tiny_data / "test"), "--unknown", str(tiny_data / "unknown"), "--json").stdout)
    assert report["n_test"] == sum(1 for _ in (tiny_data / "test").rglob("*.png"))
    # Same settings as tiny_run (2 epochs, global batch 8, seed 0), other pair draws and start weights.
    # Over the training folder's 276 pairs this score spans 0.72-0.74 for one process with
    # seeds 0-2 and reached 0.76 for two workers (issue 14's note); 0.1 allows for a seed's
    # luck four times over and still fails a run that learnt nothing (0.5) or learnt wrongly.
    two, one = _pair_auroc(chief, tiny_data / "train"), _pair_auroc(tiny_run, tiny_data / "train")
    assert two > 0.6 and abs(two - one) < 0.1, (two, one)


@pytest.mark.slow  # trains, kills a worker, trains on
def test_killed_worker_and_restart_resume_from_the_last_finished_epoch(tiny_data, tmp_path):
    workers = local_addresses(2)
    chief_out = tmp_path / "chief" / "run"
    outs = [chief_out, tmp_path / "other" / "run"]
    extra = ("--epochs", "4", "--worker-timeout", "60")
    procs = [_start(tiny_data, out, workers, i, tmp_path / f"tmp{i}", *extra) for i, out in enumerate(outs)]
    def epoch_1() -> bool:
        assert procs[0].poll() is None and procs[1].poll() is None, [p.communicate() for p in procs]
        return _info(chief_out).get("epochs_done", 0) >= 1

    wait_until(epoch_1, DEADLINE, "no epoch 1", every=0.05)
    procs[1].kill()  # worker 1 dies (SIGKILL: no chance to clean up)
    procs[1].wait(timeout=60)
    code, _, err = _finish(procs[0], 300)
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    failed = siamese.load_run(chief_out)
    assert failed.status == "failed" and "\n" not in failed.error and len(failed.error) < 400
    assert "restart every worker with the same command" in failed.error
    done = failed.info["epochs_done"]
    assert 1 <= done < 4
    before = failed.history()

    procs = [_start(tiny_data, out, workers, i, tmp_path / f"tmp{i}", *extra) for i, out in enumerate(outs)]
    results = [_finish(p) for p in procs]
    assert all(code == 0 for code, _, _ in results), [err for _, _, err in results]
    assert f"resuming from epoch {done + 1} of 4" in results[0][1]
    run = siamese.load_run(chief_out)
    assert run.status == "complete" and run.info["epochs_done"] == 4
    assert run.info["resumed"][-1]["from_epoch"] == done + 1
    history = run.history()
    assert history["epoch"].tolist() == [1, 2, 3, 4]
    assert history.iloc[:done].equals(before.iloc[:done])  # the finished epochs were kept, not trained again
    assert not (tmp_path / "other" / "run").exists() and not any((tmp_path / "tmp1").iterdir())


@pytest.mark.slow  # starts TensorFlow's multi-worker runtime and waits for its timeout
def test_a_worker_whose_peer_never_comes_gives_up_with_one_line(tiny_data, tmp_path):
    workers = local_addresses(2)
    started = time.monotonic()
    proc = _start(tiny_data, tmp_path / "run", workers, 0, tmp_path / "tmp", "--worker-timeout", "8")
    code, _, err = _finish(proc, 300)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "waited 8 s for 127.0.0.1:" in err and "to join" in err
    assert time.monotonic() - started < 200  # start-up (TensorFlow's import) plus the 8 s, on a busy machine
    assert not (tmp_path / "run").exists() and not any((tmp_path / "tmp").iterdir())


@pytest.mark.slow  # starts TensorFlow's multi-worker runtime
@pytest.mark.parametrize("signum, name", [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "Ctrl-C")], ids=["sigterm", "ctrl-c"])
def test_a_waiting_worker_answers_sigterm_and_ctrl_c(tiny_data, tmp_path, signum, name):
    workers = local_addresses(2)
    proc = _start(tiny_data, tmp_path / "run", workers, 1, tmp_path / "tmp")
    def joining() -> bool:  # the worker's heartbeat says it waits for its peer (inside TensorFlow's C++ start-up)
        assert proc.poll() is None, proc.communicate()
        return any(p.read_text() == "joining" for p in (tmp_path / "tmp").glob("siamese-supervisor-*/heartbeat"))

    wait_until(joining, 300, "the worker never started waiting", every=0.05)
    proc.send_signal(signum)
    code, _, err = _finish(proc, 60)
    assert code == 2 and len(err.strip().splitlines()) == 1 and f"stopped by {name}" in err, err


@pytest.mark.slow  # starts two workers (no epoch is trained)
def test_workers_with_different_settings_are_refused_on_both(tiny_data, tmp_path):
    workers = local_addresses(2)
    procs = [_start(tiny_data, tmp_path / f"run{i}", workers, i, tmp_path / f"tmp{i}", "--epochs", str(2 + i)) for i in range(2)]
    for code, _, err in [_finish(p, 300) for p in procs]:
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert "worker 1 (127.0.0.1:" in err and "another epochs than worker 0" in err
    assert not (tmp_path / "run0").exists()


def test_represent_on_a_run_that_failed_before_its_first_epoch_says_so(tmp_path, tiny_data):
    run_dir = tmp_path / "failed"
    run_dir.mkdir()
    info = {"format_version": 1, "status": "failed", "pid": None, "error": "worker 0 lost contact with another worker during epoch 1",
            "config": {"train_dir": str(tiny_data / "train"), "input_shape": [60, 80, 3], "class_names": sorted(p.name for p in (tiny_data / "train").iterdir())}}
    (run_dir / "run.json").write_text(json.dumps(info))
    result = run_cli("represent", str(run_dir), check=False)
    assert result.returncode == 2 and "failed before its first epoch ended" in result.stderr and "wait" not in result.stderr
