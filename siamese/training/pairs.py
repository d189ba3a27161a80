"""Training pairs: consecutive same-class positives, each matched by a random negative."""

from __future__ import annotations

import numpy as np


def make_pairs(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample one epoch of pairs, as the original did, but fresh and seeded.

    Within each class the images are shuffled, then every two consecutive images form
    a positive pair (a class of n images gives n - 1). Each positive (a, b) is matched
    by a negative (a, c) with c drawn from a random other class. A class with a single
    image yields no positive, but still appears as a negative partner, so every class
    takes part whatever its size.

    Args:
        labels: class index per image, shape (N,).
        rng: the random generator; one per training run, so epochs differ but a run
            can be repeated with the same seed.

    Returns:
        (left, right, same): image indices of each pair and 1.0 for same-class pairs,
        0.0 otherwise, interleaved positive, negative, positive, ...
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if classes.size < 2:
        raise ValueError("pairs need at least two classes")
    members = {c: rng.permutation(np.flatnonzero(labels == c)) for c in classes}
    left: list[int] = []
    right: list[int] = []
    same: list[float] = []
    for c in classes:
        idx = members[c]
        others = classes[classes != c]
        for a, b in zip(idx[:-1], idx[1:]):
            other = others[rng.integers(others.size)]
            negative = members[other][rng.integers(members[other].size)]
            left += [a, a]
            right += [b, negative]
            same += [1.0, 0.0]
    return np.asarray(left, np.int64), np.asarray(right, np.int64), np.asarray(same, np.float32)
