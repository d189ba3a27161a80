"""The training objective, built once from the settings: the batches it trains on, the
networks it trains and keeps, and its loss (docs/objectives.md).

Both training paths take it from here: one process (``siamese.training.single_process``,
Keras's ``fit`` on ``Built.trainer``) and several workers (``siamese.workers``, a step of
their own on ``Built.forward`` and ``Built.batch_loss``), so a new loss is added here once.

- ``contrastive``: batches of random pairs (``siamese.training.pairs.make_pairs``); the
  loss of a pair's distance.
- ``triplet``: class-balanced batches of images (P classes x K images,
  ``siamese.training.pairs.balanced_batches``); the batch-all triplet loss over every
  triplet of the batch (not a sum over images: it needs the whole batch at once).
- ``contrastive-triplet``: the same balanced batches; the contrastive loss over every two
  images of the batch (same- and other-class pairs weighted equally) plus the batch-all
  triplet loss.
- ``supcon``: the same balanced batches; the supervised contrastive loss, embeddings on
  the unit sphere.
- ``cosface``, ``arcface``: the same balanced batches; a margin softmax over the training
  classes, embeddings on the unit sphere (``siamese.model.margin_softmax``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siamese.training.config import BALANCED_LOSSES, IMAGES_PER_CLASS, MARGIN_SOFTMAX_LOSSES, NORMALIZED_LOSSES, TrainConfig
from siamese.training.pairs import balanced_batches, make_pairs

# One batch: the image indices of each input (one array for batches of images, two for
# pairs: left and right) and the targets (a pair's 1.0 same / 0.0 other, or an image's class).
Batch = tuple[tuple[np.ndarray, ...], np.ndarray]


@dataclass(frozen=True)
class Objective:
    """What a loss trains on and how its embedding ends, known without TensorFlow."""

    loss: str
    balanced: bool  # class-balanced batches of images; else batches of pairs
    normalized: bool  # embeddings on the unit sphere (a linear last layer, then L2 normalisation)

    @property
    def classifier(self) -> bool:
        """A class layer trained with the embedding (the margin softmaxes)."""
        return self.loss in MARGIN_SOFTMAX_LOSSES

    @property
    def inputs(self) -> int:
        """Images per example: 1 for batches of images, 2 for pairs."""
        return 1 if self.balanced else 2

    def epoch_batches(self, labels: np.ndarray, batch_size: int, rng: np.random.Generator, shuffle: bool = True) -> list[Batch]:
        """One epoch of batches over ``labels`` (indices into them), drawn with ``rng``.

        Pairs are shuffled when ``shuffle`` (a fixed validation set keeps make_pairs' order);
        balanced batches are drawn at random either way.
        """
        labels = np.asarray(labels)
        if self.balanced:
            return [((take,), labels[take].astype(np.float32)) for take in balanced_batches(labels, batch_size, IMAGES_PER_CLASS, rng)]
        left, right, same = make_pairs(labels, rng)
        order = rng.permutation(left.size) if shuffle else np.arange(left.size)
        return [((left[take], right[take]), same[take]) for take in np.array_split(order, range(batch_size, left.size, batch_size)) if take.size]

    def batches_per_epoch(self, labels: np.ndarray, batch_size: int) -> int:
        """How many batches every epoch has (the same whatever the draw)."""
        labels = np.asarray(labels)
        if self.balanced:
            return len(balanced_batches(labels, batch_size, IMAGES_PER_CLASS, np.random.default_rng(0)))
        n_pairs = 2 * int(sum(np.count_nonzero(labels == c) - 1 for c in np.unique(labels)))
        return -(-n_pairs // batch_size)


def objective_for(config: TrainConfig) -> Objective:
    """The objective of ``config.loss`` (one of ``siamese.training.config.LOSSES``)."""
    return Objective(config.loss, balanced=config.loss in BALANCED_LOSSES, normalized=config.loss in NORMALIZED_LOSSES)


class Built:
    """An objective's networks, built (under a ``tf.distribute`` scope, when the caller enters one).

    Attributes:
        embedding: image -> embedding, the network every objective trains.
        model: the siamese model the run keeps (two copies of ``embedding`` and their
            Euclidean distance), whatever the objective.
        trainer: what Keras's ``fit`` trains (compiled when ``compiled``); its weights are
            every trained weight (``cosface``, ``arcface``: the embedding's and the class layer's).
    """

    def __init__(self, objective: Objective, config: TrainConfig, input_shape, n_classes: int, compiled: bool = True):
        # deferred: siamese.model imports TensorFlow, which takes seconds to load
        from siamese.model.backend import keras
        from siamese.model.margin_softmax import MarginSoftmaxTrainer, compile_margin_softmax
        from siamese.model.network import (
            ContrastiveLoss,
            ContrastiveTripletLoss,
            SupervisedContrastiveLoss,
            TripletLoss,
            build_embedding_network,
            build_siamese,
            compile_siamese,
            compile_triplet,
        )

        self.objective = objective
        self.embedding = build_embedding_network(input_shape, config.precision, objective.normalized)
        self.model = build_siamese(self.embedding)
        if objective.classifier:
            self.trainer = (compile_margin_softmax(self.embedding, n_classes, config.learning_rate, objective.loss) if compiled
                            else MarginSoftmaxTrainer(self.embedding, n_classes, objective.loss))
            self.trainer.classifier.build((None, self.embedding.output_shape[-1]))
            self._loss = self.trainer.loss_value
            return
        if objective.balanced:
            if objective.loss == "supcon":
                loss = SupervisedContrastiveLoss()
            elif objective.loss == "contrastive-triplet":
                loss = ContrastiveTripletLoss(config.margin)
            else:
                loss = TripletLoss(config.margin)
            self.trainer = self.embedding
            if compiled:
                compile_triplet(self.embedding, config.margin, config.learning_rate, loss)
        else:
            self.trainer, loss = self.model, ContrastiveLoss(config.margin)
            if compiled:
                compile_siamese(self.model, config.margin, config.learning_rate)
        self._loss = lambda targets, outputs: keras.ops.mean(loss.call(targets, outputs))

    def forward(self, inputs, training: bool):
        """(what the loss takes, what pairs are judged on) for a batch of ``inputs``: a pair's
        distance, shape (N, 1), for both; or the images' embeddings, with a margin softmax their
        cosines to every class for the loss. One row per example, so rows of a batch's parts
        can be joined."""
        if not self.objective.balanced:
            distance = self.model(list(inputs), training=training)
            return distance, distance
        embeddings = self.embedding(inputs[0], training=training)
        if self.objective.classifier:
            return self.trainer.classifier(embeddings), embeddings
        return embeddings, embeddings

    def batch_loss(self, targets, outputs):
        """The objective's loss of one whole batch (its mean; for triplets, over the batch's triplets; for contrastive-triplet, over its pairs plus over its triplets; for supcon, over its anchors)."""
        return self._loss(targets, outputs)

    def judged(self, targets, outputs):
        """(pairs judged right by the original's distance rule, pairs judged) in one whole batch."""
        from siamese.model.backend import tf
        from siamese.model.network import pair_accuracy, pair_accuracy_in_batch

        n = tf.cast(tf.shape(targets)[0], tf.float32)
        if not self.objective.balanced:
            return pair_accuracy(targets, outputs) * n, n
        return pair_accuracy_in_batch(targets, outputs) * n * (n - 1.0), n * (n - 1.0)
