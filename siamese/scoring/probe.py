"""Identifying one image against a run: the nearest class by the run's rule, or unknown."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from siamese.data.folders import decode_image
from siamese.errors import SiameseError
from siamese.scoring.metrics import UNKNOWN, decide

# An accepted probe whose distance lies within this share of the threshold below it is a
# narrow acceptance: a slightly stricter threshold would turn it away.
NARROW_MARGIN = 0.10
IDENTIFIED = "identified"  # a probe's verdict when the threshold accepts it; UNKNOWN otherwise


@dataclass(frozen=True)
class ProbeResult:
    """One image identified against a run's classes.

    ``threshold`` is the one that applied to the nearest class (its own, with per-class
    thresholds); ``threshold_source`` says where it came from (see
    ``siamese.scoring.evaluation.THRESHOLD_SOURCES``).
    """

    nearest_class: str  # by the run's rule, whether or not the threshold accepts it
    distance: float
    accepted: bool
    threshold: float
    distances: dict[str, float]
    embedding: np.ndarray
    threshold_source: str = "given"
    calibration_frr: float | None = None

    @property
    def verdict(self) -> str:
        """``identified`` (the distance is below the threshold) or ``unknown``."""
        return IDENTIFIED if self.accepted else UNKNOWN

    @property
    def predicted_class(self) -> str:
        """The nearest class (the name the first versions gave ``nearest_class``; kept for callers)."""
        return self.nearest_class

    @property
    def margin(self) -> float:
        """How far the distance lies from the threshold (positive: on the accepted side)."""
        return self.threshold - self.distance

    @property
    def relative_margin(self) -> float:
        """The margin as a share of the threshold (0.25: the distance is 25% below it)."""
        return self.margin / self.threshold if self.threshold > 0 else float("-inf")

    @property
    def narrow(self) -> bool:
        """Accepted, but within ``NARROW_MARGIN`` of the threshold."""
        return self.accepted and self.relative_margin < NARROW_MARGIN

    def to_json(self) -> dict[str, Any]:
        return {
            "predicted_class": self.nearest_class if self.accepted else UNKNOWN,  # the verdict's class (DESIGN.md)
            "nearest_class": self.nearest_class,
            "verdict": self.verdict,
            "distance": self.distance,
            "accepted": self.accepted,
            "threshold": self.threshold,
            "threshold_source": self.threshold_source,
            "calibration_frr": self.calibration_frr,
            "distances": self.distances,
        }


def probe(run, image: str | os.PathLike[str] | bytes, threshold: float | None = None) -> ProbeResult:
    """Identify one image file (or its bytes): the nearest class (trained or enrolled) by the run's rule, or unknown."""
    if threshold is not None and not (np.isfinite(threshold) and threshold >= 0):
        raise SiameseError(f"threshold {threshold} is not valid; use a distance of 0 or more")
    threshold, source, frr, class_thresholds = run.decision(threshold)
    source_image = image if isinstance(image, bytes) else Path(image)
    embedding = run.embed(decode_image(source_image, run.input_shape, run.pixels)[None])
    dist = run.scorer().class_distances(embedding)
    names = run.identities  # the trained classes, then the people enrolled in the run's gallery
    predicted, distance, accepted = decide(dist, threshold, class_thresholds)
    applied = float(class_thresholds[predicted[0]]) if class_thresholds is not None else float(threshold)
    return ProbeResult(
        nearest_class=names[int(predicted[0])],
        distance=float(distance[0]),
        accepted=bool(accepted[0]),
        threshold=applied,
        distances={name: float(d) for name, d in zip(names, dist[0])},
        embedding=embedding[0],
        threshold_source=source,
        calibration_frr=frr,
    )


def calibration_reject_rate(run, threshold: float) -> tuple[float, int] | None:
    """The share of the run's calibration images (known faces the network never trained on)
    that ``threshold`` rejects, and how many there are; None when the run has no calibration.

    ``represent`` records each calibration image's nearest-class distance under the run's
    rule; an image is rejected when that distance is at or above the threshold.
    """
    calibration = run.representatives().get("calibration") or {}
    distances = np.asarray(calibration.get("distances") or [], np.float64)
    if not len(distances):
        return None
    return float(np.mean(distances >= threshold)), len(distances)
