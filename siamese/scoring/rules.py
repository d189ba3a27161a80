"""Scoring rules: how far an embedding is from each known class.

Every rule measures the distance to a class's reference points and takes the nearest
(or the mean of the k nearest); they differ in the points and the space:

- ``medoid``: the class's chosen representatives (K per class: the nearest of K);
  the original's rule with one t-SNE medoid per class.
- ``centroid``: the mean embedding of the class's training images.
- ``knn``: the mean distance to the class's k nearest training images.
- ``mahalanobis``: the distance to the class mean after whitening with the shared
  within-class covariance (Ledoit-Wolf shrinkage), so directions in which a class
  varies a lot count less than directions in which classes never vary.

All are computed from embeddings the run stores (training images and
representatives), so the rules can be compared without a forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from siamese.scoring.distances import class_distances, pairwise_distances, per_class, squared_norms

RULES = ("medoid", "centroid", "knn", "mahalanobis")
DEFAULT_RULE = "knn"  # better than the nearest medoid on every dataset measured (docs/open-set.md)
DEFAULT_K = 5
ENROLLED_K = 1  # knn: an enrolled person is measured by their nearest reference image (extend_scorer)
TRAINING_BLOCK = 1024  # rows of training distances computed at once (knn)
RULE_LABELS = {
    "medoid": "nearest representative",
    "centroid": "class mean",
    "knn": "k nearest training images",
    "mahalanobis": "Mahalanobis to the class mean",
}


@dataclass(frozen=True)
class Scorer:
    """A fitted rule: reference points (in a possibly whitened space) per class.

    Attributes:
        rule: one of ``RULES``.
        n_classes: the run's number of classes.
        points: reference points (P, D') in the scoring space.
        labels: class index of each point.
        k: points averaged per class (1: the nearest).
        whitening: (D, D') matrix applied to embeddings before measuring, or None.
        class_k: points averaged for each class, when it differs between classes (people
            enrolled after training, ``extend_scorer``), else None.
    """

    rule: str
    n_classes: int
    points: np.ndarray
    labels: np.ndarray
    k: int = 1
    whitening: np.ndarray | None = None
    class_k: np.ndarray | None = None

    def class_distances(self, embeddings: np.ndarray) -> np.ndarray:
        """Distances (n, n_classes) of embeddings (n, D) to every class."""
        x = np.asarray(embeddings, np.float64)
        if self.whitening is not None:
            x = x @ self.whitening
        k = self.k if self.class_k is None else self.class_k
        return class_distances(x, self.points, self.labels, self.n_classes, k, self.points_squared)

    @cached_property
    def points_squared(self) -> np.ndarray:
        """The points' squared lengths, computed once (a large gallery is probed many times)."""
        return squared_norms(self.points)

    def training_distances(self, embeddings: np.ndarray) -> np.ndarray:
        """Class distances of the training images the rule was fitted on (same rows as
        its points for ``knn``), each image left out of its own neighbours; for the other
        rules the same as ``class_distances``."""
        if self.rule != "knn":
            return self.class_distances(embeddings)
        # In blocks of rows: the whole (N, N) matrix would take 2 GB at 16,000 images, and
        # its temporaries three times that (5.5 GB peak for represent at 200 classes).
        out = np.empty((len(embeddings), self.n_classes))
        for start in range(0, len(embeddings), TRAINING_BLOCK):
            dist = pairwise_distances(embeddings[start : start + TRAINING_BLOCK], self.points)
            rows = np.arange(len(dist))
            dist[rows, start + rows] = np.inf  # each image left out of its own neighbours
            out[start : start + len(dist)] = per_class(dist, self.labels, self.n_classes, self.k)
        return out

    def describe(self) -> str:
        return f"{self.rule} (k={self.k})" if self.rule == "knn" else self.rule


def shared_whitening(embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class means (C', D), whitening W (D, D)) with W W^T the inverse of the shared
    within-class covariance, estimated with Ledoit-Wolf shrinkage (well conditioned even
    with fewer images than dimensions)."""
    from sklearn.covariance import ledoit_wolf  # deferred: scikit-learn takes about a second to import

    x = np.asarray(embeddings, np.float64)
    classes = np.unique(labels)
    means = np.stack([x[labels == c].mean(axis=0) for c in classes])
    centred = x - means[np.searchsorted(classes, labels)]
    covariance, _ = ledoit_wolf(centred, assume_centered=True)
    precision = np.linalg.inv(covariance)
    precision = (precision + precision.T) / 2.0
    return means, np.linalg.cholesky(precision)


def fit_scorer(rule: str, embeddings: np.ndarray, labels: np.ndarray, n_classes: int, representative_rows: np.ndarray, k: int = DEFAULT_K) -> Scorer:
    """Fit a rule on the training embeddings (N, D) with their class labels.

    Args:
        rule: one of ``RULES``.
        embeddings: the training images' embeddings (not the held-out calibration images).
        labels: their classes.
        n_classes: the run's number of classes (a class without images scores infinity).
        representative_rows: rows of ``embeddings`` chosen as representatives (``medoid``).
        k: neighbours averaged by ``knn``.
    """
    labels = np.asarray(labels, np.int64)
    if rule == "medoid":
        rows = np.asarray(representative_rows, np.int64)
        return Scorer(rule, n_classes, np.asarray(embeddings, np.float64)[rows], labels[rows])
    if rule == "knn":
        return Scorer(rule, n_classes, np.asarray(embeddings, np.float64), labels, k=max(int(k), 1))
    classes = np.unique(labels)
    if rule == "centroid":
        means = np.stack([np.asarray(embeddings, np.float64)[labels == c].mean(axis=0) for c in classes])
        return Scorer(rule, n_classes, means, classes)
    if rule == "mahalanobis":
        means, whitening = shared_whitening(embeddings, labels)
        return Scorer(rule, n_classes, means @ whitening, classes, whitening=whitening)
    raise ValueError(f"rule {rule!r} is not known; use one of {', '.join(RULES)}")


def extend_scorer(scorer: Scorer, embeddings: np.ndarray, labels: np.ndarray, n_classes: int) -> Scorer:
    """The rule with more classes: people enrolled after training (``siamese.gallery``), no refit.

    Args:
        scorer: the rule fitted on the training images.
        embeddings: the new people's reference embeddings (M, D).
        labels: their class index, counted after the trained classes (``scorer.n_classes`` and up).
        n_classes: trained plus new classes.

    ``medoid`` measures to the nearest reference image, and so does ``knn`` (``ENROLLED_K``):
    a new person has a handful of images, and the mean over all of them would count
    their least alike image as the trained classes' k nearest of many never do
    (docs/gallery.md measured it). ``centroid`` and ``mahalanobis`` measure to their mean
    (whitened with the training images' covariance, as the network's own classes are).
    """
    labels = np.asarray(labels, np.int64)
    if not len(labels):
        return Scorer(scorer.rule, n_classes, scorer.points, scorer.labels, scorer.k, scorer.whitening)
    class_k = None
    if scorer.rule == "knn":
        class_k = np.r_[np.full(scorer.n_classes, scorer.k), np.full(n_classes - scorer.n_classes, ENROLLED_K)].astype(np.int64)
    x = np.asarray(embeddings, np.float64)
    if scorer.rule in ("knn", "medoid"):
        points, new_labels = x, labels
    else:
        new_labels = np.unique(labels)
        points = np.stack([x[labels == c].mean(axis=0) for c in new_labels])
        if scorer.whitening is not None:
            points = points @ scorer.whitening
    return Scorer(scorer.rule, n_classes, np.concatenate([scorer.points, points]), np.concatenate([scorer.labels, new_labels]),
                  scorer.k, scorer.whitening, class_k)

