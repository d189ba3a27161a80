"""Training as a background OS process that outlives the caller (the dashboard's Train page).

A job is ``python -m siamese train ... --out ROOT/NAME`` started in its own session, so
it keeps running when a browser tab closes or the dashboard restarts. Beside the run
folder it leaves ``ROOT/NAME.log`` (the process's output) and ``ROOT/NAME.job.json``
(its pid and command), so anyone can find the job again from disk alone. A job started
with ``represent`` also chooses the run's representatives once training completes
(``train --represent``), so the finished run is ready to evaluate and probe.
"""

from __future__ import annotations

import datetime as _dt
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siamese.errors import SiameseError
from siamese.runs.atomic_files import write_json
from siamese.runs.layout import RUN_FILE, now, read_json, request_cancel
from siamese.runs.process_alive import pid_alive
from siamese.runs.store import Run, load_run
from siamese.training.config import TrainConfig

LOG_SUFFIX = ".log"
# A job in one of these states still has a process working on it.
ACTIVE_STATES = ("starting", "running", "representing")
JOB_SUFFIX = ".job.json"
# The package's parent folder, the child's working folder: `python -m` looks there first,
# so the child runs this same siamese (installed or not) without any import-path setting.
PACKAGE_PARENT = Path(__file__).resolve().parent.parent


def unique_run_name(root: str | os.PathLike[str], prefix: str = "run") -> str:
    """A run name not yet used under ``root``: prefix, UTC time to the second, random suffix.

    The random suffix keeps two names made in the same second apart; ``start_training``
    still claims the name atomically, so a clash cannot go unnoticed.
    """
    root = Path(root)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%d-%H%M%S")
    while True:
        name = f"{prefix}-{stamp}-{secrets.token_hex(2)}"
        if not any((root / f"{name}{suffix}").exists() for suffix in ("", LOG_SUFFIX, JOB_SUFFIX)):
            return name


def train_command(config: TrainConfig, run_dir: str | os.PathLike[str], represent: bool = False) -> list[str]:
    """The ``python -m siamese train`` command line for ``config`` (paths made absolute).

    Every setting is written out, defaults included, so the job trains exactly ``config``;
    with ``represent``, ``--represent`` chooses representatives once training completes.
    """
    command = [
        sys.executable, "-m", "siamese", "train", str(Path(config.train_dir).resolve()),
        "--out", str(Path(run_dir).resolve()),
        "--epochs", str(config.epochs),
        "--batch-size", str(config.batch_size),
        "--margin", repr(float(config.margin)),
        "--lr", repr(float(config.learning_rate)),
        "--seed", str(config.seed),
        "--validation-split", repr(float(config.validation_split)),
        "--calibration-split", repr(float(config.calibration_split)),
        "--augment" if config.augment else "--no-augment",
        "--precision", config.precision,
        "--loss", config.loss,
    ]
    if config.input_shape:
        command += ["--input-shape", ",".join(str(int(s)) for s in config.input_shape)]
    if config.val_dir:
        command += ["--val-dir", str(Path(config.val_dir).resolve())]
    command += ["--unit", config.unit]
    if config.window:
        command += ["--window", f"{float(config.window[0])!r}:{float(config.window[1])!r}"]
    if config.palette:
        command += ["--palette", config.palette]
    if represent:
        command.append("--represent")
    return command


def start_training(config: TrainConfig, run_dir: str | os.PathLike[str], represent: bool = False) -> int:
    """Start training ``config`` into ``run_dir`` in a separate process; return its pid.

    With ``represent`` the process then chooses the run's representatives with
    ``represent``'s defaults (the job's state is ``representing`` meanwhile).

    The process runs in a new session (it survives the caller and its terminal);
    its output goes to ``run_dir`` + ``.log``. The name is claimed by creating that log
    file exclusively, so two jobs can never share a run folder.

    Raises:
        SiameseError: a setting is invalid, or ``run_dir`` (or its log) already exists.
    """
    config.validate()
    if not Path(config.train_dir).is_dir():
        raise SiameseError(f"training data folder {config.train_dir} does not exist; choose a folder with one sub-folder of images per class")
    run_dir = Path(run_dir)
    if run_dir.exists():
        raise SiameseError(f"run folder {run_dir} already exists; choose another name so no run is overwritten")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    log_path = run_dir.parent / f"{run_dir.name}{LOG_SUFFIX}"
    command = train_command(config, run_dir, represent)
    try:
        log = open(log_path, "x", encoding="utf-8")  # handed to the child, closed below
    except FileExistsError:
        raise SiameseError(f"a job named {run_dir.name} already exists in {run_dir.parent}; choose another name") from None
    with log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=str(PACKAGE_PARENT),
        )
    # Reap the child when it ends so it does not linger as a zombie, which would look
    # alive to os.kill(pid, 0) and keep a dead job "running" for as long as we live.
    threading.Thread(target=process.wait, name=f"reap-{process.pid}", daemon=True).start()
    write_json(run_dir.parent / f"{run_dir.name}{JOB_SUFFIX}", {
        "pid": process.pid, "host": socket.gethostname(), "started": now(), "run_dir": str(run_dir.resolve()), "command": command,
        "represent": represent,
    })
    return process.pid


@dataclass(frozen=True)
class Job:
    """A training job found on disk.

    Attributes:
        name: the run name.
        run_dir: the run folder (it appears once the process has checked the data).
        log_path: the process's output.
        state: ``starting`` (process alive, no run.json yet), ``running``,
            ``representing`` (trained, choosing representatives), ``complete``,
            ``cancelled`` or ``failed``.
        info: the job file's contents (pid, host, started, command, represent).
    """

    name: str
    run_dir: Path
    log_path: Path
    state: str
    info: dict[str, Any]

    @property
    def represents(self) -> bool:
        """Whether the job was asked to choose representatives once training completes."""
        return bool(self.info.get("represent"))

    def run(self) -> Run | None:
        """The run, once its run.json exists."""
        return load_run(self.run_dir) if (self.run_dir / RUN_FILE).exists() else None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the process's output (where a failure says why)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def job_state(info: dict[str, Any], run_dir: Path) -> str:
    """The state of a job from its job file and its run folder."""
    if (run_dir / RUN_FILE).exists():
        try:
            run = load_run(run_dir)
        except SiameseError:
            return "failed"
        if run.status == "complete" and info.get("represent") and not run.has_representatives and pid_alive(info.get("pid"), info.get("host")):
            return "representing"
        return run.status
    return "starting" if pid_alive(info.get("pid"), info.get("host")) else "failed"


def list_jobs(root: str | os.PathLike[str]) -> list[Job]:
    """Every job started under ``root``, newest first."""
    root = Path(root)
    jobs = []
    if root.is_dir():
        for job_file in root.glob(f"*{JOB_SUFFIX}"):
            name = job_file.name[: -len(JOB_SUFFIX)]
            try:
                info = read_json(job_file, "it is not a job file")
            except SiameseError:
                continue
            run_dir = root / name
            jobs.append(Job(name, run_dir, root / f"{name}{LOG_SUFFIX}", job_state(info, run_dir), info))
    return sorted(jobs, key=lambda j: (j.info.get("started") or "", j.name), reverse=True)


def cancel_training(job: Job) -> None:
    """Stop a job: a running one after its current batch (it is marked cancelled); one
    still starting (loading data, importing TensorFlow) or choosing representatives (the
    trained run stays complete, without them) by interrupting its process."""
    if job.state == "running":
        request_cancel(job.run_dir)
    elif job.state in ("starting", "representing") and job.info.get("host") == socket.gethostname():
        try:
            # Its own session and process group (start_new_session): only it is hit.
            os.killpg(int(job.info["pid"]), signal.SIGINT)
        except ProcessLookupError:
            pass
