"""The ``cosface`` and ``arcface`` objectives: a margin-based softmax over the training
classes (CosFace, Wang et al. 2018, "large margin cosine loss"; ArcFace, Deng et al. 2019,
"additive angular margin loss").

The embedding network ends on the unit sphere (``build_embedding_network(normalized=True)``);
a class layer holds one unit-length weight vector per training class, and the loss is the
softmax cross-entropy of ``scale * (cos(embedding, class) - margin [own class only])``
(CosFace) or of ``scale * cos(angle + margin [own class only])`` (ArcFace).
Only the embedding network is kept: the run stores the same siamese model as any other
objective, and on the unit sphere its Euclidean distance sqrt(2 - 2 cos) orders pairs as
the cosine distance does, so representatives, thresholds and scoring rules work unchanged.
"""

from __future__ import annotations

import math

from siamese.model.backend import keras, tf
from siamese.model.network import pair_accuracy_in_batch

layers, ops = keras.layers, keras.ops

# Measured in docs/objectives.md. The scale keeps the softmax from saturating on the unit
# sphere (cosines lie in [-1, 1]); the margin is subtracted from the own-class cosine only.
COSFACE_SCALE = 16.0
COSFACE_MARGIN = 0.35
# ArcFace adds its margin to the angle (radians) of the own class; the same scale as CosFace.
ARCFACE_SCALE = 16.0
ARCFACE_MARGIN = 0.5
# Cosines are kept this far inside [-1, 1] before sin = sqrt(1 - cos^2), whose gradient is
# infinite at cos = +-1.
ARCFACE_CLIP = 1e-6


class CosineClassifier(layers.Layer):
    """cos(embedding, w_c) for every class c: unit-length class weights, (N, D) -> (N, C)."""

    def __init__(self, n_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.n_classes = int(n_classes)

    def build(self, input_shape):
        self.centres = self.add_weight(shape=(int(input_shape[-1]), self.n_classes), initializer="glorot_uniform", name="centres")

    def call(self, embeddings):
        centres = self.centres / ops.sqrt(ops.maximum(ops.sum(ops.square(self.centres), axis=0, keepdims=True), 1e-12))
        return ops.matmul(ops.cast(embeddings, "float32"), centres)


def cosface_loss(labels, cosines, scale: float = COSFACE_SCALE, margin: float = COSFACE_MARGIN):
    """Mean softmax cross-entropy of ``scale * (cosines - margin * onehot(labels))``."""
    labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
    onehot = ops.one_hot(labels, ops.shape(cosines)[-1])
    logits = scale * (cosines - margin * onehot)
    return ops.mean(keras.losses.categorical_crossentropy(onehot, logits, from_logits=True))


def arcface_loss(labels, cosines, scale: float = ARCFACE_SCALE, margin: float = ARCFACE_MARGIN):
    """Mean softmax cross-entropy of ``scale * cos(angle + margin)`` for the own class and
    ``scale * cos`` for the others.

    cos(angle + margin) = cos cos(margin) - sin sin(margin), with cos clipped inside
    [-1, 1] so sin's gradient stays finite. Past angle = pi - margin, where cos(angle +
    margin) would rise again, the own-class logit is ``cos - margin * sin(margin)``
    instead (ArcFace's usual fallback), which keeps falling with the angle.
    """
    labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
    onehot = ops.one_hot(labels, ops.shape(cosines)[-1])
    cos = ops.clip(ops.cast(cosines, "float32"), -1.0 + ARCFACE_CLIP, 1.0 - ARCFACE_CLIP)
    sin = ops.sqrt(1.0 - ops.square(cos))
    shifted = cos * math.cos(margin) - sin * math.sin(margin)
    shifted = ops.where(cos > math.cos(math.pi - margin), shifted, cos - margin * math.sin(margin))
    logits = scale * (onehot * shifted + (1.0 - onehot) * cos)
    return ops.mean(keras.losses.categorical_crossentropy(onehot, logits, from_logits=True))


# each margin softmax: its loss function, scale and margin
MARGIN_SOFTMAX = {
    "cosface": (cosface_loss, COSFACE_SCALE, COSFACE_MARGIN),
    "arcface": (arcface_loss, ARCFACE_SCALE, ARCFACE_MARGIN),
}


class MarginSoftmaxTrainer(keras.Model):
    """Trains ``embedding`` through a cosine class layer with the CosFace loss (``kind``
    ``cosface``) or the ArcFace loss (``arcface``).

    Batches are (images, classes). Logs ``loss`` and ``pair_accuracy`` (every two images of
    a batch judged by the original's distance rule, as the triplet objective logs it), so a
    run's history has the same columns whatever the objective.
    """

    def __init__(self, embedding: keras.Model, n_classes: int, kind: str = "cosface", **kwargs):
        kwargs.setdefault("name", kind)
        super().__init__(**kwargs)
        self.embedding, self.classifier = embedding, CosineClassifier(n_classes, name="classes")
        self.kind = kind
        self._loss_function, self.scale, self.margin = MARGIN_SOFTMAX[kind]
        self.loss_mean = keras.metrics.Mean(name="loss")
        self.accuracy_mean = keras.metrics.Mean(name="pair_accuracy")

    def call(self, images, training=False):
        return self.classifier(self.embedding(images, training=training))

    @property
    def metrics(self):
        return [self.loss_mean, self.accuracy_mean]

    def _measure(self, classes, embeddings, loss):
        self.loss_mean.update_state(loss)
        self.accuracy_mean.update_state(pair_accuracy_in_batch(classes, embeddings))
        return {m.name: m.result() for m in self.metrics}

    def loss_value(self, classes, cosines):
        """The margin softmax loss of a batch's classes and their cosines to every class."""
        return self._loss_function(classes, cosines, self.scale, self.margin)

    def train_step(self, data):
        images, classes = data
        with tf.GradientTape() as tape:
            embeddings = self.embedding(images, training=True)
            loss = self.loss_value(classes, self.classifier(embeddings))
        variables = self.trainable_variables
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return self._measure(classes, embeddings, loss)

    def test_step(self, data):
        images, classes = data
        embeddings = self.embedding(images, training=False)
        return self._measure(classes, embeddings, self.loss_value(classes, self.classifier(embeddings)))


def compile_margin_softmax(embedding: keras.Model, n_classes: int, learning_rate: float, kind: str = "cosface") -> MarginSoftmaxTrainer:
    """The ``kind`` trainer of ``embedding`` (built with ``normalized=True``), compiled with Adam."""
    trainer = MarginSoftmaxTrainer(embedding, n_classes, kind)
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return trainer
