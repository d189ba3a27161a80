"""Medoid rules: on the map and in embedding space, one or K per class."""

from __future__ import annotations

import numpy as np

from siamese.representatives import class_medoids, medoids


def test_medoid_is_the_point_with_smallest_total_distance():
    points = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [10.0, 0.0]])
    # totals: 13, 11, 11 (tie -> first), 27
    assert medoids(points).tolist() == [1]


def test_k_medoids_greedy_build_covers_separate_groups():
    points = np.array([[0.0], [0.1], [0.2], [5.0], [5.1]])
    chosen = medoids(points, k=2)
    assert chosen[0] == 2  # the overall medoid first: totals 10.4, 10.1, 10.0, 14.8, 15.1
    assert chosen[1] in (3, 4)  # then the point that serves the far group


def test_k_larger_than_class_returns_every_point():
    assert sorted(medoids(np.array([[0.0], [1.0]]), k=5).tolist()) == [0, 1]


def test_class_medoids_per_class_in_label_order():
    points = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [30.0]])
    labels = np.array([0, 0, 0, 1, 1, 1])
    # class 1: totals 1+20=21, 1+19=20, 20+19=39 -> index 4
    assert class_medoids(points, labels).tolist() == [1, 4]


def test_tsne_iterations_keep_a_fixed_budget_within_bounds():
    from siamese.representatives import tsne_iterations

    assert tsne_iterations(384) == 1000  # small maps: scikit-learn's default
    assert tsne_iterations(8000) == 500
    assert tsne_iterations(10_000) == 400
    assert tsne_iterations(1_000_000) == 400  # never fewer than 250 exaggeration + 150 steps
