"""The private scratch folder a training decodes its images into, and the removal of those a
killed training left behind.

``train`` decodes the training set into ``images.npy`` in a folder under the system's temporary
folder, so a set larger than memory can be memory-mapped. That file is a decoded copy of the
user's faces: the folder is private (mode 0700, from ``tempfile.mkdtemp``), records its owner's
pid and host, and goes when training ends. A training killed by SIGKILL cannot clean up, so the
next one removes every such folder of this user whose owner is no longer alive.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from siamese.runs.process_alive import pid_alive

PREFIX = "siamese-train-"
OWNER_FILE = "owner.json"
# A folder without an owner file (made by an earlier version, or being set up this instant)
# is stale once it is this old.
UNOWNED_STALE_SECONDS = 60.0


def _stale(folder: Path, info: os.stat_result) -> bool:
    try:
        owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return time.time() - info.st_mtime > UNOWNED_STALE_SECONDS
    except (OSError, ValueError):
        return False
    if not isinstance(owner, dict) or not isinstance(owner.get("pid"), int):
        return False
    host = owner.get("host") if isinstance(owner.get("host"), str) else None
    return not pid_alive(owner["pid"], host) if host in (None, socket.gethostname()) else False


def remove_stale_scratch(parent: str | os.PathLike[str] | None = None) -> list[Path]:
    """Remove this user's scratch folders whose training process is gone; return them."""
    removed = []
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            info = folder.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue  # a link, a file, or another user's folder: never ours to remove
        if _stale(folder, info):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextlib.contextmanager
def scratch_folder() -> Iterator[Path]:
    """A new private folder (mode 0700) for the decoded training set, removed when the block ends;
    stale folders of killed trainings are removed first."""
    remove_stale_scratch()
    with tempfile.TemporaryDirectory(prefix=PREFIX) as folder:
        Path(folder, OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}), encoding="utf-8")
        yield Path(folder)
