"""Fast inference for the embedding network: the same function as the Keras model, computed faster.

Two things made ``model(x)`` slow on a CPU, both measured with TensorFlow's step stats on
1,024 images of 60x80x3 (bench/README.md has the numbers):

1. The first layer, a 16x16 stride-3 depthwise convolution over 3 channels, took 62% of
   the forward pass. oneDNN's depthwise kernel vectorizes over channels, so with 3
   channels it fills 3 of the 16 lanes of an AVX-512 register.
2. Handing a NumPy batch to TensorFlow copies it on one thread: 11 us per 60x80x3 image,
   as much as the rest of the network after the first layer.

``Embedder`` computes the first layer on a *phase-split* input instead: the image is
cut into blocks of ``stride x stride`` pixels, and a block's pixels become channels.
A stride-s convolution is then a stride-1 convolution over blocks, with ``s * s * C``
channels and a kernel ``ceil(k / s)`` blocks a side whose taps are the original ones,
regrouped; one 1x1 convolution adds the phases back together, with the layer's bias
and ReLU after it. Same sums, same weights, different order: outputs agree to float32
rounding (about 1e-6), and no trained weight changes, so ``model.keras`` keeps its
ordinary ``DepthwiseConv2D``. Both convolutions have stride 1 on both axes, which every
CPU kernel TensorFlow may choose computes: Eigen's depthwise convolution (TensorFlow's
default on CPUs without AVX-512) refuses unequal strides, so an earlier version that
split only the columns crashed there. The fast path is checked against the Keras model
when it is set up, and falls back to it with a warning (``Embedder``).

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

from siamese.model.backend import Kernels, keras, kernels, tf

log = logging.getLogger("siamese")

ALIGNMENT = 4096  # TensorFlow refuses (aborts on) a DLPack buffer that is not aligned
CHECK_BATCH = 4  # images in the fixed batch the fast path is checked on when it is set up
TOLERANCE = 1e-4  # largest difference allowed there, relative to the largest value


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """(output size, padding before, padding after) of a "same" convolution, as TensorFlow pads."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def _axis_plan(size: int, kernel: int, stride: int) -> tuple[int, int, int, int]:
    """(padded size, first image pixel, zero taps in front of the kernel, kernel size in blocks) along one axis.

    The padding before the image is rounded up to whole blocks of ``stride`` pixels, and
    the kernel gets as many zero taps in front, so that every output's window starts on a
    block boundary.
    """
    out, before, _ = same_padding(size, kernel, stride)
    start = -(-before // stride) * stride
    shift = start - before
    blocks = -(-(kernel + shift) // stride)
    return (out + blocks - 1) * stride, start, shift, blocks


@dataclass(frozen=True)
class PhaseSplit:
    """Geometry of the first layer computed over blocks of ``stride_h x stride_w`` pixels.

    The padded image is (height, width, C) with the image at rows [top, top + H) and
    columns [left, left + W) and zeros elsewhere. Its phase-split form is
    (height / stride_h, width / stride_w, stride_h * stride_w * C): the pixel at padded
    row ``i * stride_h + p``, column ``j * stride_w + q``, channel c sits at block (i, j),
    block channel ``(p * stride_w + q) * C + c``. A strided convolution of the image is a
    stride-1 convolution of the blocks, on both axes.
    """

    height: int  # padded height, a multiple of stride_h
    width: int  # padded width, a multiple of stride_w
    channels: int
    top: int  # first image row in the padded image, a multiple of stride_h
    left: int  # first image column in the padded image, a multiple of stride_w
    image_height: int
    image_width: int
    stride_h: int
    stride_w: int
    shift_h: int  # zero taps prepended to the kernel's rows
    shift_w: int  # zero taps prepended to the kernel's columns
    kernel_rows: int  # kernel height in blocks
    kernel_blocks: int  # kernel width in blocks

    @classmethod
    def plan(cls, input_shape: tuple[int, int, int], kernel: tuple[int, int], strides: tuple[int, int]) -> PhaseSplit:
        height, width, channels = input_shape
        (kh, kw), (sh, sw) = kernel, strides
        padded_h, top, shift_h, rows = _axis_plan(height, kh, sh)
        padded_w, left, shift_w, blocks = _axis_plan(width, kw, sw)
        return cls(padded_h, padded_w, channels, top, left, height, width, sh, sw, shift_h, shift_w, rows, blocks)

    @property
    def phases(self) -> int:
        return self.stride_h * self.stride_w

    @property
    def blocks_shape(self) -> tuple[int, int, int]:
        """(rows of blocks, columns of blocks, phases x channels): what the first convolution reads."""
        return (self.height // self.stride_h, self.width // self.stride_w, self.phases * self.channels)

    def kernel(self, weights: np.ndarray) -> np.ndarray:
        """The depthwise kernel (kh, kw, C, M) regrouped for blocks: (rows, blocks, phases*C, M)."""
        kh, kw, channels, multiplier = weights.shape
        sh, sw = self.stride_h, self.stride_w
        taps = np.zeros((self.kernel_rows * sh, self.kernel_blocks * sw, channels, multiplier), np.float32)
        taps[self.shift_h : self.shift_h + kh, self.shift_w : self.shift_w + kw] = weights
        # tap (u*sh + p, v*sw + q) of channel c lands on block (u, v), block channel (p*sw + q)*C + c
        taps = taps.reshape(self.kernel_rows, sh, self.kernel_blocks, sw, channels, multiplier).transpose(0, 2, 1, 3, 4, 5)
        return np.ascontiguousarray(taps.reshape(self.kernel_rows, self.kernel_blocks, self.phases * channels, multiplier))

    def phase_sum(self, multiplier: int) -> np.ndarray:
        """1x1 kernel adding the phases: input channel (p*C + c)*M + m -> output c*M + m."""
        out = self.channels * multiplier
        summed = np.zeros((1, 1, self.phases * out, out), np.float32)
        for phase in range(self.phases):
            summed[0, 0, phase * out + np.arange(out), np.arange(out)] = 1.0
        return summed

    def to_blocks(self, padded):
        """The phase-split form of a batch of padded images (N, height, width, C), in the graph.

        One transpose: the buffer TensorFlow receives is the padded image itself, which
        NumPy fills with one copy (a copy into the phase-split order directly, one strided
        copy per phase, ran 2.4x slower than the whole forward pass).
        """
        rows, cols, depth = self.blocks_shape
        x = tf.reshape(padded, [-1, rows, self.stride_h, cols, self.stride_w * self.channels])
        return tf.reshape(tf.transpose(x, [0, 1, 3, 2, 4]), [-1, rows, cols, depth])


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


def phase_split_pays(cpu: Kernels) -> bool:
    """Whether the phase-split first layer is faster than the plain model with these kernels.

    Measured on the demo run's network (docs: performance): with Eigen's kernels 3.4x
    faster (batch 256; Eigen's depthwise convolution is slow at stride 3); with oneDNN's
    on a CPU with AVX-512 1.5x faster (its depthwise kernel fills 3 of 16 lanes with 3
    channels, 27 of 32 with the phases); with oneDNN's on AVX2 alone no faster (0.9-1.0x),
    so the plain model runs there.
    """
    return not cpu.onednn or cpu.avx512


class Embedder:
    """``embedding(x)`` for batches of images, computed the fast way when the network allows.

    The fast path applies to a plain stack whose first layer is a strided "same"
    ``DepthwiseConv2D`` (the reference architecture and its adaptations); any other
    network runs as it is. Either way the batch is handed over without a second copy.
    The fast path checks itself once, when it is set up: on a small fixed batch it must
    agree with the Keras model to ``TOLERANCE`` of the largest value; if it does not, or
    raises, one warning is logged and the plain model runs instead. Safe to call from
    several threads at once. ``phase_split=False`` runs the network as it is (the
    benchmark compares both); by default it is used where it measured faster
    (``phase_split_pays``).
    """

    def __init__(self, embedding: keras.Model, phase_split: bool | None = None):
        self.input_shape = tuple(int(d) for d in embedding.input_shape[1:])
        self.split: PhaseSplit | None = None
        self._spare: list[np.ndarray] = []
        self._lock = threading.Lock()
        self._plain = tf.function(lambda x: embedding(x, training=False), reduce_retracing=True)
        self._function = self._plain
        first = embedding.layers[1] if len(embedding.layers) > 1 else None
        if phase_split is None:
            phase_split = phase_split_pays(kernels())
        if (
            phase_split
            and isinstance(first, keras.layers.DepthwiseConv2D)
            and max(first.strides) > 1
            and first.padding == "same"
            and tuple(first.dilation_rate) == (1, 1)
            and first.data_format == "channels_last"
            and _is_chain(embedding)
        ):
            self.split = PhaseSplit.plan(self.input_shape, tuple(first.kernel_size), tuple(first.strides))
            self._function = self._phase_split_function(first, embedding.layers[2:])
            self._check_against(embedding)

    @property
    def buffer_shape(self) -> tuple[int, int, int]:
        if self.split is None:
            return self.input_shape
        return (self.split.height, self.split.width, self.split.channels)

    def _check_against(self, embedding: keras.Model) -> None:
        """Fall back to the plain model, with one warning, unless the fast path matches it here."""
        probe = np.random.default_rng(0).random((CHECK_BATCH, *self.input_shape), dtype=np.float32)
        try:
            expected = np.asarray(embedding(probe, training=False))
            got = self(probe)
            scale = max(float(np.abs(expected).max()), np.finfo(np.float32).tiny)
            difference = float(np.abs(got - expected).max()) / scale
            if not np.isfinite(difference) or difference > TOLERANCE:
                raise ArithmeticError(f"largest difference {difference:.3g} of the largest value, more than {TOLERANCE:g}")
        except Exception as exc:  # any kernel may refuse an op or compute it differently: never the user's problem
            log.warning("the fast embedding path does not work with TensorFlow's kernels on this CPU (%s: %s); "
                        "embedding with the plain Keras model, which is slower", exc.__class__.__name__, str(exc).splitlines()[0][:200] if str(exc) else "")
            self.split = None
            self._function = self._plain
            self._spare.clear()

    def _phase_split_function(self, first, rest):
        split = self.split
        weights = first.get_weights()
        multiplier = weights[0].shape[-1]
        kernel = tf.constant(split.kernel(weights[0]))
        summed = tf.constant(split.phase_sum(multiplier))
        bias = tf.constant(weights[1]) if first.use_bias else None
        activation = first.activation

        def forward(x):
            x = split.to_blocks(x)
            # stride 1 on both axes: every CPU kernel of TensorFlow computes it (Eigen's
            # depthwise convolution refuses unequal strides, oneDNN's does not)
            y = tf.nn.depthwise_conv2d(x, kernel, [1, 1, 1, 1], "VALID")
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
            if buffer.shape[1:] != self.buffer_shape:  # set up before a fallback to the plain model
                return
            self._spare.append(buffer)
            self._spare.sort(key=len, reverse=True)
            del self._spare[1:]

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Embeddings (N, D) float32 of one batch of images (N, H, W, C), any real dtype."""
        if images.ndim != 4 or tuple(images.shape[1:]) != self.input_shape:
            raise ValueError(f"images of shape {images.shape[1:]} given to a network that takes {self.input_shape}")
        split, function = self.split, self._function
        whole = self._take(len(images))
        try:
            buffer = whole[: len(images)]
            if split is None:
                np.copyto(buffer, images, casting="unsafe")
            else:
                top, left = split.top, split.left
                # the padding stays zero: only the image's pixels are ever written
                window = buffer[:, top : top + split.image_height, left : left + split.image_width]
                np.copyto(window, images[:, : window.shape[1], : window.shape[2]], casting="unsafe")
            return np.asarray(function(_shared_tensor(buffer)))
        finally:
            self._give(whole)
