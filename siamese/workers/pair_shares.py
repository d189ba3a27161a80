"""Each worker's share of an epoch's batches under multi-worker training.

Every worker draws the same epoch of global batches (``Objective.epoch_batches`` with the
same seed, the epoch's number mixed in: pairs for ``contrastive``, class-balanced P x K
batches of images for ``triplet`` and ``cosface``) and cuts every global batch into one
contiguous share per worker, so the workers together train on exactly the batches one
process would, every worker takes the same number of steps (collective operations must
match one for one), and a restarted run draws the same batches again for the epoch it
resumes. Shares of one batch, not whole batches per worker: the triplet loss of a batch
is not a sum over its images, so each step joins the workers' shares back into the
whole batch (``siamese.workers.steps``) and its gradient is the one-process batch's.
"""

from __future__ import annotations

import numpy as np

from siamese.training.objective import Batch, Objective


def epoch_batches(objective: Objective, labels: np.ndarray, global_batch: int, seed: int, epoch: int, shuffle: bool) -> list[Batch]:
    """One epoch of global batches, the same on every worker; pairs shuffled when ``shuffle``.

    ``epoch`` counts from 0; a fixed validation set passes the same ``epoch`` every time.
    """
    return objective.epoch_batches(labels, global_batch, np.random.default_rng([seed, epoch]), shuffle)


def share(size: int, n_parts: int, part: int) -> slice:
    """Part ``part`` of ``n_parts`` near-equal contiguous parts of a batch of ``size`` (empty when size < n_parts)."""
    return slice(part * size // n_parts, (part + 1) * size // n_parts)


def worker_slices(n_examples: int, global_batch: int, n_workers: int, worker: int) -> list[slice]:
    """The positions, in an epoch's order of ``n_examples`` examples cut into global batches,
    that ``worker`` trains on, one slice per step (every worker gets the same number)."""
    return [slice(start + s.start, start + s.stop)
            for start in range(0, n_examples, global_batch)
            for s in [share(min(global_batch, n_examples - start), n_workers, worker)]]
