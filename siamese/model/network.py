"""The siamese network: embedding network, Euclidean distance layer, contrastive, triplet and contrastive-triplet losses."""

from __future__ import annotations

from siamese.data.folders import Shape
from siamese.errors import SiameseError
from siamese.model.backend import keras, kernels, tf
from siamese.model.model_file import check_model_file
from siamese.scoring.distances import EPSILON
from siamese.training.config import FLOAT32_LOSSES, PRECISIONS, TrainConfig

layers, ops = keras.layers, keras.ops

ORIGINAL_PAIR_THRESHOLD = 0.2  # the original scored pairs as "same" below this distance


@keras.saving.register_keras_serializable(package="siamese")
class EuclideanDistance(layers.Layer):
    """d(a, b) = sqrt(max(sum((a - b)^2), eps)), one value per pair, shape (N, 1)."""

    def call(self, a, b):
        squared = ops.sum(ops.square(a - b), axis=1, keepdims=True)
        return ops.sqrt(ops.maximum(squared, EPSILON))

    def compute_output_shape(self, a_shape, b_shape):
        return (a_shape[0], 1)


@keras.saving.register_keras_serializable(package="siamese")
class ContrastiveLoss(keras.losses.Loss):
    """mean(y * d^2 + (1 - y) * max(margin - d, 0)^2), y = 1 for a same-class pair."""

    def __init__(self, margin: float = TrainConfig.margin, name: str = "contrastive_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)

    def call(self, y_true, y_pred):
        y_true = ops.cast(ops.reshape(y_true, ops.shape(y_pred)), y_pred.dtype)
        positive = ops.square(y_pred)
        negative = ops.square(ops.maximum(self.margin - y_pred, 0.0))
        return y_true * positive + (1.0 - y_true) * negative

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


@keras.saving.register_keras_serializable(package="siamese")
def pair_accuracy(y_true, y_pred):
    """Share of pairs judged right with the original's fixed rule: same when d < 0.2."""
    same = ops.cast(y_pred < ORIGINAL_PAIR_THRESHOLD, "float32")
    return ops.mean(ops.cast(ops.equal(same, ops.cast(ops.reshape(y_true, ops.shape(same)), "float32")), "float32"))


def pairwise_distances(embeddings):
    """Euclidean distances between every two rows of ``embeddings``, shape (N, N)."""
    squared = ops.sum(ops.square(embeddings), axis=1)
    d2 = squared[:, None] - 2.0 * ops.matmul(embeddings, ops.transpose(embeddings)) + squared[None, :]
    return ops.sqrt(ops.maximum(d2, EPSILON))


@keras.saving.register_keras_serializable(package="siamese")
class TripletLoss(keras.losses.Loss):
    """The batch-all triplet loss (Hermans, Beyer and Leibe, 2017): every (anchor, positive,
    negative) of the batch with anchor and positive of one class and the negative of
    another, max(d(a, p) - d(a, n) + margin, 0) averaged over the triplets where it is
    above 0. One value per batch.

    ``y_true`` holds each image's class, ``y_pred`` its embedding. Measured: the
    batch-hard variant (one hardest positive and negative per anchor) collapsed this
    network from its first epoch (all embeddings within 1e-5 of each other, where the
    distance's floor gives no gradient); batch-all does not (docs/objectives.md).
    """

    def __init__(self, margin: float = TrainConfig.margin, name: str = "triplet_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)

    def call(self, y_true, y_pred):
        labels = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        same = ops.cast(ops.equal(labels[:, None], labels[None, :]), "float32")
        positive = same - ops.eye(ops.shape(labels)[0], dtype="float32")
        negative = 1.0 - same
        distances = pairwise_distances(ops.cast(y_pred, "float32"))
        valid = positive[:, :, None] * negative[:, None, :]
        losses = ops.maximum(distances[:, :, None] - distances[:, None, :] + self.margin, 0.0) * valid
        return ops.sum(losses) / ops.maximum(ops.sum(ops.cast(losses > 1e-9, "float32")), 1.0)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}


def batch_contrastive(labels, distances, margin: float):
    """The contrastive loss over every two images of a batch (``labels`` (N,), ``distances``
    (N, N)): half the mean over its same-class pairs plus half the mean over its other-class
    pairs, so neither kind dominates whatever the batch's mix (random pairs, as
    ``make_pairs`` draws them, are half of each)."""
    same = ops.cast(ops.equal(labels[:, None], labels[None, :]), "float32")
    positive = same - ops.eye(ops.shape(labels)[0], dtype="float32")
    negative = 1.0 - same
    pulled = ops.sum(positive * ops.square(distances)) / ops.maximum(ops.sum(positive), 1.0)
    pushed = ops.sum(negative * ops.square(ops.maximum(margin - distances, 0.0))) / ops.maximum(ops.sum(negative), 1.0)
    return 0.5 * (pulled + pushed)


@keras.saving.register_keras_serializable(package="siamese")
class ContrastiveTripletLoss(TripletLoss):
    """``contrastive-triplet``: on class-balanced batches, the contrastive loss over every two
    images of the batch (``batch_contrastive``, positive and negative pairs weighted
    equally) plus the batch-all triplet loss (``TripletLoss``), both with the same margin.
    One value per batch; ``y_true`` holds each image's class, ``y_pred`` its embedding."""

    def __init__(self, margin: float = TrainConfig.margin, name: str = "contrastive_triplet_loss", **kwargs):
        super().__init__(margin, name=name, **kwargs)

    def call(self, y_true, y_pred):
        labels = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        distances = pairwise_distances(ops.cast(y_pred, "float32"))
        return batch_contrastive(labels, distances, self.margin) + super().call(y_true, y_pred)


# SupCon's temperature: 0.1, the value Khosla et al. (2020) found best; 0.5 measured worse here (docs/objectives.md).
SUPCON_TEMPERATURE = 0.1


@keras.saving.register_keras_serializable(package="siamese")
class SupervisedContrastiveLoss(keras.losses.Loss):
    """``supcon``: the supervised contrastive loss (Khosla et al., 2020, L_out) on a
    class-balanced batch of unit-length embeddings. For each anchor i and each other image p
    of its class: -log(exp(z_i . z_p / T) / sum over every a != i of exp(z_i . z_a / T)),
    averaged over i's positives, then over the anchors that have one. One value per batch;
    ``y_true`` holds each image's class, ``y_pred`` its embedding (on the unit sphere)."""

    def __init__(self, temperature: float = SUPCON_TEMPERATURE, name: str = "supervised_contrastive_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.temperature = float(temperature)

    def call(self, y_true, y_pred):
        labels = ops.reshape(ops.cast(y_true, "float32"), (-1,))
        embeddings = ops.cast(y_pred, "float32")
        itself = ops.eye(ops.shape(labels)[0], dtype="float32")
        positive = ops.cast(ops.equal(labels[:, None], labels[None, :]), "float32") - itself
        logits = ops.matmul(embeddings, ops.transpose(embeddings)) / self.temperature
        # the anchor itself is left out of the denominator: its logit pushed far below the others
        others = ops.logsumexp(logits - 1e9 * itself, axis=1, keepdims=True)
        log_prob = logits - others
        counts = ops.sum(positive, axis=1)
        per_anchor = -ops.sum(positive * log_prob, axis=1) / ops.maximum(counts, 1.0)
        has_positive = ops.cast(counts > 0, "float32")
        return ops.sum(per_anchor * has_positive) / ops.maximum(ops.sum(has_positive), 1.0)

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


@keras.saving.register_keras_serializable(package="siamese")
def pair_accuracy_in_batch(y_true, y_pred):
    """``pair_accuracy`` over every two images of a batch (the triplet loss's batches of images, not pairs)."""
    labels = ops.reshape(ops.cast(y_true, "float32"), (-1,))
    same = ops.cast(ops.equal(labels[:, None], labels[None, :]), "float32")
    judged_same = ops.cast(pairwise_distances(ops.cast(y_pred, "float32")) < ORIGINAL_PAIR_THRESHOLD, "float32")
    off_diagonal = 1.0 - ops.eye(ops.shape(labels)[0], dtype="float32")
    right = ops.cast(ops.equal(judged_same, same), "float32") * off_diagonal
    return ops.sum(right) / ops.maximum(ops.sum(off_diagonal), 1.0)


def plan_architecture(input_shape: Shape, normalized: bool = False) -> list[dict]:
    """The reference base network, adapted to the input so no layer shrinks it below 1x1.

    The reference stack (for 60x80x3): DepthwiseConv2D 16x16 stride 3 (same, relu) ->
    Conv2D 32 1x1 -> MaxPool 2 -> SeparableConv2D 128 3x3 -> MaxPool 2 ->
    SeparableConv2D 256 3x3 -> MaxPool 2 -> Flatten -> Dense 512 (sigmoid).

    Adaptations, each recorded in the plan: inputs smaller than the reference's 60
    pixels on the short side get a depthwise kernel and stride scaled down with it
    (16x16 stride 3 would reduce 28x28 to 10x10 in one step); one-channel images get
    three depthwise filters, as the reference has for gray stored as RGB; a 3x3
    convolution switches to "same" padding when its input is under 3 pixels on a side;
    a pooling layer is dropped when its input is under 2.

    ``normalized`` (the ``cosface`` objective): the last Dense layer is linear and followed
    by an L2 normalisation, so embeddings lie on the unit sphere, where the Euclidean
    distance sqrt(2 - 2 cos) ranks pairs exactly as the cosine distance does.
    """
    height, width, channels = input_shape
    scale = min(height, width) / 60.0
    kernel, stride = (16, 3) if scale >= 0.8 else (max(3, round(16 * scale)), max(1, round(3 * scale)))

    def conv_out(size: int, kernel: int, stride: int, padding: str) -> int:
        return -(-size // stride) if padding == "same" else (size - kernel) // stride + 1

    plan: list[dict] = []
    h, w = conv_out(height, kernel, stride, "same"), conv_out(width, kernel, stride, "same")
    multiplier = 3 if channels == 1 else 1
    plan.append({"layer": "DepthwiseConv2D", "kernel": kernel, "strides": stride, "padding": "same", "depth_multiplier": multiplier, "output": [h, w]})
    plan.append({"layer": "Conv2D", "filters": 32, "kernel": 1, "output": [h, w]})
    for filters in (None, 128, 256):
        if filters is not None:
            padding = "valid" if min(h, w) >= 3 else "same"
            h, w = conv_out(h, 3, 1, padding), conv_out(w, 3, 1, padding)
            plan.append({"layer": "SeparableConv2D", "filters": filters, "kernel": 3, "padding": padding, "output": [h, w]})
        if min(h, w) >= 2:
            h, w = h // 2, w // 2
            plan.append({"layer": "MaxPooling2D", "pool": 2, "output": [h, w]})
        else:
            plan.append({"layer": "MaxPooling2D", "skipped": True, "output": [h, w]})
    plan.append({"layer": "Flatten", "output": [h * w * 256]})
    if normalized:
        plan.append({"layer": "Dense", "units": 512, "activation": "linear", "normalized": True, "output": [512]})
    else:
        plan.append({"layer": "Dense", "units": 512, "activation": "sigmoid", "output": [512]})
    return plan


def preferred_precision() -> str:
    """``mixed_bfloat16`` where the CPU computes bfloat16 natively, else ``float32``.

    On a CPU with AVX512-BF16 or AMX a training step takes half the time in mixed
    bfloat16 (measured: 111 ms -> 51 ms for 64 pairs), through oneDNN's kernels; with
    Eigen's kernels, or on a CPU without those instructions, bfloat16 is emulated and
    slower, and GPUs are left to float32 here.
    """
    if tf.config.list_physical_devices("GPU"):
        return "float32"
    cpu = kernels()
    return "mixed_bfloat16" if cpu.bfloat16 and cpu.onednn else "float32"


def resolve_precision(precision: str, loss: str = "contrastive") -> str:
    """The precision to build a network in: one of ``PRECISIONS``, ``auto`` resolved by
    ``preferred_precision``, except for the losses in ``FLOAT32_LOSSES`` (``supcon``: in
    mixed bfloat16 it collapsed in epoch 1 in both trials, docs/objectives.md), where
    ``auto`` is float32.

    Raises:
        SiameseError: ``precision`` is not one of ``PRECISIONS``.
    """
    if precision not in PRECISIONS:
        raise SiameseError(f"precision {precision!r} is not valid; use one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    return "float32" if loss in FLOAT32_LOSSES else preferred_precision()


def build_embedding_network(input_shape: Shape, precision: str = "float32", normalized: bool = False) -> keras.Model:
    """The base network that maps one image to its 512-d embedding.

    Args:
        input_shape: (H, W, C) of the images.
        precision: ``float32``, or ``mixed_bfloat16`` to compute the convolutions in
            bfloat16 with float32 weights (for training). The last Dense layer stays
            float32 so embeddings, distances and the loss keep full precision.
        normalized: end with a linear Dense layer and an L2 normalisation (``plan_architecture``).
    """
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    for spec in plan_architecture(input_shape, normalized):
        kind = spec["layer"]
        if kind == "DepthwiseConv2D":
            x = layers.DepthwiseConv2D(
                spec["kernel"], strides=spec["strides"], padding="same", depth_multiplier=spec["depth_multiplier"], activation="relu",
                dtype=precision,
            )(x)
        elif kind == "Conv2D":
            x = layers.Conv2D(spec["filters"], 1, activation="relu", dtype=precision)(x)
        elif kind == "SeparableConv2D":
            x = layers.SeparableConv2D(spec["filters"], 3, padding=spec["padding"], activation="relu", dtype=precision)(x)
        elif kind == "MaxPooling2D" and not spec.get("skipped"):
            x = layers.MaxPooling2D(2, dtype=precision)(x)
        elif kind == "Flatten":
            x = layers.Flatten(dtype=precision)(x)
        elif kind == "Dense":
            x = layers.Dense(spec["units"], activation=spec["activation"], dtype="float32")(x)
            if spec.get("normalized"):
                x = layers.UnitNormalization(dtype="float32", name="unit_sphere")(x)
    return keras.Model(inputs, x, name="embedding")


def is_normalized(embedding: keras.Model) -> bool:
    """Whether an embedding network ends on the unit sphere (trained with ``supcon``, ``cosface`` or ``arcface``)."""
    return any(isinstance(layer, layers.UnitNormalization) for layer in embedding.layers)


def as_float32(embedding: keras.Model) -> keras.Model:
    """The same embedding network computing in float32 (weights are float32 either way).

    Inference always runs in float32, so embeddings do not depend on the precision a
    run was trained in, nor on whether the CPU has bfloat16 instructions.
    """
    if all(layer.dtype_policy.name == "float32" for layer in embedding.layers):
        return embedding
    plain = build_embedding_network(tuple(embedding.input_shape[1:]), normalized=is_normalized(embedding))
    plain.set_weights(embedding.get_weights())
    return plain


def build_siamese(embedding: keras.Model) -> keras.Model:
    """Two weight-sharing copies of ``embedding`` joined by the Euclidean distance (in float32)."""
    shape = embedding.input_shape[1:]
    left = keras.Input(shape=shape, name="left")
    right = keras.Input(shape=shape, name="right")
    distance = EuclideanDistance(name="distance", dtype="float32")(embedding(left), embedding(right))
    return keras.Model([left, right], distance, name="siamese")


def compile_siamese(model: keras.Model, margin: float, learning_rate: float) -> None:
    """Compile with Adam, the contrastive loss and the original's pair accuracy."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=ContrastiveLoss(margin),
        metrics=[pair_accuracy],
    )


def compile_triplet(embedding: keras.Model, margin: float, learning_rate: float, loss: keras.losses.Loss | None = None) -> None:
    """Compile the embedding network itself with Adam and the batch-all triplet loss (or
    ``loss``, another loss of a batch's classes and embeddings); its history keeps the
    column ``pair_accuracy`` (over every two images of a batch)."""
    embedding.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=loss if loss is not None else TripletLoss(margin),
        metrics=[keras.metrics.MeanMetricWrapper(pair_accuracy_in_batch, name="pair_accuracy")],
    )


def count_macs(embedding: keras.Model) -> int:
    """Multiply-accumulates of one forward pass of the embedding network."""
    total = 0
    for layer in embedding.layers:
        out = layer.output.shape
        if isinstance(layer, layers.DepthwiseConv2D):
            k = layer.kernel_size
            total += out[1] * out[2] * out[3] * k[0] * k[1]
        elif isinstance(layer, layers.SeparableConv2D):
            k = layer.kernel_size
            cin = layer.input.shape[-1]
            total += out[1] * out[2] * cin * k[0] * k[1] + out[1] * out[2] * cin * out[3]
        elif isinstance(layer, layers.Conv2D):
            k = layer.kernel_size
            total += out[1] * out[2] * out[3] * k[0] * k[1] * layer.input.shape[-1]
        elif isinstance(layer, layers.Dense):
            total += layer.input.shape[-1] * out[-1]
    return int(total)


def planned_params(input_shape) -> int:
    """Weights of the network this tool builds for ``input_shape`` (``siamese.model.network.plan_architecture``)."""
    channels = int(input_shape[-1])
    total = 0
    for spec in plan_architecture(tuple(int(v) for v in input_shape)):
        if spec["layer"] == "DepthwiseConv2D":
            channels *= spec["depth_multiplier"]
            total += spec["kernel"] ** 2 * channels + channels
        elif spec["layer"] in ("Conv2D", "SeparableConv2D"):
            per_input = spec["kernel"] ** 2 + spec["filters"] if spec["layer"] == "SeparableConv2D" else spec["filters"]
            total += channels * per_input + spec["filters"]
            channels = spec["filters"]
        elif spec["layer"] == "Flatten":
            channels = spec["output"][0]
        elif spec["layer"] == "Dense":
            total += channels * spec["units"] + spec["units"]
    return total


def load_siamese(path, input_shape: Shape | None = None) -> keras.Model:
    """Load a saved siamese model in Keras safe mode.

    Safe mode refuses Lambda layers and any other serialized Python code, so opening a
    model file never runs code from it; unregistered classes fail to load. Before that,
    ``siamese.model.model_file.check_model_file`` refuses anything but a regular file of
    bounded size whose architecture holds a bounded number of weights (for ``input_shape``,
    the run's recorded input, when given).

    Raises:
        SiameseError: the file is missing or is not a model this tool can load safely.
    """
    check_model_file(path, None if input_shape is None else planned_params(input_shape))
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except FileNotFoundError:
        raise SiameseError(f"model file {path} does not exist; train the run again") from None
    except Exception as exc:  # Keras raises many types for a bad or unsafe file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise SiameseError(f"model file {path} cannot be loaded safely ({first}); only models saved by this tool are accepted") from None
