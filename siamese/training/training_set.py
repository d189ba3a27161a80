"""The training set: images decoded once into a memory-mapped file, split into training,
validation and the calibration share that training never sees."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

from siamese.data.folders import Shape, infer_shape, iter_batches, scan_folder
from siamese.data.thermal_pixels import PixelMapping, resolve_palette
from siamese.errors import SiameseError
from siamese.scoring.metrics import UNKNOWN
from siamese.training.config import TrainConfig

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


def split_calibration(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified hold-out of known images for calibrating the threshold.

    Per class with three or more images, max(1, round(n * fraction)) are held out, and
    at least two stay for training (one positive pair); smaller classes hold none out.
    These images are never used for weight updates, so their distances show where
    known faces the network has not fitted fall, which training images cannot.

    Returns:
        (train, calibration) sorted indices into ``labels``.
    """
    rng = np.random.default_rng([seed, 1])
    train, held = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_held = min(max(1, int(round(idx.size * fraction))), idx.size - 2) if fraction > 0 and idx.size >= 3 else 0
        held.extend(idx[:n_held])
        train.extend(idx[n_held:])
    return np.sort(np.asarray(train, np.int64)), np.sort(np.asarray(held, np.int64))


@dataclass
class TrainingData:
    """Training (and validation) images decoded once into a memory-mapped file.

    Attributes:
        images: every readable image (N, H, W, C) float32, backed by a file, not RAM.
        labels: class index of each image.
        class_names: the class folder names.
        paths: the file of each image.
        root: the training data folder.
        train_rows: the rows of ``images`` to train on.
        val_rows: the rows to validate on (empty without validation).
        calibration_rows: training-folder rows held out for the threshold (never trained on).
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    paths: list[Path]
    root: Path
    train_rows: np.ndarray
    val_rows: np.ndarray
    calibration_rows: np.ndarray

    @property
    def input_shape(self) -> Shape:
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]


def decode_to_file(paths: Sequence[Path], input_shape: Shape, path: Path, pixels: PixelMapping | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Decode image files batch by batch into a .npy file and map it.

    Returns:
        (images, kept): the memory-mapped images of the readable files, and their
        positions in ``paths``. Memory use is one batch, whatever the data size.
    """
    images = open_memmap(path, mode="w+", dtype=np.float32, shape=(max(len(paths), 1), *input_shape))
    kept: list[np.ndarray] = []
    done = 0
    for batch, positions, _ in iter_batches(paths, input_shape, pixels=pixels):
        images[done : done + len(batch)] = batch
        done += len(batch)
        kept.append(positions)
    images.flush()
    return images[:done], np.concatenate(kept) if kept else np.zeros(0, np.int64)


def load_training_data(config: TrainConfig, workdir: Path) -> TrainingData:
    """The training and validation images (from val_dir or a split), decoded into one file under ``workdir``."""
    listing = scan_folder(config.train_dir)
    config.palette = resolve_palette(config.palette, listing.paths)  # "auto" is recorded as the palette it found
    pixels = PixelMapping.from_config(config)
    shape = tuple(config.input_shape) if config.input_shape else infer_shape(listing.paths, pixels)
    if UNKNOWN in listing.class_names:
        raise SiameseError(f"training data {config.train_dir} has a class folder named {UNKNOWN!r}, the word the tool gives "
                           f"rejected images, so its verdicts could not be told apart; train on a copy with that folder renamed")
    if len(listing.class_names) < 2:
        raise SiameseError(f"training data {config.train_dir} has {len(listing.class_names)} class; a siamese network needs at least two class folders")
    val_listing = scan_folder(config.val_dir, listing.class_names) if config.val_dir else None
    n_train_files = len(listing.paths)
    every_path = listing.paths + (val_listing.paths if val_listing else [])
    images, kept = decode_to_file(every_path, shape, workdir / "images.npy", pixels)  # type: ignore[arg-type]
    is_train = kept < n_train_files
    if not is_train.any():
        raise SiameseError(f"no image in {listing.root} could be read; check that the files are PNG, JPEG, BMP or TIFF images")
    labels = np.r_[listing.labels, val_listing.labels if val_listing else np.zeros(0, np.int64)][kept]
    counts = np.bincount(labels[is_train], minlength=len(listing.class_names))
    for name, n in zip(listing.class_names, counts):
        if n < 2:
            log.warning("class %s has %d image: it gives no same-class pair and only serves as a negative", name, n)
    if counts.max() < 2:
        raise SiameseError(f"no class in {config.train_dir} has two images; each class needs at least two images to form a same-class pair")
    folder_rows, val_rows = np.flatnonzero(is_train), np.flatnonzero(~is_train)
    kept_rows, held = split_calibration(labels[folder_rows], config.calibration_split, config.seed)
    train_rows, calibration_rows = folder_rows[kept_rows], folder_rows[held]
    if not val_listing and config.validation_split > 0:
        fraction = config.validation_split / (1.0 - config.calibration_split)  # of the whole folder, as documented
        keep, val = split_validation(labels[train_rows], fraction, config.seed)
        train_rows, val_rows = train_rows[keep], train_rows[val]
    paths = [every_path[i] for i in kept[is_train]]
    return TrainingData(images, labels, listing.class_names, paths, listing.root, train_rows, val_rows, calibration_rows)
