"""Medoid rules: on the map and in embedding space, one or K per class."""

from __future__ import annotations

import numpy as np
import pytest

from siamese.distances import class_medoids, medoids


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


def _clusters(n_per: int, classes: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0.0, 1.0, (classes, 64))
    labels = np.repeat(np.arange(classes), n_per)
    return (centers[labels] + rng.normal(0.0, 0.15, (len(labels), 64))).astype(np.float32), labels


def _map_neighbour_accuracy(xy: np.ndarray, labels: np.ndarray) -> float:
    """Share of points whose nearest other point on the map is of the same class."""
    d = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return float((labels[d.argmin(axis=1)] == labels).mean())


def test_large_maps_use_the_fft_tsne_and_keep_clusters_apart(monkeypatch):
    import siamese.representatives as rep

    points, labels = _clusters(60, 5)
    calls = []
    real = rep.fft_tsne
    monkeypatch.setattr(rep, "FFT_FROM", 200)  # 300 points count as "large" here
    monkeypatch.setattr(rep, "tsne_iterations", lambda n: 300)  # keep the test short
    monkeypatch.setattr(rep, "fft_tsne", lambda *a: calls.append(a) or real(*a))
    xy = rep.project_tsne(points, perplexity=20, seed=1)
    assert len(calls) == 1 and calls[0][3] == 300
    assert xy.shape == (300, 2) and xy.dtype == np.float32 and np.isfinite(xy).all()
    assert _map_neighbour_accuracy(xy, labels) >= 0.98
    np.testing.assert_array_equal(rep.project_tsne(points, perplexity=20, seed=1), xy)  # same seed, same map


def test_small_maps_stay_on_barnes_hut(monkeypatch):
    import siamese.representatives as rep

    points, labels = _clusters(30, 4)
    monkeypatch.setattr(rep, "fft_tsne", lambda *a: pytest.fail("FFT t-SNE used for 120 points"))
    xy = rep.project_tsne(points, perplexity=10)
    assert _map_neighbour_accuracy(xy, labels) >= 0.98
