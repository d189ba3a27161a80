"""Training settings: ``TrainConfig`` with every default, and the precisions a run may train in.

The defaults live here once: the command line's ``train`` options, the dashboard's form
and the jobs that start training all take them from ``TrainConfig``'s fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from siamese.data.thermal_pixels import PixelMapping
from siamese.errors import SiameseError
from siamese.limits import check_input_shape, check_seed

# "auto" picks mixed_bfloat16 where the CPU computes bfloat16 natively, else float32
# (``siamese.model.network.resolve_precision``). Defined here, not in siamese.model.network, so the
# command line and the dashboard's form can offer them without loading TensorFlow.
PRECISIONS = ("auto", "float32", "mixed_bfloat16")

# Training objectives (docs/objectives.md): ``contrastive`` on random pairs (the original
# method), ``triplet``: every triplet of class-balanced batches (batch-all), of
# ``IMAGES_PER_CLASS`` images of each of batch_size / IMAGES_PER_CLASS classes;
# ``cosface``: a margin-based softmax over the training classes on the same batches, with
# embeddings on the unit sphere (siamese.model.margin_softmax); ``arcface``: the same with
# an angular margin; ``contrastive-triplet``: on the same batches, the contrastive loss over
# every two images of the batch plus the batch-all triplet loss; ``supcon``: the supervised
# contrastive loss on the same batches, embeddings on the unit sphere.
LOSSES = ("contrastive", "triplet", "contrastive-triplet", "supcon", "cosface", "arcface")
BALANCED_LOSSES = ("triplet", "contrastive-triplet", "supcon", "cosface", "arcface")  # trained on class-balanced batches of images, not pairs
NORMALIZED_LOSSES = ("supcon", "cosface", "arcface")  # embeddings on the unit sphere
MARGIN_SOFTMAX_LOSSES = ("cosface", "arcface")  # a class layer trained with the embedding, dropped after training
# Trained in float32 whatever the CPU (``--precision auto``; mixed_bfloat16 is refused): the
# supervised contrastive loss collapsed in mixed bfloat16 in both trials (docs/objectives.md).
FLOAT32_LOSSES = ("supcon",)
IMAGES_PER_CLASS = 4
# Adam's learning rate when none is given: DEFAULT_LEARNING_RATE, or the loss's own where it
# measured better (supcon: 0.001 against 0.004 on four datasets of five, docs/objectives.md).
DEFAULT_LEARNING_RATE = 0.004
LOSS_LEARNING_RATES = {"supcon": 0.001}


def default_learning_rate(loss: str) -> float:
    """The learning rate ``loss`` trains with when none is given."""
    return LOSS_LEARNING_RATES.get(loss, DEFAULT_LEARNING_RATE)

# The settings a user chooses (command-line options, the dashboard's form); training
# fills in the other fields (classes, fingerprint, image counts).
USER_SETTINGS = (
    "train_dir", "epochs", "batch_size", "margin", "learning_rate", "input_shape", "seed",
    "validation_split", "val_dir", "precision", "calibration_split", "augment",
    "unit", "window", "palette", "loss",
)


@dataclass
class TrainConfig:
    """Every setting of a training run; stored in run.json so a run can be repeated."""

    train_dir: str
    epochs: int = 40
    batch_size: int = 32
    margin: float = 0.6
    learning_rate: float | None = None  # None: the loss's own (default_learning_rate), filled in at once
    input_shape: list[int] | None = None
    seed: int = 0
    validation_split: float = 0.0
    val_dir: str | None = None
    precision: str = "auto"
    calibration_split: float = 0.15
    augment: bool = True  # shift, gain, ambient offset, noise: measured in docs/open-set.md
    # How pixels become input (siamese.data.thermal_pixels.PixelMapping): the values' temperature unit,
    # a fixed window in degrees Celsius, palette read-back. Old runs lack them: the defaults.
    unit: str = "counts"
    window: list[float] | None = None
    palette: str | None = None
    loss: str = "contrastive"  # LOSSES; old runs lack it: they trained with the contrastive loss
    class_names: list[str] = field(default_factory=list)
    data_fingerprint: str = ""
    n_train: int = 0
    n_validation: int = 0
    n_calibration: int = 0

    def __post_init__(self):
        if self.learning_rate is None:
            self.learning_rate = default_learning_rate(self.loss)

    def validate(self) -> None:
        """Raise SiameseError naming the first option with a bad value."""
        checks = [
            (self.epochs >= 1, "epochs", self.epochs, "a whole number of at least 1"),
            (self.batch_size >= 2, "batch size", self.batch_size, "a whole number of at least 2"),
            (self.margin > 0, "margin", self.margin, "a positive number such as 0.6"),
            (0 < self.learning_rate < 1, "learning rate", self.learning_rate, "a number between 0 and 1 such as 0.0008"),
            (0 <= self.validation_split < 1, "validation split", self.validation_split, "a fraction between 0 and 1 such as 0.2"),
            (self.loss in LOSSES, "loss", self.loss, " or ".join(LOSSES)),
            (self.precision in PRECISIONS, "precision", self.precision, ", ".join(PRECISIONS[:-1]) + " or " + PRECISIONS[-1]),
            (not (self.loss in FLOAT32_LOSSES and self.precision == "mixed_bfloat16"), "precision", self.precision,
             f"float32 or auto with the {self.loss} loss (in mixed bfloat16 its training collapsed)"),
            (0 <= self.calibration_split < 0.5, "calibration split", self.calibration_split, "a fraction from 0 (off) to below 0.5 such as 0.15"),
            (self.validation_split + self.calibration_split < 0.9, "validation plus calibration split", self.validation_split + self.calibration_split,
             "fractions that leave most images for training (together below 0.9)"),
        ]
        for ok, name, value, expected in checks:
            if not ok:
                raise SiameseError(f"{name} {value!r} is not valid; use {expected}")
        check_seed(self.seed)
        if self.input_shape:
            check_input_shape(self.input_shape, "the input shape " + ",".join(map(str, self.input_shape)),
                              "choose a smaller one such as 60,80,3 (every image is resized to it)")
        PixelMapping.from_config(self).validate()

