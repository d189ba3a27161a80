"""The baseline without learning: nearest class medoid in raw pixel space."""

from __future__ import annotations

import os

import numpy as np

from siamese.data import load_folder
from siamese.distances import class_distances, class_medoids


def raw_pixel_accuracy(train_dir: str | os.PathLike[str], test_dir: str | os.PathLike[str], input_shape=None) -> float:
    """Accuracy of the nearest class medoid in raw pixel space.

    Each class's medoid among its training images (flattened pixels) is its
    representative; a test image gets the class of the nearest one.
    """
    train = load_folder(train_dir, input_shape)
    test = load_folder(test_dir, train.input_shape, train.class_names)
    x_train = train.images.reshape(len(train), -1)
    chosen = class_medoids(x_train, train.labels)
    dist = class_distances(test.images.reshape(len(test), -1), x_train[chosen], train.labels[chosen], len(train.class_names))
    return float((np.argmin(dist, axis=1) == test.labels).mean())
