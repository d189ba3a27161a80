"""Training settings: each bad value named, precisions from one list, user settings are fields."""

from __future__ import annotations

from dataclasses import fields

import pytest

from siamese.errors import SiameseError
from siamese.training.config import PRECISIONS, USER_SETTINGS, TrainConfig


def test_defaults_are_valid():
    TrainConfig(train_dir="data").validate()


@pytest.mark.parametrize(
    "change, words",
    [
        ({"epochs": 0}, "epochs 0 is not valid"),
        ({"batch_size": 1}, "batch size 1"),
        ({"margin": 0.0}, "margin 0.0"),
        ({"learning_rate": 1.0}, "learning rate 1.0"),
        ({"validation_split": 1.0}, "validation split 1.0"),
        ({"precision": "float16"}, "precision 'float16' is not valid; use auto, float32 or mixed_bfloat16"),
        ({"calibration_split": 0.5}, "calibration split 0.5"),
        ({"validation_split": 0.45, "calibration_split": 0.45}, "validation plus calibration split"),
    ],
    ids=["epochs", "batch-size", "margin", "learning-rate", "validation-split", "precision", "calibration-split", "both-splits"],
)
def test_a_bad_value_is_named(change, words):
    with pytest.raises(SiameseError, match=words):
        TrainConfig(train_dir="data", **change).validate()


@pytest.mark.parametrize("precision", PRECISIONS)
def test_every_listed_precision_is_accepted(precision):
    TrainConfig(train_dir="data", precision=precision).validate()


def test_user_settings_are_fields_and_the_rest_is_filled_in_by_training():
    names = [f.name for f in fields(TrainConfig)]
    assert set(USER_SETTINGS) <= set(names)
    assert set(names) - set(USER_SETTINGS) == {"class_names", "data_fingerprint", "n_train", "n_validation", "n_calibration"}


def test_the_learning_rate_is_the_losss_own_unless_given():
    from siamese.training.config import DEFAULT_LEARNING_RATE

    assert TrainConfig(train_dir="d").learning_rate == DEFAULT_LEARNING_RATE == 0.004
    assert TrainConfig(train_dir="d", loss="supcon").learning_rate == 0.001  # measured better for it (docs/objectives.md)
    assert TrainConfig(train_dir="d", loss="supcon", learning_rate=0.004).learning_rate == 0.004  # a given rate stands
    assert TrainConfig(train_dir="d", loss="cosface").learning_rate == DEFAULT_LEARNING_RATE
