"""Whether the workers of a run, and a run folder to resume, agree on the training settings.

Each worker sends a hash of every setting (``setting_hashes``), not the values, so the
check is one small collective operation; a differing worker is named with the settings
that differ.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

from siamese.errors import SiameseError
from siamese.runs.store import load_run
from siamese.training.config import TrainConfig

STRATEGY_NAME = "MultiWorkerMirroredStrategy"
# Settings every worker must share; paths may differ between hosts, the data's fingerprint may not.
SHARED_SETTINGS = (
    ("data fingerprint", "data_fingerprint"), ("class names", "class_names"), ("input shape", "input_shape"),
    ("loss", "loss"), ("epochs", "epochs"), ("batch size", "batch_size"), ("margin", "margin"), ("learning rate", "learning_rate"),
    ("seed", "seed"), ("validation split", "validation_split"), ("calibration split", "calibration_split"),
    ("precision", "precision"), ("augment", "augment"), ("validation images", "n_validation"),
)


def setting_hashes(config: TrainConfig) -> np.ndarray:
    """A 31-bit hash of each of ``SHARED_SETTINGS``, for comparing workers without sending the values."""
    return np.array([zlib.crc32(json.dumps(getattr(config, field)).encode()) & 0x7FFFFFFF for _, field in SHARED_SETTINGS], np.int32)


def differing_settings(rows: np.ndarray) -> tuple[int, list[str]] | None:
    """The first worker whose ``setting_hashes`` row differs from worker 0's, and which settings differ."""
    for worker in range(1, len(rows)):
        names = [name for (name, _), a, b in zip(SHARED_SETTINGS, rows[0], rows[worker]) if a != b]
        if names:
            return worker, names
    return None


def resumes(run_dir: Path, config: TrainConfig) -> bool:
    """Whether ``run_dir`` holds a failed multi-worker run of the same settings (resumed), or is new.

    Returns:
        True to resume, False for a new (absent or empty) folder.

    Raises:
        SiameseError: the folder holds anything else; nothing in it is touched.
    """
    if not run_dir.exists() or (run_dir.is_dir() and not any(run_dir.iterdir())):
        return False
    try:
        run = load_run(run_dir)
    except SiameseError:
        run = None
    if run is None or (run.info.get("distribution") or {}).get("strategy") != STRATEGY_NAME or run.status != "failed":
        state = f"a {run.status} run" if run is not None else "files"
        raise SiameseError(f"run folder {run_dir} already exists and holds {state}; choose another --out so no run is overwritten "
                           "(only a failed multi-worker run is resumed, by the same command)")
    differ = differing_settings(np.stack([setting_hashes(run.config), setting_hashes(config)]))
    if differ:
        raise SiameseError(f"run folder {run_dir} holds a failed multi-worker run with another {', '.join(differ[1])}; "
                           "resume it with its own settings and data, or choose another --out")
    return True
