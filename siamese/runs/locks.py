"""Exclusive claims on run folders: one writer at a time, taken atomically before any slow work.

``train`` claims its new run folder, and ``represent`` the run it records into, by
creating a lock file atomically: its content (pid and host) is written to a temporary
file first, which is then hard-linked to the lock's name (atomic, and refused when the
name exists, on every local filesystem), so a lock is never seen empty, even when the
disk fills while it is written. Of two processes started at once, exactly one gets it
and the other is refused with one sentence. The lock names its process, so a lock left
by a killed process is recognised as stale and taken over, and the temporary files
such a process left behind are removed. An empty or unreadable lock (left by an older
version when the disk was full) is stale once it is ``EMPTY_LOCK_SECONDS`` old. A lock
held by another machine cannot be checked from here: the refusal names that host and
says how to take the folder over.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from siamese.data.folders import refuse_inside_dataset
from siamese.errors import SET, Remedy, SiameseError, refusal
from siamese.runs.process_alive import pid_alive

TRAIN_LOCK = ".train.lock"
REPRESENT_LOCK = ".represent.lock"
LOCKS = (TRAIN_LOCK, REPRESENT_LOCK)
# atomic_write's names: "." + the file's name + "." + mkstemp's 8 random characters + a suffix.
EMPTY_LOCK_SECONDS = 5.0  # an empty or unreadable lock older than this is stale (not being written)
_TEMPORARY = re.compile(r"^\.[^/]+\.[a-z0-9_]{8}(\.tmp|\.npz|\.npy|\.keras)$")


T = TypeVar("T")


def _holder(lock: Path) -> tuple[int | None, str | None]:
    """The (pid, host) written in a lock file; (None, None) when it cannot be read."""
    try:
        data = json.loads(lock.read_text(encoding="utf-8"))
        pid, host = data.get("pid"), data.get("host")
        return (pid if isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid < 2**31 else None,
                host if isinstance(host, str) else None)
    except (OSError, ValueError, AttributeError):
        return None, None


def _stale(lock: Path) -> bool:
    """Whether a lock's process is gone. An empty or unreadable lock is stale unless it was made
    in the last ``EMPTY_LOCK_SECONDS`` (an older version of this tool writing it this instant)."""
    pid, host = _holder(lock)
    if pid is None:
        try:
            return time.time() - lock.stat().st_mtime > EMPTY_LOCK_SECONDS
        except FileNotFoundError:
            return True
    return not pid_alive(pid, host)


def held_elsewhere(host: str | None) -> bool:
    """Whether ``host`` names another machine (whose processes cannot be checked from here)."""
    return bool(host) and host != socket.gethostname()


def _in_use(folder: Path, lock: Path, busy: str | Remedy) -> SiameseError:
    pid, host = _holder(lock)
    if held_elsewhere(host):
        take_over = f", or if that process has stopped, delete {lock} to take the folder over"
        busy = dataclasses.replace(busy, after=busy.after + take_over) if isinstance(busy, Remedy) else busy + take_over
        return refusal(f"{folder} is in use by process {pid or 'unknown'} on host {host}, which this machine cannot check", busy)
    return refusal(f"{folder} is in use by another process (pid {pid or 'unknown'})", busy)


def _create_lock(lock: Path) -> None:
    """Create ``lock`` holding this process's pid and host, never visible empty.

    Raises:
        FileExistsError: the lock exists.
    """
    content = json.dumps({"pid": os.getpid(), "host": socket.gethostname()})
    fd, temporary = tempfile.mkstemp(prefix=f"{lock.name}.", suffix=".tmp", dir=lock.parent)
    try:
        os.fchmod(fd, 0o644)  # readable by every user, as an O_CREAT lock was: an unreadable lock would look stale
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temporary, lock)
            return
        except FileExistsError:
            raise
        except OSError:
            pass  # a filesystem without hard links: create it exclusively and remove it if it cannot be written
    finally:
        Path(temporary).unlink(missing_ok=True)
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
    except BaseException:
        lock.unlink(missing_ok=True)
        raise


def leftover_temporary_files(folder: Path) -> list[Path]:
    """Temporary files that ``siamese.runs.atomic_files.atomic_write`` leaves when its process is killed mid-write."""
    return [p for p in folder.iterdir() if _TEMPORARY.match(p.name) and p.is_file()]


def remove_leftovers(folder: Path) -> None:
    """Remove killed writers' temporary files (only when no live process holds the folder)."""
    for path in leftover_temporary_files(folder):
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def exclusive(folder: Path, name: str, busy: str | Remedy) -> Iterator[Path]:
    """Hold the lock file ``folder/name`` while the block runs; ``busy`` ends the refusal sentence.

    Raises:
        SiameseError: another live process holds the lock.
    """
    lock = folder / name
    for _ in range(2):
        try:
            _create_lock(lock)
            break
        except FileExistsError:
            if not _stale(lock):
                raise _in_use(folder, lock, busy) from None
            lock.unlink(missing_ok=True)  # left by a killed process
    else:
        raise refusal(f"{folder} is in use by another process", busy)
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


@contextlib.contextmanager
def claim_run_dir(run_dir: Path, datasets: Sequence[str | os.PathLike[str] | None]) -> Iterator[None]:
    """Claim a new (or empty) run folder for this process until the block ends.

    The folder is created if needed and locked at once, before any data is read or
    TensorFlow is imported, so a second ``train --out`` to the same folder is refused
    even when it starts while the first is still loading. A folder this call created is
    removed again when the block fails before writing anything into it.

    Raises:
        SiameseError: the folder lies in a dataset, holds files, or is being written.
    """
    run_dir = Path(run_dir)
    for dataset in datasets:
        if dataset is not None:
            refuse_inside_dataset(run_dir, dataset, "run folder")
    if run_dir.exists() and not run_dir.is_dir():
        raise SiameseError(f"run folder {run_dir} exists and is not a folder", Remedy(SET, "out"))
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        run_dir.mkdir()
        created = True
    except FileExistsError:
        created = False
    with exclusive(run_dir, TRAIN_LOCK, Remedy(SET, "out", before="wait for it to finish or ", after=" so no run is overwritten")) as lock:
        stale_locks = [run_dir / name for name in LOCKS if name != lock.name and (run_dir / name).exists() and _stale(run_dir / name)]
        ignored = {lock, *stale_locks, *leftover_temporary_files(run_dir)}
        if any(p not in ignored for p in run_dir.iterdir()):
            raise SiameseError(f"run folder {run_dir} already exists and is not empty", Remedy(SET, "out", after=" so no run is overwritten"))
        for path in ignored - {lock}:
            path.unlink(missing_ok=True)
        try:
            yield
        except BaseException:
            if created and [p.name for p in run_dir.iterdir()] == [lock.name]:
                lock.unlink(missing_ok=True)
                run_dir.rmdir()
            raise


def one_writer_per_run(record: Callable[..., T]) -> Callable[..., T]:
    """Let ``record(run, ...)`` write into a run folder in one process at a time.

    A second call on the same run (in any process) is refused while the first runs;
    the temporary files of a killed earlier call are removed first.
    """

    @functools.wraps(record)
    def exclusively(run: Any, *args: Any, **kwargs: Any) -> T:
        if getattr(run, "path", None) is None:  # not a run: ``record`` refuses it (or its options) itself
            return record(run, *args, **kwargs)
        with exclusive(Path(run.path), REPRESENT_LOCK, "wait until its representatives are recorded, then try again"):
            if run.status != "running":  # a live training may be writing its own temporary files
                remove_leftovers(Path(run.path))
            return record(run, *args, **kwargs)

    return exclusively
