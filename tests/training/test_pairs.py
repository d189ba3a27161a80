"""Training pairs: consecutive positives, 1:1 negatives, fresh and seeded."""

from __future__ import annotations

import numpy as np
import pytest

from siamese.training.pairs import make_pairs


def test_counts_and_labels():
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    left, right, same = make_pairs(labels, np.random.default_rng(0))
    # classes of 3, 2 and 4 images give 2 + 1 + 3 positives, each with one negative
    assert same.sum() == 6 and (same == 0).sum() == 6
    assert np.all(labels[left[same == 1]] == labels[right[same == 1]])
    assert np.all(labels[left[same == 0]] != labels[right[same == 0]])


def test_positives_chain_consecutive_images_of_each_class():
    labels = np.array([0, 0, 0, 0, 1, 1])
    left, right, same = make_pairs(labels, np.random.default_rng(1))
    pos = [(a, b) for a, b, s in zip(left, right, same) if s == 1 and labels[a] == 0]
    # a chain a->b->c->d: each right end is the next left end, covering the class once
    assert [b for _, b in pos[:-1]] == [a for a, _ in pos[1:]]
    assert sorted({a for a, _ in pos} | {b for _, b in pos}) == [0, 1, 2, 3]


def test_seeded_and_fresh_each_epoch():
    labels = np.repeat(np.arange(5), 6)
    first = make_pairs(labels, np.random.default_rng(7))
    again = make_pairs(labels, np.random.default_rng(7))
    rng = np.random.default_rng(7)
    epoch1, epoch2 = make_pairs(labels, rng), make_pairs(labels, rng)
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(epoch1[0], epoch2[0]) or not np.array_equal(epoch1[1], epoch2[1])


def test_singleton_class_still_takes_part_as_a_negative():
    labels = np.array([0, 0, 0, 1])
    seen = set()
    rng = np.random.default_rng(0)
    for _ in range(20):
        left, right, same = make_pairs(labels, rng)
        seen.update(labels[right[same == 0]].tolist())
    assert 1 in seen


def test_one_class_is_refused():
    with pytest.raises(ValueError):
        make_pairs(np.zeros(4, int), np.random.default_rng(0))
