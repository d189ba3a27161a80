"""The baseline without learning: nearest class medoid in raw pixel space."""

from __future__ import annotations

import os

import numpy as np

from siamese.data.folders import load_folder, scan_folder
from siamese.errors import SiameseError
from siamese.scoring.distances import class_distances, class_medoids


def raw_pixel_accuracy(train_dir: str | os.PathLike[str], test_dir: str | os.PathLike[str], input_shape=None) -> float:
    """Accuracy of the nearest class medoid in raw pixel space.

    Each class's medoid among its training images (flattened pixels) is its
    representative; a test image gets the class of the nearest one.
    """
    train = load_folder(train_dir, input_shape)
    extra = sorted(set(scan_folder(test_dir).class_names) - set(train.class_names))
    if extra:
        raise SiameseError(f"classes {', '.join(extra)} in {test_dir} are not in the training folder {train_dir}; "
                           "the baseline scores known classes only, so give a test folder with the training folder's classes")
    test = load_folder(test_dir, train.input_shape, train.class_names)
    x_train = train.images.reshape(len(train), -1)
    chosen = class_medoids(x_train, train.labels)
    dist = class_distances(test.images.reshape(len(test), -1), x_train[chosen], train.labels[chosen], len(train.class_names))
    return float((np.argmin(dist, axis=1) == test.labels).mean())
