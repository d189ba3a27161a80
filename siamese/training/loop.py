"""The training loop's record, the same for one process and for several workers: what the
run learns from its data, its run.json and history.csv after every epoch, its best model,
and how it ends (complete, cancelled or failed).

``siamese.training.single_process`` drives it from a Keras callback; the multi-worker
loop (``siamese.workers.worker``) from its own loop over epochs. Imports no TensorFlow.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from siamese.data.folders import fingerprint
from siamese.runs.atomic_files import write_text
from siamese.runs.layout import HISTORY_FILE, MODEL_FILE, now
from siamese.runs.store import Run, load_run, new_run_info, write_run_info
from siamese.training.config import TrainConfig
from siamese.training.training_set import TrainingData


def has_validation_pairs(labels: np.ndarray) -> bool:
    """Whether validation images make pairs of both kinds: a class with two images and two classes."""
    return bool(len(labels) and np.bincount(labels).max() >= 2 and len(np.unique(labels)) >= 2)


def describe_data(config: TrainConfig, run_dir: Path, data: TrainingData) -> None:
    """Fill in what training learns from the data: paths relative to the run, shape, classes, fingerprint, counts."""
    # Paths are stored relative to the run folder, so a run and its data can move together.
    config.train_dir = os.path.relpath(Path(config.train_dir).resolve(), run_dir.resolve())
    if config.val_dir:
        config.val_dir = os.path.relpath(Path(config.val_dir).resolve(), run_dir.resolve())
    config.input_shape = list(data.input_shape)
    config.class_names = list(data.class_names)
    config.data_fingerprint = fingerprint(data.paths, data.root)
    config.n_train = len(data.train_rows)
    config.n_validation = len(data.val_rows)
    config.n_calibration = len(data.calibration_rows)


def new_info(config: TrainConfig, data: TrainingData, architecture: dict) -> dict:
    """A new run's run.json, with the calibration images ``represent`` embeds to calibrate the threshold."""
    info = new_run_info(config, architecture)
    # Relative to the training folder.
    info["calibration_files"] = [str(data.paths[i].relative_to(data.root)) for i in data.calibration_rows]
    return info


def history_csv(rows: list[dict]) -> str:
    """history.csv's text: one row per finished epoch, the columns of the last one."""
    columns = list(rows[-1])
    return "\n".join([",".join(columns)] + [",".join(f"{r.get(c, '')}" for c in columns) for r in rows]) + "\n"


def best_metrics(rows: list[dict]) -> dict:
    """The logs of the best epoch (lowest val_loss, or loss without validation; the first of equals, a NaN never best)."""
    if not rows:
        return {}
    monitor = "val_loss" if "val_loss" in rows[0] else "loss"

    def value(row: dict) -> float:
        v = float(row.get(monitor, math.inf))
        return math.inf if math.isnan(v) else v

    best = min(rows, key=value)
    return {**{k: v for k, v in best.items() if k not in ("epoch", "seconds")}, "best_epoch": best["epoch"], "monitor": monitor}


class RunRecord:
    """A training run's folder while it trains: run.json, history.csv and the best model, written after every epoch."""

    def __init__(self, run_dir: Path, info: dict, rows: list[dict] | None = None):
        self.run_dir, self.info, self.rows = Path(run_dir), info, list(rows or [])

    def write_info(self) -> None:
        write_run_info(self.run_dir, self.info)

    def end_epoch(self, epoch: int, logs: dict, seconds: float, save_model: Callable[[], None]) -> None:
        """Record epoch ``epoch`` (0-based) with its ``logs`` and the run's ``seconds`` so far; keep its model if it is the best."""
        logs = {k: float(v) for k, v in logs.items()}
        self.rows.append({"epoch": epoch + 1, **logs, "seconds": round(seconds, 3)})
        write_text(self.run_dir / HISTORY_FILE, history_csv(self.rows))
        metrics = best_metrics(self.rows)
        if metrics["best_epoch"] == epoch + 1 or not (self.run_dir / MODEL_FILE).exists():
            save_model()
        self.info.update(epochs_done=epoch + 1, metrics=metrics)
        self.write_info()

    def finish(self, status: str) -> Run:
        """The run ended as ``status`` (complete or cancelled): recorded, and read back."""
        self.info.update(status=status, finished=now(), pid=None)
        self.write_info()
        return load_run(self.run_dir)

    def fail(self, sentence: str) -> None:
        """The run failed, for the reason ``sentence``."""
        self.info.update(status="failed", error=sentence, finished=now(), pid=None)
        self.write_info()
