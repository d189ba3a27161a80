"""Fast inference for the embedding network: the same function as the Keras model, computed faster.

Two things made ``model(x)`` slow on a CPU, both measured with TensorFlow's step stats on
1,024 images of 60x80x3 (bench/README.md has the numbers):

1. The first layer, a 16x16 stride-3 depthwise convolution over 3 channels, took 62% of
   the forward pass. oneDNN's depthwise kernel vectorizes over channels, so with 3
   channels it fills 3 of the 16 lanes of an AVX-512 register.
2. Handing a NumPy batch to TensorFlow copies it on one thread: 11 us per 60x80x3 image,
   as much as the rest of the network after the first layer.

``Embedder`` computes the first layer on a *phase-split* input instead: the image's
columns are grouped in blocks of ``stride`` pixels, and a block's pixels become
channels (a free reshape of the row-major buffer). A stride-s convolution along the
width is then a stride-1 convolution over blocks, with ``s * C`` channels and a kernel
``ceil(k / s)`` blocks wide whose taps are the original ones, regrouped; one 1x1
convolution adds the ``s`` phases back together, with the layer's bias and ReLU fused
into it. Same sums, same weights, different order: outputs agree to float32 rounding
(about 1e-6), and no trained weight changes, so ``model.keras`` keeps its ordinary
``DepthwiseConv2D``.

The batch is copied once, by NumPy, into an aligned, zero-padded buffer in that layout
(which also converts uint8 to float32), and handed to TensorFlow without a second copy
through DLPack.

Two things here lean on what TensorFlow and Keras may change, and each falls back to the
public path instead of failing: the layer graph is read from Keras's private
``_inbound_nodes`` (without it the network runs as the plain Keras model, with a
warning), and DLPack may be missing or refuse a buffer (then the batch is copied).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from siamese.model.backend import keras, tf

log = logging.getLogger("siamese")

ALIGNMENT = 4096  # TensorFlow refuses (aborts on) a DLPack buffer that is not aligned


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """(output size, padding before, padding after) of a "same" convolution, as TensorFlow pads."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


@dataclass(frozen=True)
class PhaseSplit:
    """Geometry of the first layer computed over blocks of ``stride`` columns.

    The padded buffer is (H, width, C) with the image at columns [left, left + W) and
    zeros elsewhere; viewed as (H, width / stride, stride * C) it is the phase-split input.
    """

    height: int
    width: int  # padded width, a multiple of stride
    channels: int
    left: int  # first image column in the padded buffer
    image_width: int
    stride_w: int
    stride_h: int
    pad_top: int
    pad_bottom: int
    kernel_blocks: int  # kernel width in blocks
    shift: int  # zero taps prepended to the kernel so the left padding is whole blocks

    @classmethod
    def plan(cls, input_shape: tuple[int, int, int], kernel: tuple[int, int], strides: tuple[int, int]) -> PhaseSplit:
        height, width, channels = input_shape
        (kh, kw), (sh, sw) = kernel, strides
        _, pad_top, pad_bottom = same_padding(height, kh, sh)
        out_w, pad_left, _ = same_padding(width, kw, sw)
        left = -(-pad_left // sw) * sw
        shift = left - pad_left
        blocks = -(-(kw + shift) // sw)
        padded = (out_w + blocks - 1) * sw
        return cls(height, padded, channels, left, width, sw, sh, pad_top, pad_bottom, blocks, shift)

    def kernel(self, weights: np.ndarray) -> np.ndarray:
        """The depthwise kernel (kh, kw, C, M) regrouped for blocks: (kh, blocks, s*C, M)."""
        kh, kw, channels, multiplier = weights.shape
        s = self.stride_w
        taps = np.zeros((kh, self.kernel_blocks * s, channels, multiplier), np.float32)
        taps[:, self.shift : self.shift + kw] = weights
        # tap u*s + p of channel c lands on block u, block channel p*C + c
        return taps.reshape(kh, self.kernel_blocks, s * channels, multiplier)

    def phase_sum(self, multiplier: int) -> np.ndarray:
        """1x1 kernel adding the s phases: input channel (p*C + c)*M + m -> output c*M + m."""
        s, c = self.stride_w, self.channels
        out = c * multiplier
        summed = np.zeros((1, 1, s * out, out), np.float32)
        for phase in range(s):
            summed[0, 0, phase * out + np.arange(out), np.arange(out)] = 1.0
        return summed


def _aligned_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """A float32 array of zeros whose data starts on an ``ALIGNMENT`` boundary."""
    nbytes = int(np.prod(shape)) * 4
    raw = np.zeros(nbytes + ALIGNMENT, np.uint8)
    start = (-raw.ctypes.data) % ALIGNMENT
    return raw[start : start + nbytes].view(np.float32).reshape(shape)


def _shared_tensor(buffer: np.ndarray):
    """A tensor on ``buffer``'s memory (DLPack), or a copy where DLPack is not available."""
    try:
        return tf.experimental.dlpack.from_dlpack(buffer.__dlpack__())
    except (AttributeError, TypeError, ValueError, RuntimeError, tf.errors.OpError) as exc:
        log.debug("DLPack unavailable (%s: %s); copying the batch", exc.__class__.__name__, exc)
        return tf.convert_to_tensor(buffer)


def _inbound_inputs(layer: keras.layers.Layer) -> list[list]:
    """The input tensors of each call of ``layer`` in its model's graph.

    Keras has no public way to list a layer's calls, so this reads its private
    ``_inbound_nodes``: the one place that depends on Keras internals.
    """
    return [list(node.input_tensors) for node in layer._inbound_nodes]


def _is_chain(model: keras.Model) -> bool:
    """True when every layer takes exactly the previous layer's output (a plain stack).

    False, with a warning, when Keras's layer graph cannot be read (its private
    attributes were renamed or changed shape): the network then runs as it is.
    """
    try:
        previous = model.inputs[0]
        for layer in model.layers[1:]:
            calls = _inbound_inputs(layer)
            if len(calls) != 1 or len(calls[0]) != 1 or calls[0][0] is not previous:
                return False
            previous = layer.output
        return previous is model.outputs[0]
    except (AttributeError, IndexError, KeyError, TypeError) as exc:
        log.warning("cannot read the layer graph of Keras %s (%s: %s); embedding with the plain Keras model, which is slower",
                    keras.__version__, exc.__class__.__name__, exc)
        return False


class Embedder:
    """``embedding(x)`` for batches of images, computed the fast way when the network allows.

    The fast path applies to a plain stack whose first layer is a strided "same"
    ``DepthwiseConv2D`` (the reference architecture and its adaptations); any other
    network runs as it is. Either way the batch is handed over without a second copy.
    Safe to call from several threads at once. ``phase_split=False`` runs the network as
    it is (the benchmark compares both).
    """

    def __init__(self, embedding: keras.Model, phase_split: bool = True):
        self.input_shape = tuple(int(d) for d in embedding.input_shape[1:])
        self.split: PhaseSplit | None = None
        first = embedding.layers[1] if len(embedding.layers) > 1 else None
        if (
            phase_split
            and isinstance(first, keras.layers.DepthwiseConv2D)
            and first.strides[1] > 1
            and first.padding == "same"
            and tuple(first.dilation_rate) == (1, 1)
            and first.data_format == "channels_last"
            and _is_chain(embedding)
        ):
            self.split = PhaseSplit.plan(self.input_shape, tuple(first.kernel_size), tuple(first.strides))
            self._function = self._phase_split_function(first, embedding.layers[2:])
        else:
            self._function = tf.function(lambda x: embedding(x, training=False), reduce_retracing=True)
        self._spare: list[np.ndarray] = []
        self._lock = threading.Lock()

    @property
    def buffer_shape(self) -> tuple[int, int, int]:
        if self.split is None:
            return self.input_shape
        return (self.split.height, self.split.width, self.split.channels)

    def _phase_split_function(self, first, rest):
        split = self.split
        weights = first.get_weights()
        multiplier = weights[0].shape[-1]
        kernel = tf.constant(split.kernel(weights[0]))
        summed = tf.constant(split.phase_sum(multiplier))
        bias = tf.constant(weights[1]) if first.use_bias else None
        activation = first.activation
        blocks = split.width // split.stride_w
        paddings = [0, 0, split.pad_top, split.pad_bottom, 0, 0, 0, 0]

        def forward(x):
            x = tf.reshape(x, [-1, split.height, blocks, split.stride_w * split.channels])
            y = tf.raw_ops.DepthwiseConv2dNative(
                input=x, filter=kernel, strides=[1, split.stride_h, 1, 1], padding="EXPLICIT", explicit_paddings=paddings
            )
            y = tf.nn.conv2d(y, summed, 1, "VALID")
            if bias is not None:
                y = tf.nn.bias_add(y, bias)
            y = activation(y)
            for layer in rest:
                y = layer(y, training=False)
            return y

        return tf.function(forward, reduce_retracing=True)

    def _take(self, rows: int) -> np.ndarray:
        """A zeroed-padding buffer of at least ``rows`` images: a spare one, else a new one."""
        with self._lock:
            for i, spare in enumerate(self._spare):
                if len(spare) >= rows:
                    return self._spare.pop(i)
        return _aligned_zeros((rows, *self.buffer_shape))

    def _give(self, buffer: np.ndarray) -> None:
        """Keep the largest buffer for the next batch (one: a run held by the dashboard keeps ~70 MB, not more)."""
        with self._lock:
            self._spare.append(buffer)
            self._spare.sort(key=len, reverse=True)
            del self._spare[1:]

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Embeddings (N, D) float32 of one batch of images (N, H, W, C), any real dtype."""
        if images.ndim != 4 or tuple(images.shape[1:]) != self.input_shape:
            raise ValueError(f"images of shape {images.shape[1:]} given to a network that takes {self.input_shape}")
        whole = self._take(len(images))
        try:
            buffer = whole[: len(images)]
            if self.split is None:
                np.copyto(buffer, images, casting="unsafe")
            else:
                left = self.split.left
                # the padding columns stay zero: only the image's columns are ever written
                np.copyto(buffer[:, :, left : left + self.split.image_width], images, casting="unsafe")
            return np.asarray(self._function(_shared_tensor(buffer)))
        finally:
            self._give(whole)
