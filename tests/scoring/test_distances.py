"""Distances and medoids on hand-made points: one or K medoids per class, greedy BUILD."""

from __future__ import annotations

import numpy as np
import pytest

from siamese.scoring.distances import class_distances, class_medoids, medoids, pairwise_distances, per_class


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


@pytest.mark.parametrize("k", [1, 3, 5])
def test_many_classes_are_reduced_together_with_the_same_answer(k, monkeypatch):
    import siamese.scoring.distances as distances

    rng = np.random.default_rng(k)
    dist, labels = rng.random((3, 2000)), rng.integers(0, 400, 2000)
    labels[labels == 5] = 6  # a class without points scores infinity either way
    grouped = distances.per_class(dist, labels, 400, k)
    monkeypatch.setattr(distances, "GROUPED_CLASSES", 10**9)
    np.testing.assert_allclose(grouped, distances.per_class(dist, labels, 400, k))
    assert np.isinf(grouped[:, 5]).all()


@pytest.mark.parametrize("n_classes", [20, 400])  # the loop, and classes reduced together
def test_one_k_per_class_gives_each_class_its_own_mean(n_classes):
    rng = np.random.default_rng(n_classes)
    dist, labels = rng.random((2, 3000)), np.sort(rng.integers(0, n_classes, 3000))
    ks = rng.integers(1, 8, n_classes)
    got = per_class(dist, labels, n_classes, ks)
    for c in range(0, n_classes, 7):
        own = np.sort(dist[:, labels == c], axis=1)[:, : ks[c]]
        np.testing.assert_allclose(got[:, c], own.mean(axis=1))
