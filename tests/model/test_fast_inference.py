"""The fast inference path computes the same embeddings as the Keras model, for every architecture."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from siamese.model.fast_inference import Embedder, PhaseSplit, same_padding
from siamese.model.network import build_embedding_network


def randomized(shape, seed=0):
    """An embedding network with random weights everywhere, biases included (a fresh one has zero biases)."""
    network = build_embedding_network(shape)
    rng = np.random.default_rng(seed)
    network.set_weights([rng.normal(0.0, 0.3, w.shape).astype(np.float32) for w in network.get_weights()])
    return network


def images(n, shape, seed=1):
    return np.random.default_rng(seed).random((n, *shape), dtype=np.float32)


@pytest.mark.parametrize(
    "shape, split",
    [
        ((60, 80, 3), True),  # the reference: 16x16 stride 3, width not a multiple of 3, odd left padding
        ((80, 60, 3), True),  # rotated: width a multiple of 3
        ((61, 79, 3), True),  # odd sizes on both sides
        ((50, 70, 1), True),  # gray: three depthwise filters per channel
        ((32, 32, 3), True),  # scaled first layer: 9x9 stride 2
        ((28, 28, 1), False),  # stride 1: nothing to split, the network runs as it is
    ],
    ids=["60x80x3", "80x60x3", "61x79x3", "50x70x1", "32x32x3", "28x28x1"],
)
def test_embeddings_match_the_keras_model(shape, split):
    network = randomized(shape)
    embedder = Embedder(network, phase_split=True)
    assert (embedder.split is not None) == split
    x = images(7, shape)
    expected = np.asarray(network(x, training=False))
    got = embedder(x)
    assert got.dtype == np.float32 and got.shape == expected.shape
    # same sums in another order: float32 rounding only
    np.testing.assert_allclose(got, expected, atol=2e-5, rtol=0)
    # and not trivially: the embeddings differ between images
    assert np.ptp(got, axis=0).max() > 1e-3


def test_the_first_layer_alone_matches_to_rounding():
    """Sigmoid outputs can hide a wrong first layer; compare the first layer's raw outputs too."""
    from siamese.model.backend import keras

    network = randomized((60, 80, 3), seed=4)
    first = keras.Model(network.inputs, network.layers[1].output)
    embedder = Embedder(first, phase_split=True)
    assert embedder.split is not None
    x = images(3, (60, 80, 3))
    expected = np.asarray(first(x, training=False))
    got = embedder(x)
    assert got.shape == expected.shape == (3, 20, 27, 3)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    assert (expected > 0).mean() > 0.2  # ReLU left enough values to compare


def test_reference_geometry():
    split = PhaseSplit.plan((60, 80, 3), (16, 16), (3, 3))
    # "same" pads 7 on the left; 9 (three whole blocks) with two zero taps in front of the kernel
    assert same_padding(80, 16, 3) == (27, 7, 7)
    assert (split.left, split.shift_w, split.kernel_blocks, split.width) == (9, 2, 6, 96)
    # and 6 on top, already two whole blocks: no zero taps; 20 output rows need 25 blocks
    assert same_padding(60, 16, 3) == (20, 6, 7)
    assert (split.top, split.shift_h, split.kernel_rows, split.height) == (6, 0, 6, 75)
    # stride 1 on both axes for every op: 3x3 phases of 3 channels in each block
    assert split.blocks_shape == (25, 32, 27)


def test_uint8_images_give_the_same_embeddings_as_their_float_values():
    network = randomized((60, 80, 3))
    embedder = Embedder(network, phase_split=True)
    pixels = np.random.default_rng(2).integers(0, 256, (4, 60, 80, 3), dtype=np.uint8)
    np.testing.assert_array_equal(embedder(pixels), embedder(pixels.astype(np.float32)))


def test_an_image_gets_the_same_embedding_in_any_batch_and_the_padding_stays_zero():
    network = randomized((60, 80, 3))
    embedder = Embedder(network, phase_split=True)
    x = images(9, (60, 80, 3))
    whole = embedder(x)
    # a big batch, then smaller ones that reuse its buffer, then a bigger one again
    parts = np.concatenate([embedder(x[:2]), embedder(x[2:3]), embedder(x[3:9])])
    # a batch's size may change which kernel runs and how its sums are ordered: equal to
    # float32 rounding of the values' size, under every kernel
    np.testing.assert_allclose(parts, whole, atol=1e-5 * np.abs(whole).max(), rtol=0)
    (spare,) = embedder._spare
    split = embedder.split
    padded = spare  # the padded images, which the graph regroups into blocks
    inside = np.zeros(padded.shape[1:3], bool)
    inside[split.top : split.top + 60, split.left : split.left + 80] = True
    assert not padded[:, ~inside].any()  # only the image's pixels were ever written
    np.testing.assert_array_equal(padded[:4, inside].reshape(4, 60, 80, 3), x[3:7])


def test_concurrent_calls_match_sequential_ones():
    network = randomized((60, 80, 3))
    embedder = Embedder(network, phase_split=True)
    batches = [images(5, (60, 80, 3), seed=s) for s in range(6)]
    expected = [embedder(b) for b in batches]
    results: dict[int, np.ndarray] = {}

    def work(i):
        for _ in range(3):
            results[i] = embedder(batches[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, e in enumerate(expected):
        np.testing.assert_allclose(results[i], e, atol=1e-6, rtol=0)


def test_a_wrong_shape_is_refused_not_broadcast():
    embedder = Embedder(randomized((60, 80, 3)), phase_split=True)
    with pytest.raises(ValueError, match="shape"):
        embedder(images(2, (60, 80, 1)))


@pytest.mark.parametrize("change", ["missing", "reshaped"])
def test_without_keras_layer_graph_the_plain_model_runs_and_says_so(monkeypatch, caplog, change):
    """Keras's private ``_inbound_nodes`` renamed or changed: no crash, the public path, a warning."""
    import logging

    network = randomized((60, 80, 3))
    x = images(5, (60, 80, 3))
    expected = np.asarray(network(x, training=False))
    for layer in network.layers[1:]:
        if change == "missing":
            monkeypatch.delattr(layer, "_inbound_nodes")
        else:
            monkeypatch.setattr(layer, "_inbound_nodes", {"renamed": object()})
    monkeypatch.setattr(logging.getLogger("siamese"), "propagate", True)  # the CLI turns it off
    with caplog.at_level(logging.WARNING, logger="siamese"):
        embedder = Embedder(network, phase_split=True)
    assert embedder.split is None  # fell back to the plain Keras model
    assert "plain Keras model" in caplog.text
    np.testing.assert_allclose(embedder(x), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("error", [AttributeError, RuntimeError, TypeError])
@pytest.mark.parametrize("split", [True, False], ids=["phase-split", "plain"])
def test_without_dlpack_the_batch_is_copied_and_embeddings_stay_the_same(monkeypatch, error, split):
    from siamese.model.backend import tf

    network = randomized((60, 80, 3))
    x = images(6, (60, 80, 3))
    expected = np.asarray(network(x, training=False))
    embedder = Embedder(network, phase_split=split)
    calls = []

    def refuse(capsule):
        calls.append(capsule)
        raise error("DLPack is not available here")

    monkeypatch.setattr(tf.experimental.dlpack, "from_dlpack", refuse)
    got = embedder(x)
    assert calls  # the DLPack path was tried and refused: the copy made these
    np.testing.assert_allclose(got, expected, atol=2e-5, rtol=0)
    # the buffer is reused for the next batch: a copied tensor must not alias it
    np.testing.assert_allclose(embedder(x[:3]), expected[:3], atol=2e-5, rtol=0)


def test_a_fast_path_that_fails_its_check_falls_back_to_the_plain_model_with_one_warning(monkeypatch, caplog):
    """A kernel that refuses an op (as Eigen refused unequal depthwise strides) or computes it wrong: no traceback."""
    import logging

    from siamese.model.backend import tf

    network = randomized((60, 80, 3))
    x = images(5, (60, 80, 3))
    expected = np.asarray(network(x, training=False))
    real_kernel = PhaseSplit.kernel

    def refusing(self, first, rest):
        def forward(x):
            raise tf.errors.InvalidArgumentError(None, None, "Current implementation only supports equal length strides")

        return forward

    def five_percent_off(self, weights):
        return real_kernel(self, weights) * 1.05

    monkeypatch.setattr(logging.getLogger("siamese"), "propagate", True)  # the CLI turns it off
    for target, name, broken in ((Embedder, "_phase_split_function", refusing), (PhaseSplit, "kernel", five_percent_off)):
        caplog.clear()
        with monkeypatch.context() as patch, caplog.at_level(logging.WARNING, logger="siamese"):
            patch.setattr(target, name, broken)
            embedder = Embedder(network, phase_split=True)
        assert embedder.split is None
        assert [r.getMessage() for r in caplog.records if "fast embedding path" in r.getMessage()] != []
        assert len(caplog.records) == 1 and "plain Keras model" in caplog.text
        np.testing.assert_allclose(embedder(x), expected, atol=1e-6, rtol=0)


def test_a_working_fast_path_is_kept_silently(caplog):
    import logging

    with caplog.at_level(logging.WARNING, logger="siamese"):
        embedder = Embedder(randomized((60, 80, 3)), phase_split=True)
    assert embedder.split is not None and caplog.records == []


@pytest.mark.parametrize(
    "onednn, avx512, expected",
    [(False, False, True), (False, True, True), (True, True, True), (True, False, False), (None, False, True)],
    ids=["eigen", "eigen-avx512", "onednn-avx512", "onednn-avx2", "unknown-kernels"],
)
def test_the_phase_split_runs_where_it_measured_faster(onednn, avx512, expected):
    from siamese.model.backend import Kernels
    from siamese.model.fast_inference import phase_split_pays

    cpu = Kernels(onednn=onednn, chosen_by="TensorFlow", avx2=True, avx512=avx512, amx=False, bfloat16=False)
    assert phase_split_pays(cpu) is expected


def test_by_default_the_embedder_follows_the_kernels_this_process_runs():
    from siamese.model.backend import kernels
    from siamese.model.fast_inference import phase_split_pays

    assert (Embedder(randomized((60, 80, 3))).split is not None) == phase_split_pays(kernels())
