"""Each worker's share of an epoch's pairs under multi-worker training.

Every worker draws the same epoch of pairs (the same seed, the epoch's number mixed in)
and cuts every global batch into one contiguous slice per worker, so the workers
together train on exactly the pairs one process would, every worker takes the same
number of steps (collective operations must match one for one), and a restarted run
draws the same pairs again for the epoch it resumes.
"""

from __future__ import annotations

import math

import numpy as np

from siamese.training.pairs import make_pairs


def pairs_per_epoch(labels: np.ndarray) -> int:
    """Pairs ``make_pairs`` draws in every epoch: a positive and a negative per consecutive same-class pair."""
    return 2 * int(sum(np.count_nonzero(labels == c) - 1 for c in np.unique(labels)))


def steps_per_epoch(labels: np.ndarray, global_batch: int) -> int:
    """Global batches in an epoch (the last may be smaller)."""
    return math.ceil(pairs_per_epoch(labels) / global_batch)


def epoch_pairs(labels: np.ndarray, seed: int, epoch: int, shuffle: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One epoch of pairs (``make_pairs``), the same on every worker; shuffled when ``shuffle``.

    ``epoch`` counts from 0; a fixed validation set passes the same ``epoch`` every time.
    """
    rng = np.random.default_rng([seed, epoch])
    left, right, same = make_pairs(labels, rng)
    order = rng.permutation(left.size) if shuffle else np.arange(left.size)
    return left[order], right[order], same[order]


def worker_slices(n_pairs: int, global_batch: int, n_workers: int, worker: int) -> list[slice]:
    """The positions, in an epoch's pair order, that ``worker`` trains on, one slice per step.

    Global batch k covers positions [k * global_batch, ...); worker i takes the i-th of
    ``n_workers`` near-equal contiguous parts of it (empty when the last batch has fewer
    pairs than there are workers). Every worker gets the same number of slices.
    """
    slices = []
    for start in range(0, n_pairs, global_batch):
        size = min(global_batch, n_pairs - start)
        slices.append(slice(start + worker * size // n_workers, start + (worker + 1) * size // n_workers))
    return slices
