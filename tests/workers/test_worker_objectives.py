"""Every objective on several workers (issue 21): shares of class-balanced batches, a step
whose gradient is the one-process batch's, a checkpoint to resume from that holds every trained
weight, triplet, contrastive-triplet, supcon, cosface and arcface runs of two local workers that
work downstream, and a --loss that differs between workers refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import siamese
from helpers import ROOT, run_cli
from siamese.training.config import LOSSES, NORMALIZED_LOSSES
from siamese.training.objective import Objective
from siamese.workers.cluster import local_addresses
from siamese.workers.pair_shares import epoch_batches, share
from tests.workers.test_worker import _finish, _info, _start

TRIPLET, COSFACE = Objective("triplet", True, False), Objective("cosface", True, True)
CONTRASTIVE, CONTRASTIVE_TRIPLET = Objective("contrastive", False, False), Objective("contrastive-triplet", True, False)


@pytest.mark.parametrize("objective", [TRIPLET, COSFACE, CONTRASTIVE, CONTRASTIVE_TRIPLET], ids=lambda o: o.loss)
def test_the_workers_shares_cover_every_batch_once_in_order(objective):
    labels = np.repeat(np.arange(6), [9, 7, 7, 5, 3, 1])
    for global_batch, workers in [(8, 2), (32, 2), (12, 3), (10, 4), (16, 2)]:
        batches = epoch_batches(objective, labels, global_batch, seed=5, epoch=2, shuffle=True)
        again = epoch_batches(objective, labels, global_batch, seed=5, epoch=2, shuffle=True)  # what another worker draws
        assert len(batches) == objective.batches_per_epoch(labels, global_batch)
        for (indices, targets), (same_indices, same_targets) in zip(batches, again):
            assert all(np.array_equal(a, b) for a, b in zip(indices, same_indices)) and np.array_equal(targets, same_targets)
            parts = [share(targets.size, workers, w) for w in range(workers)]
            # the shares, in the workers' order, are the batch: every example exactly once
            assert np.array_equal(np.concatenate([np.arange(targets.size)[p] for p in parts]), np.arange(targets.size))
            if objective.balanced:
                counts = np.bincount(labels[indices[0]])
                assert set(counts[counts > 0]) == {counts.max()}  # P classes x K images, whole
    assert not np.array_equal(batches[0][0][0], epoch_batches(objective, labels, 16, seed=5, epoch=3, shuffle=True)[0][0][0])


# Two replicas (logical CPUs) of one process run the workers' step; the one-process
# gradient of the same global batch must equal the step's update (SGD, learning rate 1).
# The triplet, contrastive-triplet and supcon checks use a small dense embedding: this network's
# untrained embeddings lie within float32's rounding of each other (sigmoid outputs near
# 0.5), where any two ways of computing them differ by more than the check allows;
# contrastive, cosface and arcface use the network.
GRADIENT_CHECK = r"""
import sys
import numpy as np
from siamese.model.backend import keras, tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from siamese.model.network import ContrastiveTripletLoss, SupervisedContrastiveLoss, TripletLoss
from siamese.training.config import TrainConfig
from siamese.training.objective import Built, objective_for
from siamese.workers.pair_shares import epoch_batches
from siamese.workers.steps import make_step, share_dataset

class Toy(Built):
    def __init__(self, objective):
        self.objective = objective
        ends = [keras.layers.UnitNormalization()] if objective.normalized else []
        self.trainer = keras.Sequential([keras.Input((12, 16, 3)), keras.layers.Flatten(), keras.layers.Dense(8), *ends])
        self.embedding = self.trainer
        losses = {"contrastive-triplet": ContrastiveTripletLoss(0.6), "supcon": SupervisedContrastiveLoss()}
        self._loss = losses.get(objective.loss, TripletLoss(0.6)).call

rng = np.random.default_rng(0)
images, labels = rng.random((24, 12, 16, 3), dtype=np.float32), np.repeat(np.arange(4), 6)
strategy = tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
for loss in sys.argv[1:]:
    config = TrainConfig(train_dir="-", batch_size=4, loss=loss, precision="float32")
    objective = objective_for(config)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        built = Toy(objective) if loss in ("triplet", "contrastive-triplet", "supcon") else Built(objective, config, (12, 16, 3), 4, compiled=False)
        optimizer = keras.optimizers.SGD(1.0)
        optimizer.build(built.trainer.trainable_variables)
    variables = built.trainer.trainable_variables
    before = [v.numpy() for v in variables]
    dataset = share_dataset(strategy, objective, images, np.arange(24), labels, [0, 0], True, False, 4, 0, 1)
    totals = make_step(strategy, built, optimizer, True)(iter(dataset)).numpy()
    update = [b - v.numpy() for b, v in zip(before, variables)]
    for v, b in zip(variables, before):
        v.assign(b)
    indices, targets = epoch_batches(objective, labels, 8, 0, 0, True)[0]
    with tf.GradientTape() as tape:
        outputs, _ = built.forward(tuple(tf.constant(images[i]) for i in indices), True)
        value = built.batch_loss(tf.constant(targets), outputs)
    gradient = tape.gradient(value, variables)
    scale = max(float(np.abs(g).max()) for g in gradient)
    error = max(float(np.abs(u - g.numpy()).max()) for u, g in zip(update, gradient))
    print(loss, error / scale, totals[0] / totals[3] - float(value), flush=True)
"""


def test_the_workers_step_has_the_one_process_gradient_of_the_global_batch():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", GRADIENT_CHECK, *LOSSES], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.strip().splitlines()]
    assert [r[0] for r in rows] == list(LOSSES)
    for loss, relative_error, loss_difference in rows:
        assert float(relative_error) < 1e-3 and abs(float(loss_difference)) < 1e-4, (loss, relative_error, loss_difference)


@pytest.mark.parametrize("loss", LOSSES)
def test_the_checkpoint_a_killed_worker_run_resumes_from_holds_every_trained_weight(loss, tmp_path):
    """What a restarted run restores (siamese.workers.worker: the trainer and the optimizer)
    holds every weight the objective trains, the margin softmaxes' class layer included."""
    from siamese.model.backend import keras, tf
    from siamese.training.config import TrainConfig
    from siamese.training.objective import Built, objective_for

    config = TrainConfig(train_dir="-", loss=loss, precision="float32")
    built = Built(objective_for(config), config, (12, 16, 3), 3, compiled=False)
    optimizer = keras.optimizers.Adam(0.001)
    optimizer.build(built.trainer.trainable_variables)
    checkpoint = tf.train.Checkpoint(model=built.trainer, optimizer=optimizer)
    saved = checkpoint.save(str(tmp_path / "ckpt"))
    trained = [w.numpy().copy() for w in built.trainer.weights]
    if objective_for(config).classifier:
        assert any(w.path.startswith(built.trainer.classifier.name + "/") for w in built.trainer.weights)  # the class layer
    for w in built.trainer.weights:
        w.assign(w.numpy() + 1.0)
    checkpoint.restore(saved).assert_existing_objects_matched()
    for before, w in zip(trained, built.trainer.weights):
        np.testing.assert_array_equal(before, w.numpy(), err_msg=w.path)


def _two_workers(tiny_data: Path, tmp_path: Path, *extra: str, per_worker: list[tuple[str, ...]] | None = None) -> list[tuple[int, str, str]]:
    workers = local_addresses(2)
    outs = [tmp_path / "chief" / "run", tmp_path / "other" / "run"]
    procs = [_start(tiny_data, out, workers, i, tmp_path / f"tmp{i}", *extra, *(per_worker[i] if per_worker else ()))
             for i, out in enumerate(outs)]
    return [_finish(p) for p in procs]


@pytest.mark.slow  # two workers train two epochs, then represent, evaluate and probe
@pytest.mark.parametrize("loss", ["triplet", "contrastive-triplet", "supcon", "cosface", "arcface"])
def test_two_workers_train_runs_of_each_balanced_objective_that_work_downstream(tiny_data, tmp_path, loss):
    results = _two_workers(tiny_data, tmp_path, "--epochs", "2", "--loss", loss, "--represent")
    for code, _, err in results:
        assert code == 0, err
    chief = tmp_path / "chief" / "run"
    info = _info(chief)
    assert info["status"] == "complete" and info["config"]["loss"] == loss and info["distribution"]["global_batch_size"] == 8
    normalized = loss in NORMALIZED_LOSSES
    assert info["architecture"][-1].get("normalized", False) == normalized
    run = siamese.load_run(chief)
    assert run.has_representatives and np.isfinite(run.history()["loss"]).all() and run.history()["epoch"].tolist() == [1, 2]
    assert run.distance == ("unit-sphere euclidean" if normalized else "euclidean")
    report = json.loads(run_cli("evaluate", str(chief), str(tiny_data / "test"), "--unknown", str(tiny_data / "unknown"), "--json").stdout)
    assert 0 <= report["auroc_unknown"] <= 1 and report["n_test"] == sum(1 for _ in (tiny_data / "test").rglob("*.png"))
    probe = json.loads(run_cli("probe", str(chief), str(next((tiny_data / "test").rglob("*.png"))), "--json").stdout)
    assert probe["nearest_class"] in run.class_names
    if normalized:
        embeddings = run.embed(siamese.load_folder(tiny_data / "test", run.input_shape).images)
        np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-4)
    assert not (tmp_path / "other" / "run").exists()


@pytest.mark.slow  # starts two workers (no epoch is trained)
def test_workers_started_with_different_losses_are_refused_in_one_sentence(tiny_data, tmp_path):
    results = _two_workers(tiny_data, tmp_path, per_worker=[("--loss", "triplet"), ("--loss", "cosface")])
    for code, _, err in results:
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert "worker 1 (127.0.0.1:" in err and "another loss than worker 0" in err
    assert not (tmp_path / "chief" / "run").exists()
