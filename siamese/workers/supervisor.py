"""`train --workers`: one worker's training in a child process, watched with a timeout and stopped on signals.

TensorFlow's multi-worker runtime blocks in C++ while it waits for peers, holding
Python's lock, and installs its own SIGTERM handler, so a worker whose peer never
comes would neither time out nor answer SIGTERM or Ctrl-C. So the command the user
starts is a light process without TensorFlow that runs the training in a child and
watches it: the child reports its phase and every step in a heartbeat file
(``siamese.workers.worker.Heartbeat``); when it waits on its peers for longer than the
timeout, or the user stops the command, the child is killed, the run (on the chief)
is marked failed with one sentence, and the command exits with status 2 and one line.
The child's stderr (TensorFlow's C++ logs) is kept out of the terminal; its warnings
and its one-line error are passed on.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from siamese.errors import SiameseError
from siamese.runs.layout import RUN_FILE, now
from siamese.runs.process_alive import pid_alive
from siamese.runs.store import write_run_info
from siamese.training.config import TrainConfig
from siamese.workers.cluster import Cluster, parse_workers, read_cluster, tf_config
from siamese.workers.worker import HEARTBEAT_ENV, worker_main

SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
FOLDER_PREFIX = "siamese-supervisor-"
RESUME = "restart every worker with the same command to resume from the last finished epoch"


def train_on_workers(argv: list[str], config: TrainConfig, run_dir: Path, workers: str | None, worker_index: int | None,
                     timeout: float, verbose: int | str, then: Callable[[], None] | None = None) -> int:
    """``train --strategy multiworker`` / ``--workers``: supervise this worker, or (in the child) train as it.

    ``then`` runs on the chief once its run is complete (``train --represent``).

    Returns:
        The exit status for the command line (0, or 2 after one line on stderr).
    """
    environ = dict(os.environ)
    if workers is not None:
        if worker_index is None:
            raise SiameseError("--workers needs --worker-index: this worker's position in the list, 0 for the one that writes the run")
        environ["TF_CONFIG"] = tf_config(parse_workers(workers), worker_index)
    elif worker_index is not None:
        raise SiameseError("--worker-index needs --workers HOST:PORT,HOST:PORT,... (the same list on every worker)")
    if not timeout > 0:
        raise SiameseError(f"--worker-timeout {timeout!r} is not valid; use a number of seconds above 0 such as 180")
    cluster = read_cluster(environ)
    config.validate()
    if os.environ.get(HEARTBEAT_ENV):  # the child this function started: train here
        os.environ["TF_CONFIG"] = environ["TF_CONFIG"]
        worker_main(config, run_dir, cluster, timeout, verbose)
    code = supervise(argv, environ, cluster, run_dir, timeout)
    if code == 0 and cluster.is_chief and then is not None:
        then()
    return code


def _remove_stale_folders() -> None:
    """Remove the temporary folders of supervisors that were killed (SIGKILL leaves no chance to clean up)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        try:
            owner = int((folder / "owner").read_text())
        except (OSError, ValueError):
            continue  # not ours, or still being set up
        if not pid_alive(owner, None):
            shutil.rmtree(folder, ignore_errors=True)


def _die_with_parent() -> None:
    """In the child: be killed when the supervising process dies, even by SIGKILL (Linux)."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def supervise(argv: list[str], environ: dict[str, str], cluster: Cluster, run_dir: Path, timeout: float) -> int:
    """Run ``python -m siamese ARGV`` as this worker and watch it; return the exit status (0 or 2).

    Args:
        argv: the ``train`` command line, passed to the child unchanged.
        environ: the child's environment (with TF_CONFIG).
        cluster: the workers, for messages.
        run_dir: the run folder (written by the chief only).
        timeout: seconds the child may wait on its peers without a sign of progress.
    """
    _remove_stale_folders()
    stop: list[int] = []
    handlers = {s: signal.signal(s, lambda signum, frame: stop.append(signum)) for s in SIGNAL_NAMES}
    try:
        with tempfile.TemporaryDirectory(prefix=FOLDER_PREFIX) as folder:
            (Path(folder) / "owner").write_text(str(os.getpid()))
            heartbeat, log_path = Path(folder) / "heartbeat", Path(folder) / "stderr.log"
            heartbeat.write_text("local")
            # The child's temporary files (decoded images, a worker's checkpoint copy) go in
            # this folder, so they go with it even when the child had to be killed.
            child_tmp = Path(folder) / "tmp"
            child_tmp.mkdir()
            with open(log_path, "w+", encoding="utf-8", errors="replace") as log:
                child = subprocess.Popen([sys.executable, "-m", "siamese", *argv], env={**environ, HEARTBEAT_ENV: str(heartbeat), "TMPDIR": str(child_tmp)},
                                         stderr=log, start_new_session=True, preexec_fn=_die_with_parent)
                reason = _watch(child, heartbeat, cluster, timeout, stop)
                log.seek(0)
                lines = log.read().splitlines()
            for line in lines:
                if line.startswith("warning: "):
                    print(line, file=sys.stderr)
            errors = [line for line in lines if line.startswith("error: ")]
            if reason is None and child.returncode == 0:
                return 0
            if reason is None and errors:
                print(errors[-1], file=sys.stderr)
                return 2
            if reason is None:
                last = next((line for line in reversed(lines) if line.strip()), "no message")[:200]
                reason = f"{cluster.name()}'s training process ended unexpectedly (exit {child.returncode}: {last}); {RESUME}"
            if cluster.is_chief:
                _mark_failed(run_dir, child.pid, reason)
            print(f"error: {reason}", file=sys.stderr)
            return 2
    finally:
        for s, previous in handlers.items():
            signal.signal(s, previous)


def _watch(child: subprocess.Popen, heartbeat: Path, cluster: Cluster, timeout: float, stop: list[int]) -> str | None:
    """Wait for ``child``; kill it and say why on a signal or a wait past ``timeout``, else None."""
    while True:
        try:
            child.wait(timeout=0.2)
            return None
        except subprocess.TimeoutExpired:
            pass
        try:
            phase, quiet = heartbeat.read_text().strip(), time.time() - heartbeat.stat().st_mtime
        except OSError:
            phase, quiet = "local", 0.0
        if stop:
            reason = f"{cluster.name()} was stopped by {SIGNAL_NAMES[stop[0]]} during {_phase(phase)}; {RESUME}"
        elif phase == "joining" and quiet > timeout:
            reason = (f"{cluster.name()} waited {timeout:g} s for {', '.join(cluster.peers)} to join and gave up; start every worker "
                      "with the same command and its own --worker-index, check the addresses and open ports, then run it again")
        elif phase.startswith("epoch") and quiet > timeout:
            reason = f"{cluster.name()} heard nothing from the other workers for {timeout:g} s during {phase} and gave up; {RESUME}"
        else:
            continue
        child.kill()
        child.wait()
        return reason


def _phase(phase: str) -> str:
    return {"local": "its start-up", "joining": "the wait for the other workers"}.get(phase, phase)


def _mark_failed(run_dir: Path, pid: int, reason: str) -> None:
    """Record ``reason`` in the run the killed child was writing (if it had started one)."""
    try:
        info = json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(info, dict) and info.get("status") == "running" and info.get("pid") == pid:
        info.update(status="failed", error=reason, finished=now(), pid=None)
        write_run_info(run_dir, info)
