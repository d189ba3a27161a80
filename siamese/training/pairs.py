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


def balanced_batches(labels: np.ndarray, batch_size: int, images_per_class: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch of class-balanced batches for the triplet loss (P classes x K images each).

    Each batch holds ``K = images_per_class`` images of each of ``P = batch_size // K``
    classes drawn at random (all classes when there are fewer; K then grows so a batch
    still holds about ``batch_size`` images), so every image has same-class and
    other-class partners inside its batch to mine triplets from. A class with fewer than
    K images lends some twice. An epoch shows as many images as the contrastive loss's
    pairs hold (two per image): about ``2 * len(labels) / batch_size`` batches.

    Returns:
        Image indices of each batch.
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    if classes.size < 2:
        raise ValueError("balanced batches need at least two classes")
    members = {c: np.flatnonzero(labels == c) for c in classes}
    k = max(2, images_per_class)
    p = min(classes.size, max(2, batch_size // k))
    if p == classes.size:
        k = max(k, batch_size // p)
    n_batches = max(1, -(-2 * labels.size // (p * k)))
    batches = []
    for _ in range(n_batches):
        chosen = rng.choice(classes, size=p, replace=False)
        batch = [rng.choice(members[c], size=k, replace=members[c].size < k) for c in chosen]
        batches.append(np.concatenate(batch).astype(np.int64))
    return batches
