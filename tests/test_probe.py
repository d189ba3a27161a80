"""Identifying one image: the nearest class by the run's rule, its threshold and where it came from."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from siamese.probe import probe
from siamese.recorded import ThresholdChoice
from siamese.scoring import Scorer
from siamese.thermal import PixelMapping


class FakeRun:
    """The part of ``siamese.Run`` that probe uses, with a hand-made embedding and rule."""

    class_names = ["alice", "bob"]
    input_shape = (8, 8, 1)
    pixels = PixelMapping()

    def __init__(self, embedding, class_thresholds=None):
        self._embedding = np.array([embedding], np.float32)
        self._class_thresholds = class_thresholds

    def decision(self, threshold=None):
        if threshold is not None:
            return ThresholdChoice(threshold, "given", None, None)
        return ThresholdChoice(1.5, "calibration", 0.05, self._class_thresholds)

    def embed(self, images):
        assert images.shape == (1, 8, 8, 1)  # the decoded image, fitted to the run's input
        return self._embedding

    def scorer(self):
        return Scorer("centroid", 2, np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([0, 1]))


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "probe.png"
    Image.fromarray(np.zeros((16, 16), np.uint8), "L").save(path)
    return path


def test_a_near_image_is_identified_at_the_run_threshold(image):
    result = probe(FakeRun([0.0, 1.0]), image)
    # distances: 1 to alice, sqrt(9 + 9) to bob
    assert result.predicted_class == "alice" and result.distance == pytest.approx(1.0)
    assert result.accepted and result.threshold == 1.5 and result.margin == pytest.approx(0.5)
    assert result.threshold_source == "calibration" and result.calibration_frr == 0.05
    assert result.distances == pytest.approx({"alice": 1.0, "bob": np.sqrt(18.0)})
    assert result.to_json()["predicted_class"] == "alice"


def test_a_far_image_is_unknown_and_a_given_threshold_is_named(image):
    result = probe(FakeRun([0.0, 1.0]), image, threshold=0.5)
    assert not result.accepted and result.threshold_source == "given" and result.calibration_frr is None
    assert result.to_json()["predicted_class"] == "unknown" and result.to_json()["nearest_class"] == "alice"


def test_per_class_thresholds_apply_to_the_nearest_class(image):
    result = probe(FakeRun([0.0, 1.0], class_thresholds=np.array([0.9, 3.0])), image)
    assert result.threshold == 0.9 and not result.accepted  # alice's own threshold, below the distance 1
