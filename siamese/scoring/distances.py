"""Euclidean distances between embeddings, per-class distances, and medoids (pure numpy)."""

from __future__ import annotations

import numpy as np

# The floor under a squared distance, so its square root has a finite gradient; the
# model's distance layer (siamese.model.network) imports it from here.
EPSILON = 1e-7


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (n, m) between rows, sqrt(max(sum((a-b)^2), eps)) as the model's layer."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, EPSILON))


def class_distances(embeddings: np.ndarray, points: np.ndarray, point_labels: np.ndarray, n_classes: int, k: int = 1) -> np.ndarray:
    """Per class, the distance to that class's points: shape (n, n_classes).

    With ``k`` = 1 the distance to the class's nearest point (a class with K
    representatives is scored by the nearest of them); with larger ``k`` the mean
    distance to its k nearest points (fewer when the class has fewer). A class without
    points gets an infinite distance.
    """
    return per_class(pairwise_distances(embeddings, points), point_labels, n_classes, k)


# Past this many classes (a large gallery) the classes are reduced together, grouped by
# sorting, instead of one mask per class (which costs classes x points per image).
GROUPED_CLASSES = 256


def per_class(dist: np.ndarray, point_labels: np.ndarray, n_classes: int, k: int = 1) -> np.ndarray:
    """``class_distances`` from a distance matrix (n, P) to labelled points."""
    if n_classes > GROUPED_CLASSES:
        return _per_class_grouped(dist, np.asarray(point_labels, np.int64), n_classes, k)
    out = np.full((len(dist), n_classes), np.inf)
    for c in range(n_classes):
        members = np.flatnonzero(point_labels == c)
        if not members.size:
            continue
        d = dist[:, members]
        if k <= 1:
            out[:, c] = d.min(axis=1)
        else:
            take = min(k, members.size)
            out[:, c] = np.partition(d, take - 1, axis=1)[:, :take].mean(axis=1)
    return out


def _per_class_grouped(dist: np.ndarray, point_labels: np.ndarray, n_classes: int, k: int) -> np.ndarray:
    """``per_class`` for many classes: points sorted by class once, each row reduced per group."""
    out = np.full((len(dist), n_classes), np.inf)
    if not len(point_labels):
        return out
    order = np.argsort(point_labels, kind="stable")
    labels = point_labels[order]
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    present = labels[starts]
    if k <= 1:
        out[:, present] = np.minimum.reduceat(dist[:, order], starts, axis=1)
        return out
    counts = np.diff(np.r_[starts, len(labels)])
    group = np.repeat(np.arange(len(starts)), counts)
    rank_in_group = np.arange(len(labels)) - np.repeat(starts, counts)
    take = np.minimum(counts, k)
    for i, row in enumerate(np.asarray(dist)[:, order]):
        within = np.lexsort((row, group))  # by class, nearest first within each
        keep = within[rank_in_group < np.repeat(take, counts)]
        out[i, present] = np.bincount(group[keep], weights=row[keep], minlength=len(starts)) / take
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
