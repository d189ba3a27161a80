"""t-SNE maps: the iteration budget, Barnes-Hut for small maps, the FFT t-SNE for large ones."""

from __future__ import annotations

import numpy as np
import pytest

import siamese.maps.tsne as projection
from siamese.errors import SiameseError


def test_tsne_iterations_keep_a_fixed_budget_within_bounds():
    assert projection.tsne_iterations(384) == 1000  # small maps: scikit-learn's default
    assert projection.tsne_iterations(8000) == 500
    assert projection.tsne_iterations(10_000) == 400
    assert projection.tsne_iterations(1_000_000) == 400  # never fewer than 250 exaggeration + 150 steps


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


def test_a_map_needs_four_points():
    with pytest.raises(SiameseError, match="at least 4 images"):
        projection.project_tsne(np.zeros((3, 8), np.float32))


@pytest.mark.slow  # openTSNE's FFT t-SNE: tens of seconds on a loaded machine
def test_large_maps_use_the_fft_tsne_and_keep_clusters_apart(monkeypatch):
    points, labels = _clusters(60, 5)
    calls = []
    real = projection.fft_tsne
    monkeypatch.setattr(projection, "FFT_FROM", 200)  # 300 points count as "large" here
    monkeypatch.setattr(projection, "tsne_iterations", lambda n: 300)  # keep the test short
    monkeypatch.setattr(projection, "fft_tsne", lambda *a: calls.append(a) or real(*a))
    xy = projection.project_tsne(points, perplexity=20, seed=1)
    assert len(calls) == 1 and calls[0][3] == 300
    assert xy.shape == (300, 2) and xy.dtype == np.float32 and np.isfinite(xy).all()
    assert _map_neighbour_accuracy(xy, labels) >= 0.98
    np.testing.assert_array_equal(projection.project_tsne(points, perplexity=20, seed=1), xy)  # same seed, same map


def test_small_maps_stay_on_barnes_hut(monkeypatch):
    points, labels = _clusters(30, 4)
    monkeypatch.setattr(projection, "fft_tsne", lambda *a: pytest.fail("FFT t-SNE used for 120 points"))
    # 300 steps instead of 1,000 keep the test short: 250 of early exaggeration form the
    # clusters, so they still must come out apart
    monkeypatch.setattr(projection, "tsne_iterations", lambda n: 300)
    xy = projection.project_tsne(points, perplexity=10)
    assert _map_neighbour_accuracy(xy, labels) >= 0.98
