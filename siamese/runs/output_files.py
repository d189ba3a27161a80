"""Output files the user names (``evaluate --csv``): checked before any work, written atomically.

An output path is refused when it lies inside a dataset the command reads, already
exists (unless replacing it is asked for), is a folder, a symbolic link, or anything
other than a regular file (a device, a FIFO, a socket), so a typo can never replace an
image, follow a link out of place or turn /dev/full into a file. A path inside a run
folder (one holding run.json) is refused too, so ``--csv R/run.json --force`` cannot
replace the run being evaluated.

CSV cells a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return, e.g. a class named ``=HYPERLINK(...)``) are written
with a leading single quote (``spreadsheet_safe``); numbers stay numbers.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from siamese.data.paths import inside
from siamese.errors import SiameseError
from siamese.runs.atomic_files import atomic_write
from siamese.runs.layout import RUN_FILE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def run_folder_holding(path: Path) -> Path | None:
    """The run folder (a folder with a run.json) that ``path`` lies in, or None."""
    for folder in path.parents:
        if (folder / RUN_FILE).is_file():
            return folder
    return None


def spreadsheet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` whose text cells cannot run as spreadsheet formulas: those starting
    with one of ``FORMULA_STARTS`` get a leading single quote. Numeric columns are unchanged."""
    safe = table.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(lambda v: f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v)
    return safe


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
    run_folder = run_folder_holding(target)
    if run_folder is not None:
        raise SiameseError(f"{option} {path} lies inside the run folder {run_folder}; write it outside every run folder so no run file is replaced")
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
