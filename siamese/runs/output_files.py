"""Output files the user names (``evaluate --csv``): checked before any work, written atomically.

An output path is refused when it lies inside a dataset the command reads, already
exists (unless replacing it is asked for), is a folder, a symbolic link, or anything
other than a regular file (a device, a FIFO, a socket), so a typo can never replace an
image, follow a link out of place or turn /dev/full into a file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from siamese.data.paths import inside
from siamese.errors import SiameseError
from siamese.runs.atomic_files import atomic_write


def check_output_file(path: str | os.PathLike[str], datasets: Iterable[str | os.PathLike[str] | None], force: bool,
                      option: str = "--csv") -> Path:
    """Refuse an output file path that is unsafe to write; return it.

    Args:
        path: the file to write.
        datasets: the folders the command reads (None entries are ignored).
        force: whether an existing regular file may be replaced.
        option: the option that named the path, for the message.

    Raises:
        SiameseError: one sentence naming the path, what is wrong and what to do.
    """
    path = Path(path)
    target = path.resolve()
    for dataset in datasets:
        if dataset is None:
            continue
        if inside(target, dataset):
            raise SiameseError(f"{option} {path} lies inside the dataset {dataset}; write it outside every dataset so the data stays unchanged")
    try:
        info = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise SiameseError(f"{option} {path}: {blocking} is not a folder; give a path whose folders are folders") from None
        return path
    if stat.S_ISLNK(info.st_mode):
        raise SiameseError(f"{option} {path} is a symbolic link; give the path of a plain file (links are never written through)")
    if stat.S_ISDIR(info.st_mode):
        raise SiameseError(f"{option} {path} is a folder; give a file name such as {path / 'results.csv'}")
    if not stat.S_ISREG(info.st_mode):
        raise SiameseError(f"{option} {path} is not a regular file (a device, FIFO or socket); give the path of a plain file")
    if not force:
        raise SiameseError(f"{option} {path} already exists; add --force to replace it, or give another file name")
    return path


def write_output_file(path: Path, write: Callable[[Path], None]) -> None:
    """Write a checked output file atomically (its folder is created when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)
