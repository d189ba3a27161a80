"""Importing a model saved by the original scripts (.h5): weights only, never its code."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import run_cli, tree_digest
from siamese.runs.store import load_run


@pytest.mark.slow  # imports and represents in two command-line processes: tens of seconds
def test_an_original_keras_h5_model_imports_with_equal_embeddings(tiny_data, tmp_path):
    """The original saved its whole siamese model, Lambda distance included, as .h5."""
    from siamese.data.folders import load_folder
    from siamese.model.backend import keras
    from siamese.model.network import build_embedding_network

    base = build_embedding_network((60, 80, 3))
    rng = np.random.default_rng(0)
    base.set_weights([rng.normal(0, 0.1, w.shape).astype(np.float32) for w in base.weights])
    left, right = keras.Input((60, 80, 3)), keras.Input((60, 80, 3))
    distance = keras.layers.Lambda(lambda t: abs(t[0] - t[1])[:, :1])  # a Lambda, as the original had
    original = keras.Model([left, right], distance([base(left), base(right)]))
    original.save(tmp_path / "model.40-0.01.h5")

    before = tree_digest(tiny_data)
    run_cli("import-h5", str(tmp_path / "model.40-0.01.h5"), str(tiny_data / "train"), "--out", str(tmp_path / "imported"))
    assert tree_digest(tiny_data) == before
    run = load_run(tmp_path / "imported")
    assert run.status == "complete" and run.class_names == ["person_01", "person_02", "person_03", "person_04"]
    images = load_folder(tiny_data / "test", (60, 80, 3)).images
    np.testing.assert_allclose(run.embed(images), np.asarray(base(images)), atol=1e-5)
    run_cli("represent", str(tmp_path / "imported"), "--perplexity", "5")
    assert load_run(tmp_path / "imported").has_representatives


def test_an_h5_of_another_architecture_is_refused(tiny_data, tmp_path):
    from siamese.model.backend import keras

    inputs = keras.Input((60, 80, 3))
    keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs))).save(tmp_path / "other.h5")
    result = run_cli("import-h5", str(tmp_path / "other.h5"), str(tiny_data / "train"), "--out", str(tmp_path / "r"), check=False)
    assert result.returncode == 2 and "do not match the reference network" in result.stderr
