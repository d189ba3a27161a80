"""A run folder on disk: the names of its files, creating a new one, asking its training to stop.

Everything that writes or reads a run folder (training, represent, import-h5, jobs, the
run store) takes the file names from here, so the layout is written down once.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

from siamese.errors import Remedy
from siamese.runs.atomic_files import write_text
from siamese.runs.schema import read_json_object

MODEL_FILE = "model.keras"
RUN_FILE = "run.json"
HISTORY_FILE = "history.csv"
CANCEL_FILE = "cancel.request"
REPRESENTATIVES_FILE = "representatives.json"
REPRESENTATIVE_EMBEDDINGS_FILE = "representatives.npz"
REPRESENTATIVE_COPIES = "representatives"  # a folder: a copy of each representative image, per class
MAP_FILE = "map.csv"
TRAIN_EMBEDDINGS_FILE = "embeddings.npy"
GALLERY_FILE = "gallery.json"  # people enrolled after training (siamese.gallery)
GALLERY_EMBEDDINGS_FILE = "gallery.npz"
GALLERY_IMAGES = "gallery"  # a folder: a copy of each enrolled person's reference images, per person


def now() -> str:
    """The current UTC time to the second, as run.json and job files record it."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def read_json(path: Path, what: str | Remedy) -> dict[str, Any]:
    """A JSON object from a run's (or job's) file; ``what`` says what to do when it is missing.

    Raises:
        SiameseError: the file is missing, not a regular file, too large or too deeply
            nested (``siamese.runs.schema.read_json_object``), not JSON, or not an object.
    """
    return read_json_object(path, what)


def request_cancel(run_dir: str | os.PathLike[str]) -> None:
    """Ask a training run (in any process) to stop after its current batch."""
    write_text(Path(run_dir) / CANCEL_FILE, now())


def cancel_requested(run_dir: Path) -> bool:
    """Whether someone asked the training in ``run_dir`` to stop (``request_cancel``)."""
    return (run_dir / CANCEL_FILE).exists()


def clear_cancel_request(run_dir: Path) -> None:
    """Remove a cancel request once training has stopped (a finished run keeps none)."""
    (run_dir / CANCEL_FILE).unlink(missing_ok=True)
