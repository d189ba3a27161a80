"""Training a siamese network into a run directory, with progress, best-model keeping and cancel."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from siamese.errors import SiameseError
from siamese.runs.atomic_files import atomic_write
from siamese.runs.layout import MODEL_FILE, cancel_requested, clear_cancel_request
from siamese.runs.locks import claim_run_dir
from siamese.runs.store import Run
from siamese.training.augment import augment
from siamese.training.config import BALANCED_LOSSES, IMAGES_PER_CLASS, TrainConfig
from siamese.training.loop import RunRecord, describe_data, has_validation_pairs, new_info
from siamese.training.pairs import balanced_batches, make_pairs
from siamese.training.scratch import scratch_folder
from siamese.training.training_set import TrainingData, load_training_data


def pair_dataset(images: np.ndarray, rows: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, resample: bool, augmented: bool = False):
    """A ``tf.data`` pipeline of ((left, right), same) batches of image pairs.

    Pairs are drawn by ``make_pairs`` over ``labels`` (fresh every epoch when
    ``resample``; once, for a fixed validation set, otherwise); their images are
    gathered batch by batch from ``images[rows]``, which may be a memory-mapped file,
    in parallel with training and prefetched. Only a few batches are ever in memory.

    Under ``tf.distribute`` each batch is the global batch, split across replicas; every
    worker builds the same pairs (same seed) and keeps its share (sharding by data).
    With ``augmented``, both images of a pair are varied by ``siamese.training.augment.augment``,
    seeded per batch, so a run repeats exactly.
    """
    # deferred: TensorFlow takes seconds to load; `import siamese` does not need it
    from siamese.model.backend import tf

    rng = np.random.default_rng(seed)
    fixed = None if resample else make_pairs(labels, rng)

    def batches():
        left, right, same = fixed if fixed is not None else make_pairs(labels, rng)
        order = rng.permutation(left.size) if resample else np.arange(left.size)
        for start in range(0, left.size, batch_size):
            take = order[start : start + batch_size]
            yield rows[left[take]], rows[right[take]], same[take], rng.integers(2**63)

    def gather(left, right, batch_seed):
        a, b = np.asarray(images[left], np.float32), np.asarray(images[right], np.float32)
        if augmented:
            varied = np.random.default_rng(batch_seed)
            a, b = augment(a, varied), augment(b, varied)
        return a, b

    def load(left, right, same, batch_seed):
        a, b = tf.numpy_function(gather, [left, right, batch_seed], [tf.float32, tf.float32], stateful=False)
        a.set_shape([None, *images.shape[1:]])
        b.set_shape([None, *images.shape[1:]])
        return (a, b), same

    signature = (tf.TensorSpec([None], tf.int64), tf.TensorSpec([None], tf.int64), tf.TensorSpec([None], tf.float32), tf.TensorSpec([], tf.int64))
    # Every epoch has the same number of pairs (two per consecutive same-class pair), so
    # the batch count is known up front: Keras shows progress and expects no early end.
    n_pairs = 2 * int(sum(np.count_nonzero(labels == c) - 1 for c in np.unique(labels)))
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(math.ceil(n_pairs / batch_size)))
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def balanced_dataset(images: np.ndarray, rows: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, resample: bool, augmented: bool = False):
    """A ``tf.data`` pipeline of (images, classes) batches for the triplet loss: class-balanced
    batches (``siamese.training.pairs.balanced_batches``), fresh every epoch when
    ``resample``; gathered, augmented and prefetched as ``pair_dataset`` does."""
    # deferred: TensorFlow takes seconds to load; `import siamese` does not need it
    from siamese.model.backend import tf

    rng = np.random.default_rng(seed)
    fixed = None if resample else balanced_batches(labels, batch_size, IMAGES_PER_CLASS, rng)
    n_batches = len(balanced_batches(labels, batch_size, IMAGES_PER_CLASS, np.random.default_rng(0)))

    def batches():
        for take in fixed if fixed is not None else balanced_batches(labels, batch_size, IMAGES_PER_CLASS, rng):
            yield rows[take], labels[take].astype(np.float32), rng.integers(2**63)

    def gather(index, batch_seed):
        x = np.asarray(images[index], np.float32)
        return augment(x, np.random.default_rng(batch_seed)) if augmented else x

    def load(index, classes, batch_seed):
        x = tf.numpy_function(gather, [index, batch_seed], tf.float32, stateful=False)
        x.set_shape([None, *images.shape[1:]])
        return x, classes

    signature = (tf.TensorSpec([None], tf.int64), tf.TensorSpec([None], tf.float32), tf.TensorSpec([], tf.int64))
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(n_batches))
    return dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _recorder_class():
    # deferred: a Keras callback class can only be defined once TensorFlow is loaded
    from siamese.model.backend import keras

    class RunRecorder(keras.callbacks.Callback):
        """Records every epoch in the run (``siamese.training.loop.RunRecord``) and honours cancel."""

        def __init__(self, record: RunRecord, saved=None):
            super().__init__()
            self.saved = saved  # the model written to the run (default: the one trained)
            self.record, self.run_dir = record, record.run_dir
            self.started = time.monotonic()
            self.cancelled = False
            self.interrupted = False  # set by Ctrl-C (see ctrl_c_stops)

        def on_train_batch_end(self, batch, logs=None):
            if self.interrupted or cancel_requested(self.run_dir):
                self.cancelled = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            self.record.end_epoch(epoch, logs or {}, time.monotonic() - self.started,
                                  lambda: atomic_write(self.run_dir / MODEL_FILE, lambda tmp: (self.saved or self.model).save(tmp), suffix=".keras"))

    return RunRecorder


@contextlib.contextmanager
def ctrl_c_stops(recorder):
    """The first Ctrl-C flags ``recorder``, which stops training after the current batch;
    a second one raises KeyboardInterrupt as usual.

    The first raises nothing: a KeyboardInterrupt raised wherever the main thread happens to
    be could land inside TensorFlow (a finalizer, a call from its C++ runtime back into
    Python), where Python drops it or TensorFlow aborts the process (SIGABRT, a fatal
    message) instead of the run ending cancelled. Only in the main thread (the only one that
    gets signals) and where SIGINT has Python's default handler (a caller's own handler is
    left alone).
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    def interrupt(signum, frame):
        if recorder.interrupted:
            raise KeyboardInterrupt
        recorder.interrupted = True

    signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


STRATEGIES = ("mirrored", "multiworker")


def make_strategy(name: str | None):
    """A ``tf.distribute`` strategy by name, or None for TensorFlow's default (one device).

    ``mirrored``: MirroredStrategy over this machine's GPUs, or over its logical CPU
    devices when there is no GPU (one, unless more were configured). ``multiworker`` is
    not made here: the command line trains it through ``siamese.workers`` (one worker
    per process, its own loop), not through this process's ``train``.
    """
    if name is None:
        return None
    # deferred: TensorFlow takes seconds to load
    from siamese.model.backend import tf

    if name == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if name == "multiworker":
        raise SiameseError("--strategy multiworker trains one worker per process; start it with train --workers (siamese.workers)")
    raise SiameseError(f"strategy {name!r} is not known; use one of {', '.join(STRATEGIES)}")


def train(
    config: TrainConfig,
    run_dir: str | os.PathLike[str],
    verbose: int | str = "auto",
    strategy=None,
    extra_callbacks: Sequence = (),
) -> Run | None:
    """Train a siamese network and write the run directory.

    Args:
        config: every training setting; ``train_dir`` is read, never written.
        run_dir: a new (or empty) folder for the run.
        verbose: Keras's progress display: 1 a progress bar, 2 a line per epoch, 0 none.
        strategy: a ``tf.distribute`` strategy to build and train the model under.
        extra_callbacks: more Keras callbacks (the dashboard needs none; tests use them).

    Returns:
        The finished run. Ctrl-C (KeyboardInterrupt) or a cancel request marks it
        cancelled; an exception marks it failed and is raised again.

    Raises:
        SiameseError: bad settings or data; or a MultiWorkerMirroredStrategy, which Keras's
            fit cannot feed (keras-team/keras#20585): ``siamese.workers.worker.train_multiworker``
            trains under it with a loop of its own.
    """
    config.validate()
    run_dir = Path(run_dir)
    if type(strategy).__name__ == "MultiWorkerMirroredStrategy":
        raise SiameseError("a MultiWorkerMirroredStrategy trains with siamese.workers.worker.train_multiworker (train --workers on the command line)")
    # Claimed first, atomically: a second train into the same folder is refused at once,
    # not after both have spent seconds loading data and TensorFlow.
    # Decoded images live in a temporary file (under TMPDIR, in a private folder), not in
    # memory, so the training set may be larger than RAM; the file goes when training ends,
    # or with the next training when this one is killed (siamese.training.scratch).
    with claim_run_dir(run_dir, [config.train_dir, config.val_dir]), scratch_folder() as workdir:
        data = load_training_data(config, workdir)
        return _fit(config, run_dir, data, verbose, strategy, extra_callbacks)


def _fit(config: TrainConfig, run_dir: Path, data: TrainingData, verbose: int | str, strategy, extra_callbacks: Sequence) -> Run:
    describe_data(config, run_dir, data)
    # deferred: siamese.model.network imports TensorFlow, which takes seconds to load
    from siamese.model.backend import keras
    from siamese.model.margin_softmax import compile_cosface
    from siamese.model.network import (
        build_embedding_network,
        build_siamese,
        compile_siamese,
        compile_triplet,
        plan_architecture,
        resolve_precision,
    )

    config.precision = resolve_precision(config.precision)
    keras.utils.set_random_seed(config.seed)
    normalized = config.loss == "cosface"
    record = RunRecord(run_dir, new_info(config, data, plan_architecture(data.input_shape, normalized)))
    if strategy is not None:
        record.info["distribution"] = {"strategy": type(strategy).__name__, "replicas": int(strategy.num_replicas_in_sync)}
    record.write_info()
    try:
        scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
        with scope:
            embedding = build_embedding_network(data.input_shape, config.precision, normalized)
            model = build_siamese(embedding)  # what the run keeps, whatever the objective
            if config.loss == "triplet":
                compile_triplet(embedding, config.margin, config.learning_rate)
                trained = embedding
            elif config.loss == "cosface":
                trained = compile_cosface(embedding, len(data.class_names), config.learning_rate)
            else:
                compile_siamese(model, config.margin, config.learning_rate)
                trained = model
        batches = balanced_dataset if config.loss in BALANCED_LOSSES else pair_dataset
        train_labels = data.labels[data.train_rows]
        train_batches = batches(data.images, data.train_rows, train_labels, config.batch_size, config.seed, resample=True, augmented=config.augment)
        val_batches = None
        val_labels = data.labels[data.val_rows]
        if has_validation_pairs(val_labels):
            val_batches = batches(data.images, data.val_rows, val_labels, config.batch_size, config.seed + 1, resample=False)
        recorder = _recorder_class()(record, saved=model)
        try:
            with ctrl_c_stops(recorder):
                trained.fit(
                    train_batches,
                    validation_data=val_batches,
                    epochs=config.epochs,
                    verbose=verbose,
                    callbacks=[recorder, *extra_callbacks],
                    shuffle=False,  # pair_dataset shuffles and resamples every epoch itself
                )
            status = "cancelled" if recorder.cancelled else "complete"
        except KeyboardInterrupt:
            status = "cancelled"
    except BaseException as exc:
        record.fail(f"{exc.__class__.__name__}: {exc}")
        raise
    clear_cancel_request(run_dir)
    return record.finish(status)

