"""Training on several machines: MultiWorkerMirroredStrategy with a training loop of our own.

Keras's ``fit`` cannot feed this strategy (it fails converting a PerReplica batch to a
tensor, keras-team/keras#20585), so each step runs under ``strategy.run``
(``siamese.workers.steps``): the objective (``siamese.training.objective``, any loss)
takes the whole global batch, gathered from the workers' shares, the optimizer sums the
workers' gradients, and the epoch's loss and pair accuracy are summed with
``strategy.reduce``. Each worker feeds its own share of every global batch
(``siamese.workers.pair_shares``). Only the chief (worker 0) writes the run; every worker keeps a
checkpoint (model, optimizer, epoch) after each epoch, the chief in the run folder and
the others in a temporary folder they remove, so a restarted run resumes from the last
finished epoch, with the chief's weights sent to every worker.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from siamese.data.folders import refuse_inside_dataset
from siamese.errors import SiameseError
from siamese.runs.atomic_files import atomic_write, write_text
from siamese.runs.layout import HISTORY_FILE, MODEL_FILE, RUN_FILE, now
from siamese.runs.store import Run
from siamese.training.config import TrainConfig
from siamese.training.loop import RunRecord, best_metrics, describe_data, has_validation_pairs, history_csv, new_info
from siamese.training.objective import Built, objective_for
from siamese.training.training_set import load_training_data
from siamese.workers.cluster import Cluster
from siamese.workers.settings import STRATEGY_NAME, differing_settings, resumes, setting_hashes
from siamese.workers.steps import make_step, share_dataset

CHECKPOINT_DIR = "checkpoint"  # in the chief's run folder: the last finished epoch, to resume from
HEARTBEAT_ENV = "SIAMESE_WORKER_HEARTBEAT"  # set by siamese.workers.supervisor: the file this worker reports its phase in
DEFAULT_TIMEOUT = 180.0  # seconds a worker waits for its peers (--worker-timeout)


class Heartbeat:
    """Tells the supervising process (``siamese.workers.supervisor``) this worker's phase and that it is alive.

    The phase is the file's text, the last sign of life its modification time. Without a
    file (training started from Python), it does nothing.
    """

    def __init__(self, path: str | None):
        self.path, self.phase = (Path(path) if path else None), ""

    def __call__(self, phase: str) -> None:
        if self.path is None:
            return
        if phase != self.phase:
            write_text(self.path, phase)
            self.phase = phase
        else:
            os.utime(self.path)


def one_sentence(exc: BaseException) -> str:
    """An exception as one short line (TensorFlow's messages can hold whole tensors)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def multiworker_strategy(timeout: float):
    """MultiWorkerMirroredStrategy (from TF_CONFIG) whose collective operations give up after ``timeout`` seconds."""
    from siamese.model.backend import tf

    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def train_multiworker(config: TrainConfig, run_dir: str | os.PathLike[str], cluster: Cluster, timeout: float = DEFAULT_TIMEOUT,
                      verbose: int | str = 2, strategy=None) -> Run | None:
    """Train as one worker of ``cluster``; the chief writes ``run_dir`` (others never touch it).

    Returns:
        The finished run on the chief, None on the other workers.

    Raises:
        SiameseError: bad input, settings that differ between workers, a run folder
            that cannot be used, or a lost worker (the chief's run then reads failed).
    """
    config.validate()
    run_dir = Path(run_dir)
    beat = Heartbeat(os.environ.get(HEARTBEAT_ENV))
    beat("local")
    with tempfile.TemporaryDirectory(prefix="siamese-worker-") as workdir:
        data = load_training_data(config, Path(workdir))
        if cluster.is_chief:
            refuse_inside_dataset(run_dir, data.root, "run folder")
        describe_data(config, run_dir, data)
        # deferred: siamese.model.network imports TensorFlow, which takes seconds to load
        from siamese.model.network import resolve_precision

        config.precision = resolve_precision(config.precision, config.loss)
        beat("joining")
        strategy = strategy or multiworker_strategy(timeout)
        loop = _Loop(config, run_dir, data, cluster, strategy, beat, Path(workdir), verbose)
        return loop.run()


class _Loop:
    """One worker's training: settings check, start or resume, epochs, the chief's records."""

    def __init__(self, config, run_dir, data, cluster, strategy, beat, workdir, verbose):
        self.config, self.run_dir, self.data, self.cluster = config, run_dir, data, cluster
        self.strategy, self.beat, self.workdir, self.verbose = strategy, beat, workdir, verbose
        self.record: RunRecord | None = None  # the chief's
        self.epoch = 0
        self.steps: dict[bool, object] = {}  # compiled once per kind (training, validation)
        self.objective = objective_for(config)

    def run(self) -> Run | None:
        from siamese.model.backend import tf

        try:
            self._check_settings()
            self._build()
            self._start()
            for epoch in range(self.epoch, self.config.epochs):
                self.epoch = epoch
                self._train_epoch(epoch)
        except tf.errors.OpError as exc:
            self._fail(f"{self.cluster.name()} lost contact with another worker during epoch {self.epoch + 1} ({exc.__class__.__name__}); "
                       "restart every worker with the same command to resume from the last finished epoch")
        except SiameseError as exc:
            self._fail(str(exc))
        except BaseException as exc:
            self._record_failure(one_sentence(exc))
            raise
        self.beat("local")
        if not self.cluster.is_chief:
            return None
        return self.record.finish("complete")

    def _fail(self, sentence: str):
        self._record_failure(sentence)
        raise SiameseError(sentence) from None

    def _record_failure(self, sentence: str) -> None:
        if self.record is not None:
            self.record.fail(sentence)

    # Collectives --------------------------------------------------------------------
    def _from_chief(self, values: list) -> list:
        """``values`` as the chief has them, on every worker (a sum where the others add zeros)."""
        from siamese.model.backend import tf

        chief = self.cluster.is_chief

        @tf.function
        def broadcast():
            masked = self.strategy.run(lambda: [tf.convert_to_tensor(v) * tf.cast(chief, tf.as_dtype(v.dtype)) for v in values])
            return [self.strategy.reduce("SUM", m, axis=None) for m in masked]

        return broadcast()

    def _check_settings(self) -> None:
        from siamese.model.backend import tf

        mine = tf.constant(setting_hashes(self.config)[None])

        @tf.function
        def gather():
            return self.strategy.run(lambda: tf.distribute.get_replica_context().all_gather(mine, axis=0))

        rows = self.strategy.experimental_local_results(gather())[0].numpy()
        differ = differing_settings(rows)
        if differ:
            worker, names = differ
            raise SiameseError(f"{self.cluster.name(worker)} was started with another {', '.join(names)} than {self.cluster.name(0)}; "
                               "start every worker with the same options and the same training data (same fingerprint)")

    # Model, run folder, resume -------------------------------------------------------
    def _build(self) -> None:
        from siamese.model.backend import keras, tf

        keras.utils.set_random_seed(self.config.seed)
        with self.strategy.scope():
            # every trained weight is in built.trainer (cosface: the class layer too); the run keeps built.model
            self.built = Built(self.objective, self.config, self.data.input_shape, len(self.data.class_names), compiled=False)
            self.model = self.built.model
            self.optimizer = keras.optimizers.Adam(self.config.learning_rate)
            self.optimizer.build(self.built.trainer.trainable_variables)
            self.epoch_done = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.history = tf.Variable("[]", dtype=tf.string, trainable=False)  # the chief's rows, saved with the weights
        checkpoint = tf.train.Checkpoint(model=self.built.trainer, optimizer=self.optimizer, epoch=self.epoch_done, history=self.history)
        folder = self.run_dir / CHECKPOINT_DIR if self.cluster.is_chief else self.workdir / CHECKPOINT_DIR
        self.checkpoints = tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=1)

    def _start(self) -> None:
        """The chief opens (or resumes) the run; every worker then takes the chief's state."""
        refusal, resumed = None, False
        if self.cluster.is_chief:
            try:
                resumed = resumes(self.run_dir, self.config)
                self._open_run(resumed)
            except SiameseError as exc:
                refusal = exc
        self.beat("joining")
        verdict = int(self._from_chief([np.int64(-1 if refusal else 0)])[0])
        if refusal:
            raise refusal
        if verdict < 0:
            raise SiameseError(f"{self.cluster.name(0)} refused its run folder (see its message); fix that and start every worker again")
        variables = [getattr(v, "value", v) for v in [*self.built.trainer.weights, *self.optimizer.variables]] + [self.epoch_done]
        for variable, value in zip(variables, self._from_chief(variables)):
            variable.assign(value)
        self.epoch = int(self.epoch_done.numpy())
        if resumed and self.verbose:
            print(f"resuming from epoch {self.epoch + 1} of {self.config.epochs}", flush=True)

    def _open_run(self, resumed: bool) -> None:
        from siamese.model.network import plan_architecture

        self.run_dir.mkdir(parents=True, exist_ok=True)
        if resumed:
            with open(self.run_dir / RUN_FILE, encoding="utf-8") as fh:
                info = json.load(fh)
            if self.checkpoints.latest_checkpoint:
                self.checkpoints.checkpoint.restore(self.checkpoints.latest_checkpoint).expect_partial()
            rows = json.loads(self.history.numpy().decode())
            write_text(self.run_dir / HISTORY_FILE, history_csv(rows)) if rows else (self.run_dir / HISTORY_FILE).unlink(missing_ok=True)
            info.setdefault("resumed", []).append({"at": now(), "from_epoch": len(rows) + 1})
            info.update(status="running", error=None, finished=None, pid=os.getpid(), epochs_done=len(rows))
            info["metrics"] = best_metrics(rows)
            self.record = RunRecord(self.run_dir, info, rows)
            if rows and info["metrics"].get("best_epoch") == len(rows):
                self._save_model()  # the last epoch was the best; its model may not have reached the disk
        else:
            self.record = RunRecord(self.run_dir, new_info(self.config, self.data, plan_architecture(self.data.input_shape, self.objective.normalized)))
        self.record.info["distribution"] = {"strategy": STRATEGY_NAME, "replicas": int(self.strategy.num_replicas_in_sync),
                                            "workers": list(self.cluster.addresses), "global_batch_size": self._global_batch()}
        self.record.write_info()

    # Epochs --------------------------------------------------------------------------
    def _global_batch(self) -> int:
        return self.config.batch_size * int(self.strategy.num_replicas_in_sync)

    def _train_epoch(self, epoch: int) -> None:
        started = time.monotonic()
        logs = self._pass(self.data.train_rows, [self.config.seed, epoch], training=True, epoch=epoch)
        if has_validation_pairs(self.data.labels[self.data.val_rows]):
            # a fixed validation set: the same pairs every epoch, as the one-process path has
            val = self._pass(self.data.val_rows, [self.config.seed + 1, 0], training=False, epoch=epoch)
            logs.update({f"val_{k}": v for k, v in val.items()})
        self._end_epoch(epoch, logs, time.monotonic() - started)

    def _pass(self, rows: np.ndarray, epoch_seed: list[int], training: bool, epoch: int) -> dict:
        """One pass over this worker's share of the batches of ``rows``: loss and pair accuracy over all workers."""
        if training not in self.steps:
            self.steps[training] = make_step(self.strategy, self.built, self.optimizer, training)
        labels = self.data.labels[rows]
        dataset = share_dataset(self.strategy, self.objective, self.data.images, rows, labels, epoch_seed, shuffle=training,
                                augmented=training and self.config.augment, batch_size=self.config.batch_size,
                                worker=self.cluster.index, n_workers=len(self.cluster.addresses))
        iterator, totals = iter(dataset), np.zeros(4)
        for _ in range(self.objective.batches_per_epoch(labels, self._global_batch())):
            self.beat(f"epoch {epoch + 1}")
            totals += self.steps[training](iterator).numpy()
        # as Keras's fit logs them: the batches' losses weighted by their sizes; pairs judged right over pairs judged
        return {"loss": totals[0] / totals[3], "pair_accuracy": totals[1] / totals[2]}

    def _end_epoch(self, epoch: int, logs: dict, seconds: float) -> None:
        logs = {k: float(v) for k, v in logs.items()}
        rows = json.loads(self.history.numpy().decode())
        # cumulative, as the one-process path records it; a resumed run carries on from its last epoch
        total = (rows[-1]["seconds"] if rows else 0.0) + seconds
        rows.append({"epoch": epoch + 1, **logs, "seconds": round(total, 3)})
        self.history.assign(json.dumps(rows))
        self.epoch_done.assign(epoch + 1)
        self.checkpoints.save()  # every worker saves, as TensorFlow's multi-worker guide has it
        if not self.cluster.is_chief:
            shutil.rmtree(self.checkpoints.directory, ignore_errors=True)
        else:
            self.record.end_epoch(epoch, logs, total, self._save_model)
        if self.verbose:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in logs.items())
            print(f"epoch {epoch + 1}/{self.config.epochs}: {shown} ({seconds:.1f} s, {self.cluster.name()})", flush=True)

    def _save_model(self) -> None:
        atomic_write(self.run_dir / MODEL_FILE, lambda tmp: self.model.save(tmp), suffix=".keras")


def worker_main(config: TrainConfig, run_dir: Path, cluster: Cluster, timeout: float, verbose: int | str) -> None:
    """Train as one worker process and leave at once (``os._exit``), with 0, or 2 and one line on stderr.

    Leaving without Python's shutdown skips TensorFlow's wait for the other workers to
    leave too, which blocks for long when one of them is gone.
    """
    code = 0
    try:
        run = train_multiworker(config, run_dir, cluster, timeout, verbose)
        if run is None:
            print(f"{cluster.name()}: finished {config.epochs} epochs; the run is written by {cluster.name(0)}")
        else:
            print(f"run {run.path}: {run.status}, {run.info['epochs_done']} epochs, best epoch {run.metrics.get('best_epoch')}, "
                  f"loss {run.metrics.get('loss', float('nan')):.4f}, pair accuracy {run.metrics.get('pair_accuracy', float('nan')):.3f}")
    except SiameseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except BaseException as exc:  # a bug: still one line for the supervisor to show
        print(f"error: {cluster.name()} stopped on an unexpected {one_sentence(exc)}", file=sys.stderr)
        code = 2
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
