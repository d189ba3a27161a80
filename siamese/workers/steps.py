"""One worker's input and training step under MultiWorkerMirroredStrategy.

Each worker feeds its share of every global batch (``siamese.workers.pair_shares``). The
step runs under ``strategy.run``: each replica computes its share's outputs (pair
distances, embeddings, class cosines: ``Built.forward``), gathers every replica's
(``all_gather``, with the targets gathered alike, so the whole batch in some order) with its own share
kept differentiable and the others' constant, and takes the objective's loss of the whole
batch (``Built.batch_loss``). Its gradient is the part of the whole batch's gradient that
flows through this replica's share, and the optimizer sums the replicas' gradients, so a
step's gradient is exactly the one-process gradient of the global batch, for any
objective: a mean over pairs (contrastive) or images (cosface) or over the batch's
triplets (triplet), which no per-worker loss could give. Replica 0 reports the batch's
loss and pairs judged right, summed over an epoch with ``strategy.reduce``.
"""

from __future__ import annotations

import numpy as np

from siamese.training.augment import augment
from siamese.training.objective import Objective
from siamese.workers.pair_shares import epoch_batches, share


def share_dataset(strategy, objective: Objective, images: np.ndarray, rows: np.ndarray, labels: np.ndarray, epoch_seed: list[int],
                  shuffle: bool, augmented: bool, batch_size: int, worker: int, n_workers: int):
    """This worker's share of an epoch's batches, as a distributed dataset of (inputs, targets):
    ``inputs`` a tuple of image batches (one, or two for pairs).

    Args:
        images: every decoded image (may be memory-mapped); batches index ``images[rows]``.
        labels: the class of each of ``rows``.
        epoch_seed: (seed, epoch) of the batches, the same on every worker.
        batch_size: examples per replica; the global batch is this times the replicas.
        worker, n_workers: this worker's position, and how many there are.
    """
    from siamese.model.backend import tf

    replicas = int(strategy.num_replicas_in_sync)
    local = replicas // n_workers
    batches = epoch_batches(objective, labels, batch_size * replicas, epoch_seed[0], epoch_seed[1], shuffle)

    def generate():
        # a worker with several devices feeds one part of every global batch to each, in order
        for step, (indices, targets) in enumerate(batches):
            for j in range(local):
                part = share(targets.size, replicas, worker * local + j)
                xs = [np.asarray(images[rows[i[part]]], np.float32) for i in indices]
                if augmented:
                    varied = np.random.default_rng([*epoch_seed, step, worker, j])
                    xs = [augment(x, varied) for x in xs]
                yield tuple(xs), targets[part]

    shape = tf.TensorSpec([None, *images.shape[1:]], tf.float32)
    signature = (tuple([shape] * objective.inputs), tf.TensorSpec([None], tf.float32))
    return strategy.distribute_datasets_from_function(
        lambda context: tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(2))


def make_step(strategy, built, optimizer, training: bool):
    """A compiled step: takes the next batch from a distributed iterator, trains ``built``
    (``siamese.training.objective.Built``) on it when ``training``, and returns the batch's
    (loss x examples, pairs judged right, pairs judged, examples), from replica 0 only."""
    from siamese.model.backend import tf

    def replica_totals(inputs):
        xs, targets = inputs
        context = tf.distribute.get_replica_context()
        # where this replica's share lands in the gathered batch: after the shares of the replicas before it
        sizes = context.all_gather(tf.shape(targets)[:1], axis=0)
        start, stop = tf.reduce_sum(sizes[: context.replica_id_in_sync_group]), tf.reduce_sum(sizes[: context.replica_id_in_sync_group + 1])
        with tf.GradientTape() as tape:
            mine, judged_on = built.forward(xs, training)
            everyone = context.all_gather(tf.stop_gradient(mine), axis=0)
            whole = tf.concat([everyone[:start], mine, everyone[stop:]], axis=0)
            # (an identity on the replica's device: all_gather sends a tensor to its device, and the input's has none)
            all_targets = context.all_gather(tf.identity(targets), axis=0)
            loss = built.batch_loss(all_targets, whole)
        if training:
            variables = built.trainer.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        right, judged = built.judged(all_targets, context.all_gather(tf.stop_gradient(judged_on), axis=0))
        n = tf.cast(tf.shape(all_targets)[0], tf.float32)
        first = tf.cast(tf.equal(context.replica_id_in_sync_group, 0), tf.float32)
        return first * tf.stack([tf.cast(loss, tf.float32) * n, right, judged, n])

    @tf.function
    def step(iterator):
        return strategy.reduce("SUM", strategy.run(replica_totals, args=(next(iterator),)), axis=None)

    return step
