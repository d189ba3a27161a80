"""Untrusted model and run files: refused or reported, never executed, never crashed on."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from helpers import run_cli, tree_digest
from siamese.errors import SiameseError
from siamese.runs import load_run


def _copy_run(tiny_run, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(tiny_run, target)
    return target


def test_a_model_with_a_lambda_layer_is_refused_and_its_code_never_runs(tiny_run, tmp_path):
    from siamese.backend import keras

    marker = tmp_path / "code-ran"
    inputs = keras.Input((60, 80, 3))

    def payload(x):
        marker.write_text("the model file's code was executed")
        return x

    hostile = keras.Model(inputs, keras.layers.Lambda(payload)(inputs))
    run_dir = _copy_run(tiny_run, tmp_path)
    (run_dir / "model.keras").unlink()
    hostile.save(run_dir / "model.keras")
    marker.unlink()  # building the model above called the function once; loading must not

    run = load_run(run_dir)
    with pytest.raises(SiameseError, match="cannot be loaded safely"):
        run.embed(np.zeros((1, 60, 80, 3), np.float32))
    assert not marker.exists()
    result = run_cli("probe", str(run_dir), str(next((run.train_dir).rglob("*.png"))), check=False)
    assert result.returncode == 2 and "cannot be loaded safely" in result.stderr
    assert not marker.exists()


def test_an_unregistered_custom_layer_is_refused(tiny_run, tmp_path):
    from siamese.backend import keras

    class Sneaky(keras.layers.Layer):
        def call(self, x):
            return x

    inputs = keras.Input((60, 80, 3))
    run_dir = _copy_run(tiny_run, tmp_path)
    (run_dir / "model.keras").unlink()
    keras.Model(inputs, Sneaky()(inputs)).save(run_dir / "model.keras")
    with pytest.raises(SiameseError, match="cannot be loaded safely"):
        load_run(run_dir).embed(np.zeros((1, 60, 80, 3), np.float32))


@pytest.mark.parametrize(
    "content, words",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "does not hold a JSON object"),
        (json.dumps({"format_version": 99, "config": {}}), "format version 99"),
        (json.dumps({"format_version": 1}), "lacks the input shape"),
        (json.dumps({"format_version": "1", "config": {}}), "format version"),
    ],
    ids=["malformed", "not-an-object", "future-version", "no-config", "version-not-a-number"],
)
def test_bad_run_json_is_reported(tiny_run, tmp_path, content, words):
    run_dir = _copy_run(tiny_run, tmp_path)
    (run_dir / "run.json").write_text(content)
    with pytest.raises(SiameseError, match=words):
        load_run(run_dir)
    result = run_cli("evaluate", str(run_dir), str(tmp_path), check=False)
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("missing", ["model.keras", "representatives.npz", "representatives.json"])
def test_missing_run_files_are_reported(tiny_run, tiny_data, tmp_path, missing):
    run_dir = _copy_run(tiny_run, tmp_path)
    (run_dir / missing).unlink()
    result = run_cli("evaluate", str(run_dir), str(tiny_data / "test"), check=False)
    assert result.returncode == 2
    assert ("model.keras" in result.stderr) if missing == "model.keras" else ("represent" in result.stderr)


@pytest.mark.slow  # imports and represents in two command-line processes: tens of seconds
def test_an_original_keras_h5_model_imports_with_equal_embeddings(tiny_data, tmp_path):
    """The original saved its whole siamese model, Lambda distance included, as .h5."""
    from siamese.backend import keras
    from siamese.data import load_folder
    from siamese.model import build_embedding_network

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
    from siamese.backend import keras

    inputs = keras.Input((60, 80, 3))
    keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(inputs))).save(tmp_path / "other.h5")
    result = run_cli("import-h5", str(tmp_path / "other.h5"), str(tiny_data / "train"), "--out", str(tmp_path / "r"), check=False)
    assert result.returncode == 2 and "do not match the reference network" in result.stderr
