"""Distances and medoids on hand-made points."""

from __future__ import annotations

import numpy as np

from siamese.distances import class_distances, pairwise_distances


def test_pairwise_distances_hand_values():
    d = pairwise_distances(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([[0.0, 0.0], [6.0, 8.0]]))
    np.testing.assert_allclose(d, [[np.sqrt(1e-7), 10.0], [5.0, 5.0]], rtol=1e-6)


def test_a_class_with_several_representatives_is_scored_by_the_nearest():
    emb = np.array([[0.0, 0.0]])
    reps = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
    dist = class_distances(emb, reps, np.array([0, 0, 1]), n_classes=3)
    # class 0: nearest of 1 and 3 (the mean, 2, was the first version's rule); class 2 has no point
    np.testing.assert_allclose(dist, [[1.0, 2.0, np.inf]])


def test_class_distance_with_k_is_the_mean_of_the_k_nearest():
    emb = np.array([[0.0]])
    points = np.array([[1.0], [2.0], [4.0], [10.0]])
    dist = class_distances(emb, points, np.array([0, 0, 0, 1]), n_classes=2, k=2)
    np.testing.assert_allclose(dist, [[1.5, 10.0]])  # class 1 has one point: its distance
