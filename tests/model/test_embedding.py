"""Embedding with a run's saved network: the same values as the Keras model, file by file, in any thread."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from siamese.data.folders import decode_image, load_folder
from siamese.errors import SiameseError
from siamese.model.embedding import Embedding
from siamese.runs.store import load_run

SHAPE = (28, 28, 1)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A siamese model with random weights saved as a run saves it, and its embedding network."""
    from siamese.model.network import build_embedding_network, build_siamese

    network = build_embedding_network(SHAPE)
    rng = np.random.default_rng(0)
    network.set_weights([rng.normal(0.0, 0.3, w.shape).astype(np.float32) for w in network.get_weights()])
    path = tmp_path_factory.mktemp("model") / "model.keras"
    build_siamese(network).save(path)
    return path, network


def test_embeddings_equal_the_keras_model_in_any_batch_size(saved):
    path, network = saved
    images = np.random.default_rng(1).random((5, *SHAPE), dtype=np.float32)
    expected = np.asarray(network(images, training=False))
    embedding = Embedding(path, SHAPE)
    np.testing.assert_allclose(embedding.embed(images), expected, atol=1e-5)
    np.testing.assert_allclose(embedding.embed(images, batch_size=2), expected, atol=1e-5)
    assert embedding.dimension == 512 and embedding.network() is embedding.network()
    with pytest.raises(SiameseError, match="do not fit"):
        embedding.embed(images[..., 0])


def test_files_are_embedded_in_batches_with_unreadable_ones_skipped_and_rows_reduced(saved, tmp_path):
    path, _ = saved
    files = []
    for i in range(5):
        files.append(tmp_path / f"{i}.png")
        Image.fromarray(np.random.default_rng(i).integers(0, 256, SHAPE[:2], dtype=np.uint8), "L").save(files[-1])
    (tmp_path / "2.png").write_bytes(b"not an image")
    embedding = Embedding(path, SHAPE)
    rows, kept, skipped = embedding.embed_files(files, batch_size=2)
    assert kept.tolist() == [0, 1, 3, 4] and [s.path for s in skipped] == [str(tmp_path / "2.png")]
    decoded = np.stack([decode_image(files[i], SHAPE) for i in kept])
    np.testing.assert_allclose(rows, embedding.embed(decoded), atol=1e-5)  # other batch sizes: float32 rounding
    reduced, kept_again, _ = embedding.embed_files(files, batch_size=2, reduce=lambda e: e[:, :3].sum(axis=1, keepdims=True))
    np.testing.assert_allclose(reduced[:, 0], rows[:, :3].sum(axis=1), rtol=1e-5)
    assert kept_again.tolist() == kept.tolist()
    nothing, none_kept, _ = embedding.embed_files([tmp_path / "2.png"])
    assert nothing.shape == (0, 512) and none_kept.size == 0


def test_a_missing_model_is_reported_with_what_to_do(tmp_path):
    with pytest.raises(SiameseError, match="has no model.keras yet; wait for the first epoch"):
        Embedding(tmp_path / "model.keras", SHAPE).embed(np.zeros((1, *SHAPE), np.float32))


def test_saved_run_gives_identical_embeddings(tiny_run, tiny_data):
    images = load_folder(tiny_data / "test", (60, 80, 3)).images
    first = load_run(tiny_run).embed(images)
    second = load_run(tiny_run).embed(images)
    np.testing.assert_array_equal(first, second)
    stored = np.load(tiny_run / "embeddings.npy")
    run = load_run(tiny_run)
    train = load_folder(tiny_data / "train", (60, 80, 3))
    trained_on = [str(p.relative_to(tiny_data / "train")) not in run.calibration_files for p in train.paths]
    np.testing.assert_allclose(run.embed(train.images[trained_on]), stored, atol=1e-6)


def test_concurrent_embed_calls_on_one_run_match_sequential(tiny_run):
    run = load_run(tiny_run)
    rng = np.random.default_rng(0)
    batches = [rng.random((n, 60, 80, 3), dtype=np.float32) for n in (1, 3, 7, 16, 2, 5, 9, 4, 11, 6)]
    expected = [run.embed(b) for b in batches]
    fresh = load_run(tiny_run)  # the model is loaded lazily: let ten threads race to load it
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(fresh.embed, batches))
    for got, want in zip(results, expected):
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert fresh.embedding_network() is fresh.embedding_network()


def test_embed_files_and_embed_match_the_keras_model(tiny_run: Path, tiny_data: Path):
    run = load_run(tiny_run)
    test = load_folder(tiny_data / "test", run.input_shape, run.class_names)
    expected = run.embedding_network().predict(test.images, verbose=0)
    np.testing.assert_allclose(run.embed(test.images, batch_size=3), expected, atol=1e-6)
    embeddings, kept, skipped = run.embed_files(test.paths, batch_size=3)  # several decode batches in flight
    np.testing.assert_allclose(embeddings, expected, atol=1e-6)
    assert kept.tolist() == list(range(len(test.paths))) and skipped == []
    reduced, _, _ = run.embed_files(test.paths, batch_size=3, reduce=lambda e: e[:, :2] * 2)
    np.testing.assert_allclose(reduced, expected[:, :2] * 2, atol=1e-6)
