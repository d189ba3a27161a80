"""Euclidean distances between embeddings, per-class distances, and medoids (pure numpy)."""

from __future__ import annotations

import numpy as np

# The floor under a squared distance, so its square root has a finite gradient; the
# model's distance layer (siamese.model.network) imports it from here.
EPSILON = 1e-7


def squared_norms(x: np.ndarray) -> np.ndarray:
    """Each row's squared length, without a temporary as large as ``x``."""
    x = np.asarray(x, np.float64)
    return np.einsum("ij,ij->i", x, x)


def pairwise_distances(a: np.ndarray, b: np.ndarray, b_squared: np.ndarray | None = None) -> np.ndarray:
    """Euclidean distances (n, m) between rows, sqrt(max(sum((a-b)^2), eps)) as the model's layer.

    ``b_squared``: ``squared_norms(b)`` when the caller keeps it (a large gallery, probed often).
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    squared = squared_norms(a)[:, None] + (squared_norms(b) if b_squared is None else b_squared)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, EPSILON))


def class_distances(
    embeddings: np.ndarray, points: np.ndarray, point_labels: np.ndarray, n_classes: int, k: int | np.ndarray = 1,
    points_squared: np.ndarray | None = None,
) -> np.ndarray:
    """Per class, the distance to that class's points: shape (n, n_classes).

    With ``k`` = 1 the distance to the class's nearest point (a class with K
    representatives is scored by the nearest of them); with larger ``k`` the mean
    distance to its k nearest points (fewer when the class has fewer). A class without
    points gets an infinite distance. ``k`` may be one number per class.
    """
    return per_class(pairwise_distances(embeddings, points, points_squared), point_labels, n_classes, k)


# Past this many classes (a large gallery) the classes are reduced together, grouped by
# sorting, instead of one mask per class (which costs classes x points per image).
GROUPED_CLASSES = 256


def per_class(dist: np.ndarray, point_labels: np.ndarray, n_classes: int, k: int | np.ndarray = 1) -> np.ndarray:
    """``class_distances`` from a distance matrix (n, P) to labelled points (``k``: one, or one per class)."""
    ks = np.broadcast_to(np.asarray(k, np.int64), (n_classes,))
    if n_classes > GROUPED_CLASSES:
        return _per_class_grouped(dist, np.asarray(point_labels, np.int64), n_classes, ks)
    out = np.full((len(dist), n_classes), np.inf)
    for c in range(n_classes):
        members = np.flatnonzero(point_labels == c)
        if not members.size:
            continue
        d = dist[:, members]
        if ks[c] <= 1:
            out[:, c] = d.min(axis=1)
        else:
            take = min(int(ks[c]), members.size)
            out[:, c] = np.partition(d, take - 1, axis=1)[:, :take].mean(axis=1)
    return out


def _per_class_grouped(dist: np.ndarray, point_labels: np.ndarray, n_classes: int, ks: np.ndarray) -> np.ndarray:
    """``per_class`` for many classes: the points grouped by class once (a sort, skipped when
    they come in class order, as a run's gallery does); a class with at most ``k`` points is
    the mean of them all, a larger one the mean of its ``k`` nearest."""
    out = np.full((len(dist), n_classes), np.inf)
    if not len(point_labels):
        return out
    dist = np.asarray(dist, np.float64)
    if (point_labels[1:] < point_labels[:-1]).any():
        order = np.argsort(point_labels, kind="stable")
        point_labels, dist = point_labels[order], dist[:, order]
    starts = np.flatnonzero(np.r_[True, point_labels[1:] != point_labels[:-1]])
    present = point_labels[starts]
    counts = np.diff(np.r_[starts, len(point_labels)])
    take = np.minimum(np.maximum(ks[present], 1), counts)
    nearest = take == 1
    if nearest.any():
        out[:, present[nearest]] = np.minimum.reduceat(dist, starts, axis=1)[:, nearest]
    whole = (take == counts) & ~nearest  # the mean of all the class's points
    if whole.any():
        out[:, present[whole]] = (np.add.reduceat(dist, starts, axis=1) / counts)[:, whole]
    some = np.flatnonzero(~nearest & ~whole)
    if some.size:  # padded to the largest such class, sorted, then the mean of each class's k smallest
        width = int(counts[some].max())
        columns = starts[some][:, None] + np.arange(width)[None, :]
        valid = np.arange(width)[None, :] < counts[some][:, None]
        padded = np.sort(np.where(valid, dist[:, np.minimum(columns, dist.shape[1] - 1)], np.inf), axis=2)
        first = np.arange(width)[None, :] < take[some][:, None]
        out[:, present[some]] = np.where(first, padded, 0.0).sum(axis=2) / take[some]
    return out


def medoids(points: np.ndarray, k: int = 1) -> np.ndarray:
    """Indices of k medoids of ``points`` (n, d), chosen greedily (PAM's BUILD step).

    The first is the point with the smallest total distance to all others (the
    medoid); each next one is the point that most lowers the total distance of every
    point to its nearest chosen medoid. With k >= n every point is returned.
    """
    n = len(points)
    if n == 0:
        return np.zeros(0, np.int64)
    dist = pairwise_distances(points, points)
    np.fill_diagonal(dist, 0.0)
    chosen = [int(np.argmin(dist.sum(axis=1)))]
    nearest = dist[chosen[0]].copy()
    while len(chosen) < min(k, n):
        cost = np.minimum(dist, nearest[None, :]).sum(axis=1)
        cost[chosen] = np.inf
        best = int(np.argmin(cost))
        chosen.append(best)
        nearest = np.minimum(nearest, dist[best])
    return np.asarray(chosen, np.int64)


def class_medoids(points: np.ndarray, labels: np.ndarray, k: int = 1) -> np.ndarray:
    """Indices (into ``points``) of k medoids per class, class by class in label order."""
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        chosen.append(members[medoids(points[members], k)])
    return np.concatenate(chosen)
