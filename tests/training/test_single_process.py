"""Training in one process (siamese.training.single_process): the pair pipeline and the strategies it makes."""

from __future__ import annotations

import numpy as np
import pytest

from siamese.errors import SiameseError
from siamese.training.objective import Objective
from siamese.training.pairs import make_pairs
from siamese.training.single_process import batch_dataset, make_strategy


def test_pair_pipeline_gives_the_pairs_of_make_pairs():
    labels = np.repeat(np.arange(3), 4)
    images = np.arange(len(labels), dtype=np.float32)[:, None, None, None] * np.ones((1, 2, 2, 1), np.float32)
    rows = np.arange(len(labels))
    left, right, same = make_pairs(labels, np.random.default_rng(7))
    batches = list(batch_dataset(Objective("contrastive", balanced=False, normalized=False), images, rows, labels, batch_size=5, seed=7, resample=False).as_numpy_iterator())
    got_left = np.concatenate([a[:, 0, 0, 0] for (a, _), _ in batches])
    got_right = np.concatenate([b[:, 0, 0, 0] for (_, b), _ in batches])
    got_same = np.concatenate([y for _, y in batches])
    np.testing.assert_array_equal(got_left, left)
    np.testing.assert_array_equal(got_right, right)
    np.testing.assert_array_equal(got_same, same)
    assert [len(y) for _, y in batches] == [5] * (len(same) // 5) + ([len(same) % 5] if len(same) % 5 else [])


def test_the_multiworker_strategy_is_not_made_for_one_process():
    assert make_strategy(None) is None
    with pytest.raises(SiameseError, match="train --workers"):
        make_strategy("multiworker")
    with pytest.raises(SiameseError, match="mirrored, multiworker"):
        make_strategy("gpu-farm")
