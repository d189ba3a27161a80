"""Paths: whether one lies inside another (``..`` and links resolved); a file checked from its ``stat`` before it is opened."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from siamese.errors import Remedy, refusal


def inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is ``folder`` or lies somewhere under it, both resolved first (a path
    that cannot be resolved, a symbolic link loop, lies nowhere)."""
    try:
        path, folder = Path(path).resolve(), Path(folder).resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a link loop, later versions OSError
        return False
    return path == folder or folder in path.parents


def check_regular_file(path: str | os.PathLike[str], limit: int, what_to_do: str | Remedy | None, *,
                       name: str = "", missing: str | Remedy | None = None, noun: str = "a regular file") -> os.stat_result:
    """The ``stat`` of ``path`` if it is a regular file of at most ``limit`` bytes; judged before
    anything opens it (a FIFO would hang a read, a device never end).

    ``name`` goes before the path in the sentence ("model file "), ``what_to_do`` after it
    (``missing`` instead when the file does not exist), ``noun`` says what a folder is not.

    Raises:
        SiameseError: one sentence: the file is missing, unreadable, not a regular file or too large.
    """
    label = f"{name}{path}"
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise refusal(f"{label} is missing", what_to_do if missing is None else missing) from None
    except OSError as exc:
        raise refusal(f"{label} cannot be read ({exc.strerror or exc})", what_to_do) from None
    if stat.S_ISDIR(info.st_mode):
        raise refusal(f"{label} is a folder, not {noun}", what_to_do)
    if not stat.S_ISREG(info.st_mode):
        raise refusal(f"{label} is not a regular file (a FIFO, device or socket)", what_to_do)
    if info.st_size > limit:
        raise refusal(f"{label} is {info.st_size:,} bytes, more than the limit of {limit:,}", what_to_do)
    return info
