"""The training set's splits: validation and the calibration share, stratified per class and seeded."""

from __future__ import annotations

import numpy as np

from siamese.training.config import TrainConfig
from siamese.training.training_set import load_training_data, split_calibration, split_validation


def test_calibration_holds_out_a_share_of_each_class_of_three_or_more():
    labels = np.repeat([0, 1, 2, 3], [10, 3, 2, 1])
    train, held = split_calibration(labels, 0.15, seed=0)
    # round(10 * 0.15) = 2 (round half to even on 1.5); a class of 3 gives at least 1; classes of 2 and 1 give none
    assert np.bincount(labels[held], minlength=4).tolist() == [2, 1, 0, 0]
    assert sorted(np.r_[train, held].tolist()) == list(range(len(labels)))  # a partition
    np.testing.assert_array_equal(split_calibration(labels, 0.15, seed=0)[1], held)  # seeded
    assert split_calibration(labels, 0.0, seed=0)[1].size == 0  # 0 turns it off


def test_validation_keeps_two_images_per_class_for_a_positive_pair():
    labels = np.repeat([0, 1], [10, 3])
    train, val = split_validation(labels, 0.5, seed=1)
    assert np.bincount(labels[val]).tolist() == [5, 1]  # class 1: round(1.5) = 2 would leave 1
    assert np.bincount(labels[train]).tolist() == [5, 2]


def test_training_data_is_decoded_once_and_split_three_ways(tiny_data, tmp_path):
    config = TrainConfig(train_dir=str(tiny_data / "train"), validation_split=0.2, calibration_split=0.2)
    data = load_training_data(config, tmp_path)
    assert data.input_shape == (60, 80, 3) and len(data.paths) == len(data.labels) == 24
    rows = np.r_[data.train_rows, data.val_rows, data.calibration_rows]
    assert sorted(rows.tolist()) == list(range(24))  # every image in exactly one part
    assert len(data.calibration_rows) == 4 and len(data.val_rows) > 0  # one per class of 6 held out
    assert (tmp_path / "images.npy").exists()  # memory-mapped, not held in RAM
