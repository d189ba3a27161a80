"""Training objectives (train --loss): the triplet loss, its class-balanced batches, and a run
trained with it working everywhere a contrastive run does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import siamese
from siamese.errors import SiameseError
from siamese.runs.schema import validate_run_info
from siamese.scoring.compare_runs import run_settings
from siamese.training.pairs import balanced_batches
from tests.helpers import run_cli


def test_balanced_batches_hold_k_images_of_p_classes_and_cover_an_epoch():
    labels = np.repeat(np.arange(10), [12, 12, 12, 12, 12, 12, 12, 12, 3, 1])
    batches = balanced_batches(labels, 32, 4, np.random.default_rng(0))
    assert len(batches) == -(-2 * labels.size // 32)
    for batch in batches:
        counts = np.bincount(labels[batch], minlength=10)
        assert batch.size == 32 and set(counts[counts > 0]) == {4} and np.count_nonzero(counts) == 8
    # A class with fewer images than K lends some twice; every class is drawn at some point.
    assert set(np.concatenate([labels[b] for b in batches])) == set(range(10))


def test_few_classes_fill_the_batch_with_more_images_each():
    labels = np.repeat(np.arange(3), 20)
    batch = balanced_batches(labels, 30, 4, np.random.default_rng(1))[0]
    assert sorted(np.bincount(labels[batch])) == [10, 10, 10]


def test_the_triplet_loss_counts_every_violating_triplet_of_the_batch():
    from siamese.model.network import TripletLoss

    # Class 0 at 0 and 1 on a line, class 1 at 1.5: triplets (anchor, positive, negative)
    # (0, 1, 2): d_ap 1 - d_an 1.5 + margin 1 = 0.5; (1, 0, 2): 1 - 0.5 + 1 = 1.5; class 1 has no positive.
    embeddings = np.array([[0.0], [1.0], [1.5]], np.float32)
    loss = float(TripletLoss(margin=1.0)(np.array([0, 0, 1], np.float32), embeddings))
    assert loss == pytest.approx((0.5 + 1.5) / 2, abs=1e-4)
    # Far apart: no triplet violates the margin, the loss is 0.
    assert float(TripletLoss(margin=1.0)(np.array([0, 0, 1], np.float32), np.array([[0.0], [0.1], [5.0]], np.float32))) == pytest.approx(0.0, abs=1e-6)


def test_a_triplet_run_records_its_loss_and_works_downstream(tiny_data: Path, tmp_path: Path):
    run_dir = tmp_path / "triplet"
    run_cli("train", str(tiny_data / "train"), "--out", str(run_dir), "--epochs", "2", "--batch-size", "8", "--loss", "triplet", "--represent")
    run = siamese.load_run(run_dir)
    assert run.config.loss == "triplet" and run.has_representatives
    assert {"loss", "pair_accuracy"} <= set(run.history().columns) and np.isfinite(run.history()["loss"]).all()
    probe = json.loads(run_cli("probe", str(run_dir), str(next((tiny_data / "test").rglob("*.png"))), "--json").stdout)
    assert probe["nearest_class"] in run.class_names
    result = siamese.evaluate(run, tiny_data / "test", tiny_data / "unknown")
    assert 0 <= result.metrics()["auroc_unknown"] <= 1
    assert run_settings(run)["loss"] == "triplet" and run_settings(run)["distance"] == "euclidean"  # what Compare shows


def test_an_unknown_loss_is_refused_in_a_sentence(tiny_data: Path, tmp_path: Path):
    done = run_cli("train", str(tiny_data / "train"), "--out", str(tmp_path / "r"), "--loss", "sphereface", check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "--loss" in done.stderr
    with pytest.raises(SiameseError, match="loss 'nope' is not valid"):
        siamese.TrainConfig(train_dir=str(tiny_data / "train"), loss="nope").validate()


def test_a_run_file_with_an_unknown_loss_is_refused(tiny_run: Path):
    info = json.loads((tiny_run / "run.json").read_text())
    assert info["config"].get("loss", "contrastive") == "contrastive"
    info["config"]["loss"] = "magic"
    with pytest.raises(SiameseError, match="config.loss"):
        validate_run_info(info, tiny_run / "run.json")





# --- cosface: a margin-based softmax, embeddings on the unit sphere ----------------------------

def test_the_cosface_loss_subtracts_the_margin_from_the_own_class_only():
    from siamese.model.margin_softmax import cosface_loss

    cosines = np.array([[0.9, 0.1, -0.2]], np.float32)
    scale, margin = 16.0, 0.35
    logits = scale * np.array([0.9 - margin, 0.1, -0.2])
    expected = -np.log(np.exp(logits[0]) / np.exp(logits).sum())
    assert float(cosface_loss(np.array([0]), cosines, scale, margin)) == pytest.approx(expected, rel=1e-3)
    # Without the margin the same cosines cost less: the margin is what separates classes further.
    assert float(cosface_loss(np.array([0]), cosines, scale, 0.0)) < expected


def test_a_cosface_run_embeds_on_the_unit_sphere_and_works_downstream(tiny_data: Path, tmp_path: Path, caplog):
    run_dir = tmp_path / "cosface"
    run_cli("train", str(tiny_data / "train"), "--out", str(run_dir), "--epochs", "2", "--batch-size", "8", "--loss", "cosface", "--represent")
    run = siamese.load_run(run_dir)
    assert run.config.loss == "cosface" and run.has_representatives
    assert run.info["architecture"][-1] == {"layer": "Dense", "units": 512, "activation": "linear", "normalized": True, "output": [512]}
    assert {"loss", "pair_accuracy"} <= set(run.history().columns) and np.isfinite(run.history()["loss"]).all()
    images = sorted((tiny_data / "test").rglob("*.png"))
    with caplog.at_level("WARNING", logger="siamese"):
        embeddings, kept, _ = run.embed_files(images)
    assert len(kept) == len(images) and not [r for r in caplog.records if "fast" in r.getMessage()]  # the fast path agreed
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-4)
    probe = json.loads(run_cli("probe", str(run_dir), str(images[0]), "--json").stdout)
    assert probe["nearest_class"] in run.class_names and 0 <= probe["distance"] <= 2.0 + 1e-6  # a chord of the unit sphere
    assert 0 <= siamese.evaluate(run, tiny_data / "test", tiny_data / "unknown").metrics()["auroc_unknown"] <= 1
    assert run_settings(run)["loss"] == "cosface" and run_settings(run)["distance"] == run.distance == "unit-sphere euclidean"


# --- contrastive-triplet: the contrastive loss over a balanced batch's pairs plus batch-all triplets --------

def test_the_contrastive_triplet_loss_adds_the_batch_pairs_contrastive_loss_to_the_triplet_loss():
    from siamese.model.network import ContrastiveTripletLoss

    # Class 0 at 0 and 1 on a line, class 1 at 1.5; margin 1. Same-class pairs (0, 1), (1, 0):
    # d^2 = 1 each, mean 1. Other-class pairs (0, 2), (2, 0): max(1 - 1.5, 0)^2 = 0; (1, 2),
    # (2, 1): max(1 - 0.5, 0)^2 = 0.25; mean 0.125. Contrastive: (1 + 0.125) / 2, each kind
    # weighted a half. Triplets (as above): (0.5 + 1.5) / 2 = 1.
    embeddings = np.array([[0.0], [1.0], [1.5]], np.float32)
    loss = float(ContrastiveTripletLoss(margin=1.0)(np.array([0, 0, 1], np.float32), embeddings))
    assert loss == pytest.approx((1 + 0.125) / 2 + 1.0, abs=1e-4)
    # Classes tight and far apart: nothing to pull or push, the loss is 0.
    tight = np.array([[0.0], [0.0], [5.0]], np.float32)
    assert float(ContrastiveTripletLoss(margin=1.0)(np.array([0, 0, 1], np.float32), tight)) == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize("spread", [1.0, 0.0], ids=["spread", "collapsed"])
def test_the_contrastive_triplet_gradient_is_finite_even_for_collapsed_embeddings(spread):
    from siamese.model.backend import tf
    from siamese.model.network import ContrastiveTripletLoss

    embeddings = tf.Variable(spread * np.random.default_rng(0).normal(size=(8, 5)).astype(np.float32) + 0.5)
    with tf.GradientTape() as tape:
        loss = ContrastiveTripletLoss(0.6)(np.repeat(np.arange(4), 2).astype(np.float32), embeddings)
    gradient = tape.gradient(loss, embeddings).numpy()
    assert np.isfinite(float(loss)) and np.isfinite(gradient).all()


def test_a_contrastive_triplet_run_records_its_loss_and_works_downstream(tiny_data: Path, tmp_path: Path):
    run_dir = tmp_path / "contrastive-triplet"
    run_cli("train", str(tiny_data / "train"), "--out", str(run_dir), "--epochs", "2", "--batch-size", "8", "--loss", "contrastive-triplet", "--represent")
    run = siamese.load_run(run_dir)
    assert run.config.loss == "contrastive-triplet" and run.has_representatives and run.distance == "euclidean"
    assert {"loss", "pair_accuracy"} <= set(run.history().columns) and np.isfinite(run.history()["loss"]).all()
    assert 0 <= siamese.evaluate(run, tiny_data / "test", tiny_data / "unknown").metrics()["auroc_unknown"] <= 1
    assert run_settings(run)["loss"] == "contrastive-triplet"


# --- arcface: an additive angular margin, embeddings on the unit sphere ------------------------

def test_the_arcface_loss_adds_the_margin_to_the_own_class_angle():
    from siamese.model.margin_softmax import arcface_loss

    cosines = np.array([[0.9, 0.1, -0.2]], np.float32)
    scale, margin = 16.0, 0.5
    logits = scale * np.array([np.cos(np.arccos(0.9) + margin), 0.1, -0.2])
    expected = -np.log(np.exp(logits[0]) / np.exp(logits).sum())
    assert float(arcface_loss(np.array([0]), cosines, scale, margin)) == pytest.approx(expected, rel=1e-3)
    # Past angle pi - margin the own class's logit is cos - margin sin(margin): still falling with the angle.
    far = np.array([[-0.95, 0.1]], np.float32)
    logits = scale * np.array([-0.95 - margin * np.sin(margin), 0.1])
    assert float(arcface_loss(np.array([0]), far, scale, margin)) == pytest.approx(-np.log(np.exp(logits[0]) / np.exp(logits).sum()), rel=1e-3)


def test_the_arcface_gradient_is_finite_at_cosines_of_plus_and_minus_one():
    from siamese.model.backend import tf
    from siamese.model.margin_softmax import arcface_loss

    cosines = tf.Variable(np.array([[1.0, -1.0, 0.3], [-1.0, 1.0, 0.0], [0.5, 0.2, 1.0]], np.float32))
    with tf.GradientTape() as tape:
        loss = arcface_loss(np.array([0, 0, 2]), cosines)
    assert np.isfinite(float(loss)) and np.isfinite(tape.gradient(loss, cosines).numpy()).all()


def test_an_arcface_run_embeds_on_the_unit_sphere_and_works_downstream(tiny_data: Path, tmp_path: Path):
    run_dir = tmp_path / "arcface"
    run_cli("train", str(tiny_data / "train"), "--out", str(run_dir), "--epochs", "2", "--batch-size", "8", "--loss", "arcface", "--represent")
    run = siamese.load_run(run_dir)
    assert run.config.loss == "arcface" and run.has_representatives and run.distance == "unit-sphere euclidean"
    assert np.isfinite(run.history()["loss"]).all()
    embeddings = run.embed(siamese.load_folder(tiny_data / "test", run.input_shape).images)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-4)
    assert run_settings(run)["loss"] == "arcface" and run_settings(run)["distance"] == "unit-sphere euclidean"


def test_a_run_file_without_a_loss_reads_as_contrastive(tiny_run: Path, tmp_path: Path):
    import shutil

    old = shutil.copytree(tiny_run, tmp_path / "old")  # a copy: tiny_run is shared by the session
    info = json.loads((old / "run.json").read_text())
    info["config"].pop("loss", None)
    (old / "run.json").write_text(json.dumps(info))
    run = siamese.load_run(old)
    assert run.config.loss == "contrastive" and run_settings(run)["loss"] == "contrastive"


# --- supcon: the supervised contrastive loss, embeddings on the unit sphere -------------------

def test_the_supervised_contrastive_loss_averages_each_anchors_positives_against_every_other_image():
    from siamese.model.network import SupervisedContrastiveLoss

    # Three unit vectors, classes 0, 0, 1, temperature 0.5. Anchor 0's one positive is image 1
    # (cosine 0.6) against images 1 and 2 (cosine 0); anchor 1's is image 0 against 0 and 2
    # (cosine 0.8); anchor 2 has no positive and is left out.
    embeddings = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], np.float32)
    t = 0.5
    first = -np.log(np.exp(0.6 / t) / (np.exp(0.6 / t) + np.exp(0.0 / t)))
    second = -np.log(np.exp(0.6 / t) / (np.exp(0.6 / t) + np.exp(0.8 / t)))
    loss = float(SupervisedContrastiveLoss(temperature=t)(np.array([0, 0, 1], np.float32), embeddings))
    assert loss == pytest.approx((first + second) / 2, rel=1e-4)
    # Classes apart on the sphere cost less than classes mixed.
    apart = np.array([[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]], np.float32)
    assert float(SupervisedContrastiveLoss(temperature=t)(np.array([0, 0, 1], np.float32), apart)) < loss


@pytest.mark.parametrize("spread", [1.0, 0.0], ids=["spread", "collapsed"])
def test_the_supervised_contrastive_gradient_is_finite_even_for_collapsed_embeddings(spread):
    from siamese.model.backend import tf
    from siamese.model.network import SupervisedContrastiveLoss

    raw = tf.Variable(spread * np.random.default_rng(0).normal(size=(8, 5)).astype(np.float32) + 0.5)
    with tf.GradientTape() as tape:
        loss = SupervisedContrastiveLoss()(np.repeat(np.arange(4), 2).astype(np.float32), tf.math.l2_normalize(raw, axis=1))
    assert np.isfinite(float(loss)) and np.isfinite(tape.gradient(loss, raw).numpy()).all()


def test_a_supcon_run_trains_in_float32_on_the_unit_sphere_and_works_downstream(tiny_data: Path, tmp_path: Path):
    run_dir = tmp_path / "supcon"
    run_cli("train", str(tiny_data / "train"), "--out", str(run_dir), "--epochs", "2", "--batch-size", "8", "--loss", "supcon", "--represent")
    run = siamese.load_run(run_dir)
    # --precision auto is float32 for supcon whatever the CPU: in mixed bfloat16 it collapsed.
    assert run.config.loss == "supcon" and run.config.precision == "float32" and run.has_representatives
    assert run.config.learning_rate == 0.001  # supcon's own default (no --lr given)
    assert run.distance == "unit-sphere euclidean" and np.isfinite(run.history()["loss"]).all()
    embeddings = run.embed(siamese.load_folder(tiny_data / "test", run.input_shape).images)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-4)
    probe = json.loads(run_cli("probe", str(run_dir), str(sorted((tiny_data / "test").rglob("*.png"))[0]), "--json").stdout)
    assert probe["nearest_class"] in run.class_names and 0 <= probe["distance"] <= 2.0 + 1e-6
    assert 0 <= siamese.evaluate(run, tiny_data / "test", tiny_data / "unknown").metrics()["auroc_unknown"] <= 1
    assert run_settings(run)["loss"] == "supcon" and run_settings(run)["distance"] == "unit-sphere euclidean"


def test_supcon_in_mixed_bfloat16_is_refused_in_a_sentence(tiny_data: Path, tmp_path: Path):
    done = run_cli("train", str(tiny_data / "train"), "--out", str(tmp_path / "run"), "--loss", "supcon", "--precision", "mixed_bfloat16", check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "precision 'mixed_bfloat16' is not valid; use float32 or auto with the supcon loss" in done.stderr
    assert not (tmp_path / "run").exists()
