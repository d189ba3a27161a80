"""One worker's input and training step under MultiWorkerMirroredStrategy.

The step runs under ``strategy.run``: the loss is averaged over the global batch
(``tf.nn.compute_average_loss``), the optimizer sums the replicas' gradients, and the
sums of pair losses, pairs judged right and pairs are added up across workers with
``strategy.reduce``, so every worker sees the epoch's loss and pair accuracy.
"""

from __future__ import annotations

import numpy as np

from siamese.training.augment import augment
from siamese.workers.pair_shares import epoch_pairs, worker_slices


def share_dataset(strategy, images: np.ndarray, rows: np.ndarray, labels: np.ndarray, epoch_seed: list[int], shuffle: bool,
                  augmented: bool, batch_size: int, worker: int, n_workers: int):
    """This worker's share of an epoch's pairs, as a distributed dataset of ((left, right), same, pairs in the global batch).

    Args:
        images: every decoded image (may be memory-mapped); pairs index ``images[rows]``.
        labels: the class of each of ``rows``.
        epoch_seed: (seed, epoch) of the pairs, the same on every worker.
        batch_size: pairs per replica; the global batch is this times the replicas.
        worker, n_workers: this worker's position, and how many there are.
    """
    from siamese.model.backend import tf

    replicas = int(strategy.num_replicas_in_sync)
    local, global_batch = replicas // n_workers, batch_size * replicas
    left, right, same = epoch_pairs(labels, epoch_seed[0], epoch_seed[1], shuffle)

    def batches():
        # a worker with several devices feeds one part of every global batch to each, in order
        parts = [worker_slices(left.size, global_batch, replicas, worker * local + j) for j in range(local)]
        for step, group in enumerate(zip(*parts)):
            n_global = min(global_batch, left.size - step * global_batch)
            for j, part in enumerate(group):
                a = np.asarray(images[rows[left[part]]], np.float32)
                b = np.asarray(images[rows[right[part]]], np.float32)
                if augmented:
                    varied = np.random.default_rng([*epoch_seed, step, worker, j])
                    a, b = augment(a, varied), augment(b, varied)
                yield (a, b), same[part], np.int64(n_global)

    shape = tf.TensorSpec([None, *images.shape[1:]], tf.float32)
    signature = ((shape, shape), tf.TensorSpec([None], tf.float32), tf.TensorSpec([], tf.int64))
    return strategy.distribute_datasets_from_function(
        lambda context: tf.data.Dataset.from_generator(batches, output_signature=signature).prefetch(2))


def make_step(strategy, model, optimizer, loss, training: bool):
    """A compiled step: takes the next batch from a distributed iterator, trains on it when
    ``training``, and returns (sum of pair losses, pairs judged right, pairs) over every worker."""
    from siamese.model.backend import tf
    from siamese.model.network import ORIGINAL_PAIR_THRESHOLD

    def replica_totals(inputs):
        (a, b), same, n_global = inputs
        with tf.GradientTape() as tape:
            distance = tf.reshape(model([a, b], training=training), [-1])
            per_pair = tf.reshape(loss.call(same, distance[:, None]), [-1])
            average = tf.nn.compute_average_loss(per_pair, global_batch_size=n_global)
        if training:
            variables = model.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(average, variables), variables))
        right = tf.reduce_sum(tf.cast(tf.equal(tf.cast(distance < ORIGINAL_PAIR_THRESHOLD, tf.float32), same), tf.float32))
        return tf.stack([tf.reduce_sum(per_pair), right, tf.cast(tf.size(per_pair), tf.float32)])

    @tf.function
    def step(iterator):
        return strategy.reduce("SUM", strategy.run(replica_totals, args=(next(iterator),)), axis=None)

    return step
