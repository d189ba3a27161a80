"""knn's training distances, computed in blocks of rows, equal the whole-matrix computation."""

from __future__ import annotations

import numpy as np

from siamese.scoring import rules as scoring
from siamese.scoring.distances import pairwise_distances, per_class
from siamese.scoring.rules import fit_scorer


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
