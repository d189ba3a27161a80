"""knn's training distances, computed in blocks of rows, equal the whole-matrix computation."""

from __future__ import annotations

import numpy as np
import pytest

from siamese.scoring import rules as scoring
from siamese.scoring.distances import pairwise_distances, per_class
from siamese.scoring.rules import RULES, extend_scorer, fit_scorer


def test_knn_training_distances_in_blocks_leave_each_image_out(monkeypatch):
    monkeypatch.setattr(scoring, "TRAINING_BLOCK", 64)  # several blocks and a ragged last one
    rng = np.random.default_rng(0)
    embeddings, labels = rng.random((300, 8)), rng.integers(0, 5, 300)
    scorer = fit_scorer("knn", embeddings, labels, 5, np.arange(5), k=3)
    whole = pairwise_distances(embeddings, embeddings)
    np.fill_diagonal(whole, np.inf)
    np.testing.assert_allclose(scorer.training_distances(embeddings), per_class(whole, labels, 5, 3), rtol=0, atol=1e-12)
    # Left out: an image's own class distance is not 0 (the floor of the distance), as it would be with itself counted.
    own = scorer.training_distances(embeddings)[np.arange(300), labels]
    assert own.min() > 1e-3


@pytest.mark.parametrize("rule", RULES)
def test_extended_rule_scores_new_people_and_keeps_the_trained_classes(rule):

    rng = np.random.default_rng(1)
    embeddings = np.r_[rng.normal(0, 0.1, (6, 3)), rng.normal(2, 0.1, (6, 3))]
    labels = np.repeat([0, 1], 6)
    trained = fit_scorer(rule, embeddings, labels, 2, np.array([0, 6]), k=3)
    newcomer = rng.normal(-2, 0.1, (2, 3))
    extended = extend_scorer(trained, newcomer, np.array([2, 2]), 3)
    probes = np.r_[embeddings[:1], rng.normal(-2, 0.1, (1, 3))]
    dist = extended.class_distances(probes)
    assert dist.shape == (2, 3) and dist.argmin(axis=1).tolist() == [0, 2]
    np.testing.assert_allclose(dist[:, :2], trained.class_distances(probes))


def test_knn_measures_an_enrolled_person_by_their_nearest_image():
    trained = fit_scorer("knn", np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]]), np.repeat([0, 1], 3), 2, np.array([0, 3]), k=3)
    extended = extend_scorer(trained, np.array([[10.0], [14.0], [18.0]]), np.array([2, 2, 2]), 3)
    dist = extended.class_distances(np.array([[10.0]]))[0]
    assert dist[2] == pytest.approx(np.sqrt(1e-7), abs=1e-3)  # the nearest of the three, not their mean (4.0)
    assert dist[0] == pytest.approx(np.mean([10.0, 9.9, 9.8]))  # a trained class keeps its k nearest
