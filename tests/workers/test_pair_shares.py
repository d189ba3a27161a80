"""Each worker's share of an epoch's pairs (siamese.workers.pair_shares)."""

from __future__ import annotations

import numpy as np

from siamese.training.objective import Objective
from siamese.workers.pair_shares import epoch_batches, worker_slices

PAIRS = Objective("contrastive", balanced=False, normalized=False)


def test_worker_shares_cover_every_pair_once_with_equal_step_counts():
    for n_pairs, batch, workers in [(32, 8, 2), (30, 8, 2), (17, 6, 3), (9, 8, 2), (1, 4, 2)]:
        shares = [worker_slices(n_pairs, batch, workers, w) for w in range(workers)]
        assert len({len(s) for s in shares}) == 1 == len({-(-n_pairs // batch)})  # the same number of steps, ceil(n / batch)
        covered = sorted(i for share in shares for part in share for i in range(n_pairs)[part])
        assert covered == list(range(n_pairs))
    labels = np.repeat(np.arange(4), 5)
    assert PAIRS.batches_per_epoch(labels, 8) == 4 and sum(t.size for _, t in epoch_batches(PAIRS, labels, 8, 0, 3, shuffle=True)) == 32
    a, b = epoch_batches(PAIRS, labels, 8, 0, 3, shuffle=True), epoch_batches(PAIRS, labels, 8, 0, 3, shuffle=True)
    assert all(np.array_equal(x, y) for (ia, _), (ib, _) in zip(a, b) for x, y in zip(ia, ib))  # every worker (and a restart) draws the same epoch
    assert not np.array_equal(a[0][0][0], epoch_batches(PAIRS, labels, 8, 0, 4, shuffle=True)[0][0][0])  # the next epoch differs
