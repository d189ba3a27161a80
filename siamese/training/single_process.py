"""Training a siamese network into a run directory, with progress, best-model keeping and cancel."""

from __future__ import annotations

import contextlib
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
from siamese.training.config import TrainConfig
from siamese.training.loop import RunRecord, describe_data, has_validation_pairs, new_info
from siamese.training.objective import Built, Objective, objective_for
from siamese.training.scratch import scratch_folder
from siamese.training.training_set import TrainingData, load_training_data


def batch_dataset(objective: Objective, images: np.ndarray, rows: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, resample: bool,
                  augmented: bool = False):
    """A ``tf.data`` pipeline of the objective's batches: ((left, right), same) for pairs,
    (images, classes) for class-balanced batches (``Objective.epoch_batches``).

    Batches are drawn over ``labels`` (fresh every epoch when ``resample``; once, for a
    fixed validation set, otherwise); their images are gathered batch by batch from
    ``images[rows]``, which may be a memory-mapped file, in parallel with training and
    prefetched. Only a few batches are ever in memory.

    Under ``tf.distribute`` each batch is the global batch, split across replicas; every
    worker builds the same batches (same seed) and keeps its share (sharding by data).
    With ``augmented``, every image of a batch is varied by ``siamese.training.augment.augment``,
    seeded per batch, so a run repeats exactly.
    """
    # deferred: TensorFlow takes seconds to load; `import siamese` does not need it
    from siamese.model.backend import tf

    rng = np.random.default_rng(seed)
    fixed = None if resample else objective.epoch_batches(labels, batch_size, rng, shuffle=False)
    n_inputs = objective.inputs

    def batches():
        for indices, targets in fixed if fixed is not None else objective.epoch_batches(labels, batch_size, rng):
            yield tuple(rows[i] for i in indices), targets, rng.integers(2**63)

    def gather(*args):
        *indices, batch_seed = args
        xs = [np.asarray(images[i], np.float32) for i in indices]
        if augmented:
            varied = np.random.default_rng(batch_seed)
            xs = [augment(x, varied) for x in xs]
        return xs

    def load(indices, targets, batch_seed):
        xs = tf.numpy_function(gather, [*indices, batch_seed], [tf.float32] * n_inputs, stateful=False)
        for x in xs:
            x.set_shape([None, *images.shape[1:]])
        return (tuple(xs) if n_inputs > 1 else xs[0]), targets

    index = tf.TensorSpec([None], tf.int64)
    signature = (tuple([index] * n_inputs), tf.TensorSpec([None], tf.float32), tf.TensorSpec([], tf.int64))
    # Every epoch has the same number of batches, so it is known up front: Keras shows
    # progress and expects no early end.
    dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(objective.batches_per_epoch(labels, batch_size)))
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


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
    from siamese.model.network import plan_architecture, resolve_precision

    config.precision = resolve_precision(config.precision, config.loss)
    keras.utils.set_random_seed(config.seed)
    objective = objective_for(config)
    record = RunRecord(run_dir, new_info(config, data, plan_architecture(data.input_shape, objective.normalized)))
    if strategy is not None:
        record.info["distribution"] = {"strategy": type(strategy).__name__, "replicas": int(strategy.num_replicas_in_sync)}
    record.write_info()
    try:
        scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
        with scope:
            built = Built(objective, config, data.input_shape, len(data.class_names))
        model, trained = built.model, built.trainer  # the run keeps the siamese model, whatever the objective
        train_labels = data.labels[data.train_rows]
        train_batches = batch_dataset(objective, data.images, data.train_rows, train_labels, config.batch_size, config.seed, resample=True,
                                      augmented=config.augment)
        val_batches = None
        val_labels = data.labels[data.val_rows]
        if has_validation_pairs(val_labels):
            val_batches = batch_dataset(objective, data.images, data.val_rows, val_labels, config.batch_size, config.seed + 1, resample=False)
        recorder = _recorder_class()(record, saved=model)
        try:
            with ctrl_c_stops(recorder):
                trained.fit(
                    train_batches,
                    validation_data=val_batches,
                    epochs=config.epochs,
                    verbose=verbose,
                    callbacks=[recorder, *extra_callbacks],
                    shuffle=False,  # batch_dataset shuffles and resamples every epoch itself
                )
            status = "cancelled" if recorder.cancelled else "complete"
        except KeyboardInterrupt:
            status = "cancelled"
    except BaseException as exc:
        record.fail(f"{exc.__class__.__name__}: {exc}")
        raise
    clear_cancel_request(run_dir)
    return record.finish(status)

