"""The network's parts: distance layer, contrastive loss, pair accuracy, adaptive architecture,
precisions, and safe loading that refuses model files carrying code."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from helpers import run_cli
from siamese.errors import SiameseError
from siamese.model.network import (
    ContrastiveLoss,
    EuclideanDistance,
    build_embedding_network,
    build_siamese,
    count_macs,
    pair_accuracy,
    plan_architecture,
    preferred_precision,
    resolve_precision,
)
from siamese.runs.store import load_run


def test_euclidean_distance_matches_hand_values():
    a = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], np.float32)
    b = np.array([[3.0, 4.0], [1.0, 1.0], [2.0, 3.0]], np.float32)
    d = np.asarray(EuclideanDistance()(a, b))
    # sqrt(9 + 16) = 5; identical rows give sqrt(eps) instead of 0; sqrt(1) = 1
    np.testing.assert_allclose(d[:, 0], [5.0, np.sqrt(1e-7), 1.0], rtol=1e-5)


def test_contrastive_loss_matches_hand_values():
    y = np.array([1.0, 0.0, 0.0, 1.0], np.float32)
    d = np.array([[0.1], [0.2], [0.8], [0.5]], np.float32)
    # same pairs cost d^2: 0.01 and 0.25; different pairs cost max(0.6 - d, 0)^2: 0.16 and 0
    expected = (0.01 + 0.16 + 0.0 + 0.25) / 4
    np.testing.assert_allclose(float(ContrastiveLoss(margin=0.6)(y, d)), expected, rtol=1e-5)


def test_contrastive_loss_keeps_its_margin_through_config():
    loss = ContrastiveLoss.from_config(ContrastiveLoss(margin=1.5).get_config())
    assert loss.margin == 1.5


def test_pair_accuracy_uses_the_original_fixed_rule():
    y = np.array([1.0, 1.0, 0.0, 0.0], np.float32)
    d = np.array([[0.1], [0.3], [0.1], [0.5]], np.float32)  # right, wrong, wrong, right
    assert float(pair_accuracy(y, d)) == pytest.approx(0.5)


def test_reference_network_has_the_documented_cost():
    embedding = build_embedding_network((60, 80, 3))
    assert embedding.output.shape[-1] == 512
    assert count_macs(embedding) == 1_186_944


@pytest.mark.parametrize(
    "shape",
    [(28, 28, 1), (32, 32, 3), (60, 80, 3), (80, 60, 3), (120, 160, 1), (8, 8, 1)],
    ids=["28x28-gray", "32x32", "60x80-reference", "80x60-rotated", "160x120", "tiny-8x8"],
)
def test_architecture_adapts_so_every_input_gives_an_embedding(shape):
    plan = plan_architecture(shape)
    assert all(min(step["output"]) >= 1 for step in plan)
    embedding = build_embedding_network(shape)
    out = embedding(np.zeros((2, *shape), np.float32))
    assert out.shape == (2, 512)


def test_tiny_inputs_switch_padding_and_drop_pools():
    plan = plan_architecture((8, 8, 1))
    assert any(step.get("padding") == "same" and step["layer"] == "SeparableConv2D" for step in plan)
    assert any(step.get("skipped") for step in plan)


def test_small_gray_inputs_scale_the_first_layer():
    first = plan_architecture((28, 28, 1))[0]
    # 16 * 28/60 rounds to 7; stride 3 * 28/60 rounds to 1; one channel gets three filters
    assert (first["kernel"], first["strides"], first["depth_multiplier"]) == (7, 1, 3)
    reference = plan_architecture((60, 80, 3))[0]
    assert (reference["kernel"], reference["strides"], reference["depth_multiplier"]) == (16, 3, 1)


def test_siamese_model_gives_zero_distance_for_identical_images():
    model = build_siamese(build_embedding_network((28, 28, 1)))
    x = np.random.default_rng(0).random((3, 28, 28, 1), np.float32)
    d = np.asarray(model([x, x]))
    np.testing.assert_allclose(d, np.sqrt(1e-7), rtol=1e-3)


def test_mixed_precision_network_converts_to_float32_with_the_same_weights():
    from siamese.model.network import as_float32

    mixed = build_embedding_network((28, 28, 1), precision="mixed_bfloat16")
    assert mixed.layers[1].dtype_policy.name == "mixed_bfloat16"
    assert mixed.layers[-1].dtype_policy.name == "float32"  # embeddings leave in full precision
    plain = as_float32(mixed)
    assert all(layer.dtype_policy.name == "float32" for layer in plain.layers)
    for a, b in zip(mixed.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = np.random.default_rng(0).random((4, 28, 28, 1), np.float32)
    # bfloat16 keeps 8 bits of mantissa: the two agree to about 1%, not bit for bit
    np.testing.assert_allclose(np.asarray(mixed(x)), np.asarray(plain(x)), atol=0.02)
    assert as_float32(plain) is plain


def test_the_distance_layer_and_numpy_distances_share_one_floor():
    import siamese.model.network
    import siamese.scoring.distances

    assert siamese.model.network.EPSILON is siamese.scoring.distances.EPSILON


def test_precisions_resolve_auto_and_refuse_unknown_ones():
    assert resolve_precision("auto") == preferred_precision() in ("float32", "mixed_bfloat16")
    assert resolve_precision("float32") == "float32" and resolve_precision("mixed_bfloat16") == "mixed_bfloat16"
    with pytest.raises(SiameseError, match="auto, float32, mixed_bfloat16"):
        resolve_precision("float16")


def _copy_run(tiny_run, tmp_path):
    target = tmp_path / "run"
    shutil.copytree(tiny_run, target)
    return target


def test_a_model_with_a_lambda_layer_is_refused_and_its_code_never_runs(tiny_run, tmp_path):
    from siamese.model.backend import keras

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
    from siamese.model.backend import keras

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
    "onednn, bfloat16, expected",
    [(True, True, "mixed_bfloat16"), (False, True, "float32"), (True, False, "float32"), (None, True, "float32")],
    ids=["onednn-bf16-cpu", "eigen-bf16-cpu", "onednn-no-bf16", "unknown-kernels"],
)
def test_auto_precision_takes_bfloat16_only_where_the_cpu_and_kernels_compute_it(monkeypatch, onednn, bfloat16, expected):
    """Eigen's kernels emulate bfloat16 even on a CPU that has it: slower than float32 there."""
    import siamese.model.network
    from siamese.model.backend import Kernels

    cpu = Kernels(onednn=onednn, chosen_by="TensorFlow", avx2=True, avx512=bfloat16, amx=False, bfloat16=bfloat16)
    monkeypatch.setattr(siamese.model.network, "kernels", lambda: cpu)
    assert preferred_precision() == expected
