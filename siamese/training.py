"""Training a siamese network into a run directory, with progress, best-model keeping and cancel."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from siamese.data import Dataset, load_folder
from siamese.errors import SiameseError
from siamese.runs import CANCEL_FILE, HISTORY_FILE, MODEL_FILE, Run, TrainConfig, fingerprint, load_run, new_run_info, now, write_run_info
from siamese.storage import atomic_write, write_text

log = logging.getLogger("siamese")


def split_validation(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of indices: per class, round(n * fraction) go to validation.

    A class keeps at least two training images (one positive pair), so small classes
    may give none to validation.
    """
    rng = np.random.default_rng(seed)
    train, val = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_val = min(int(round(idx.size * fraction)), max(idx.size - 2, 0))
        val.extend(idx[:n_val])
        train.extend(idx[n_val:])
    return np.sort(np.asarray(train, np.int64)), np.sort(np.asarray(val, np.int64))


def _pair_dataset_class():
    from siamese.backend import keras
    from siamese.pairs import make_pairs

    class PairBatches(keras.utils.PyDataset):
        """Batches of (left, right) image pairs, freshly sampled every epoch."""

        def __init__(self, images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, resample: bool):
            super().__init__()
            self.images, self.labels, self.batch_size = images, labels, batch_size
            self.rng = np.random.default_rng(seed)
            self.resample = resample
            self._sample()

        def _sample(self) -> None:
            left, right, same = make_pairs(self.labels, self.rng)
            order = self.rng.permutation(left.size)
            self.left, self.right, self.same = left[order], right[order], same[order]

        def __len__(self) -> int:
            return math.ceil(self.left.size / self.batch_size)

        def __getitem__(self, i: int):
            s = slice(i * self.batch_size, (i + 1) * self.batch_size)
            return (self.images[self.left[s]], self.images[self.right[s]]), self.same[s]

        def on_epoch_end(self) -> None:
            if self.resample:
                self._sample()

    return PairBatches


def _recorder_class():
    from siamese.backend import keras

    class RunRecorder(keras.callbacks.Callback):
        """Writes history.csv and run.json every epoch, keeps the best model, honours cancel."""

        def __init__(self, run_dir: Path, info: dict, monitor: str):
            super().__init__()
            self.run_dir, self.info, self.monitor = run_dir, info, monitor
            self.rows: list[dict] = []
            self.best = math.inf
            self.started = time.monotonic()
            self.cancelled = False

        def on_train_batch_end(self, batch, logs=None):
            if (self.run_dir / CANCEL_FILE).exists():
                self.cancelled = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: float(v) for k, v in (logs or {}).items()}
            row = {"epoch": epoch + 1, **logs, "seconds": round(time.monotonic() - self.started, 3)}
            self.rows.append(row)
            columns = list(row)
            lines = [",".join(columns)] + [",".join(f"{r.get(c, '')}" for c in columns) for r in self.rows]
            write_text(self.run_dir / HISTORY_FILE, "\n".join(lines) + "\n")
            value = logs.get(self.monitor, math.inf)
            if value < self.best or not (self.run_dir / MODEL_FILE).exists():
                self.best = value
                atomic_write(self.run_dir / MODEL_FILE, lambda tmp: self.model.save(tmp), suffix=".keras")
                self.info["metrics"] = {**logs, "best_epoch": epoch + 1, "monitor": self.monitor}
            self.info["epochs_done"] = epoch + 1
            write_run_info(self.run_dir, self.info)

    return RunRecorder


def prepare_run_dir(run_dir: Path, data_root: Path) -> None:
    """Create a new, empty run folder; refuse one that holds files or lies in the dataset."""
    data = data_root.resolve()
    if run_dir.resolve() == data or data in run_dir.resolve().parents:
        raise SiameseError(f"run folder {run_dir} lies inside the dataset {data_root}; choose a folder outside it so the dataset is left unchanged")
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise SiameseError(f"run folder {run_dir} already exists and is not empty; choose another --out so no run is overwritten")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(exist_ok=True)


def load_training_data(config: TrainConfig) -> tuple[Dataset, Dataset | None]:
    """The training set and the validation set (from val_dir or a split), as configured."""
    shape = tuple(config.input_shape) if config.input_shape else None
    data = load_folder(config.train_dir, shape)
    if len(data.class_names) < 2:
        raise SiameseError(f"training data {config.train_dir} has {len(data.class_names)} class; a siamese network needs at least two class folders")
    counts = np.bincount(data.labels, minlength=len(data.class_names))
    for name, n in zip(data.class_names, counts):
        if n < 2:
            log.warning("class %s has %d image: it gives no same-class pair and only serves as a negative", name, n)
    if counts.max() < 2:
        raise SiameseError(f"no class in {config.train_dir} has two images; each class needs at least two images to form a same-class pair")
    val = None
    if config.val_dir:
        val = load_folder(config.val_dir, data.input_shape, data.class_names)
    elif config.validation_split > 0:
        train_idx, val_idx = split_validation(data.labels, config.validation_split, config.seed)
        if val_idx.size:
            val = Dataset(data.images[val_idx], data.labels[val_idx], data.class_names, [data.paths[i] for i in val_idx], [], data.root)
        data = Dataset(data.images[train_idx], data.labels[train_idx], data.class_names, [data.paths[i] for i in train_idx], data.skipped, data.root)
    return data, val


def train(
    config: TrainConfig,
    run_dir: str | os.PathLike[str],
    verbose: int | str = "auto",
    strategy=None,
    extra_callbacks: Sequence = (),
) -> Run:
    """Train a siamese network and write the run directory.

    Args:
        config: every training setting; ``train_dir`` is read, never written.
        run_dir: a new (or empty) folder for the run.
        verbose: Keras's progress display: 1 a progress bar, 2 a line per epoch, 0 none.
        strategy: a ``tf.distribute`` strategy to build and train the model under.
        extra_callbacks: more Keras callbacks (the dashboard needs none; tests use them).

    Returns:
        The finished run. Ctrl-C (KeyboardInterrupt) or a cancel request marks it
        cancelled; an exception marks it failed and is raised again.
    """
    config.validate()
    run_dir = Path(run_dir)
    data, val = load_training_data(config)
    prepare_run_dir(run_dir, data.root)
    # Paths are stored relative to the run folder, so a run and its data can move together.
    config.train_dir = os.path.relpath(Path(config.train_dir).resolve(), run_dir.resolve())
    if config.val_dir:
        config.val_dir = os.path.relpath(Path(config.val_dir).resolve(), run_dir.resolve())
    config.input_shape = list(data.input_shape)
    config.class_names = list(data.class_names)
    config.data_fingerprint = fingerprint(data.paths, data.root)
    config.n_train = len(data)
    config.n_validation = len(val) if val is not None else 0

    from siamese.backend import keras
    from siamese.model import build_embedding_network, build_siamese, compile_siamese, plan_architecture

    keras.utils.set_random_seed(config.seed)
    info = new_run_info(config, plan_architecture(data.input_shape))
    write_run_info(run_dir, info)
    try:
        scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
        with scope:
            model = build_siamese(build_embedding_network(data.input_shape))
            compile_siamese(model, config.margin, config.learning_rate)
        pairs = _pair_dataset_class()
        train_batches = pairs(data.images, data.labels, config.batch_size, config.seed, resample=True)
        val_batches = None
        if val is not None and np.bincount(val.labels).max() >= 2 and len(np.unique(val.labels)) >= 2:
            val_batches = pairs(val.images, val.labels, config.batch_size, config.seed + 1, resample=False)
        recorder = _recorder_class()(run_dir, info, "val_loss" if val_batches is not None else "loss")
        try:
            model.fit(
                train_batches,
                validation_data=val_batches,
                epochs=config.epochs,
                verbose=verbose,
                callbacks=[recorder, *extra_callbacks],
            )
            info["status"] = "cancelled" if recorder.cancelled else "complete"
        except KeyboardInterrupt:
            info["status"] = "cancelled"
    except BaseException as exc:
        info["status"] = "failed"
        info["error"] = f"{exc.__class__.__name__}: {exc}"
        info["finished"] = now()
        write_run_info(run_dir, info)
        raise
    info["finished"] = now()
    info["pid"] = None
    (run_dir / CANCEL_FILE).unlink(missing_ok=True)
    write_run_info(run_dir, info)
    return load_run(run_dir)




def request_cancel(run_dir: str | os.PathLike[str]) -> None:
    """Ask a training run (in any process) to stop after its current batch."""
    write_text(Path(run_dir) / CANCEL_FILE, now())

