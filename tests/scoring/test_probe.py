"""Identifying one image: the nearest class by the run's rule, its threshold and where it came from."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from siamese.data.thermal_pixels import PixelMapping
from siamese.runs.recorded_scoring import ThresholdChoice
from siamese.scoring.probe import NARROW_MARGIN, calibration_reject_rate, probe
from siamese.scoring.rules import Scorer


class FakeRun:
    """The part of ``siamese.Run`` that probe uses, with a hand-made embedding and rule."""

    class_names = ["alice", "bob"]
    identities = class_names  # nobody enrolled
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
    assert result.to_json()["predicted_class"] == "alice" and result.to_json()["verdict"] == "identified" == result.verdict


def test_a_far_image_is_unknown_and_a_given_threshold_is_named(image):
    result = probe(FakeRun([0.0, 1.0]), image, threshold=0.5)
    assert not result.accepted and result.threshold_source == "given" and result.calibration_frr is None
    assert result.to_json()["predicted_class"] == "unknown" and result.to_json()["nearest_class"] == "alice"
    assert result.to_json()["verdict"] == "unknown" == result.verdict and result.nearest_class == result.predicted_class == "alice"


def test_per_class_thresholds_apply_to_the_nearest_class(image):
    result = probe(FakeRun([0.0, 1.0], class_thresholds=np.array([0.9, 3.0])), image)
    assert result.threshold == 0.9 and not result.accepted  # alice's own threshold, below the distance 1


@pytest.mark.parametrize("threshold, relative, narrow", [
    (1.5, 1 / 3, False),     # distance 1: 0.5 below, a third of the threshold
    (1.05, 0.05 / 1.05, True),  # 0.05 below: within 10% of the threshold
    (1.0 / (1 - NARROW_MARGIN), NARROW_MARGIN, False),  # exactly 10% below: not narrow
    (0.9, -0.1 / 0.9, False),  # rejected: never narrow
], ids=["clear", "narrow", "at-the-limit", "rejected"])
def test_a_narrow_acceptance_is_within_ten_percent_of_the_threshold(image, threshold, relative, narrow):
    result = probe(FakeRun([0.0, 1.0]), image, threshold=threshold)  # distance 1 to alice
    assert result.relative_margin == pytest.approx(relative)
    assert result.narrow is narrow


class CalibratedRun:
    def __init__(self, distances):
        self._record = {"calibration": {"distances": distances}} if distances is not None else {"calibration": None}

    def representatives(self):
        return self._record


def test_calibration_reject_rate_counts_distances_at_or_above_the_threshold():
    run = CalibratedRun([0.1, 0.2, 0.3, 0.4])
    assert calibration_reject_rate(run, 0.3) == (0.5, 4)  # 0.3 and 0.4: at or above
    assert calibration_reject_rate(run, 0.05) == (1.0, 4)
    assert calibration_reject_rate(run, 0.5) == (0.0, 4)
    assert calibration_reject_rate(CalibratedRun(None), 0.3) is None  # no calibration: no figure
