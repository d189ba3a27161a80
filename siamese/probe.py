"""Identifying one image against a run: the nearest class by the run's rule, or unknown."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from siamese.data import decode_image
from siamese.metrics import UNKNOWN, decide


@dataclass(frozen=True)
class ProbeResult:
    """One image identified against a run's classes.

    ``threshold`` is the one that applied to the nearest class (its own, with per-class
    thresholds); ``threshold_source`` says where it came from (see
    ``siamese.evaluation.THRESHOLD_SOURCES``).
    """

    predicted_class: str
    distance: float
    accepted: bool
    threshold: float
    distances: dict[str, float]
    embedding: np.ndarray
    threshold_source: str = "given"
    calibration_frr: float | None = None

    @property
    def margin(self) -> float:
        """How far the distance lies from the threshold (positive: on the accepted side)."""
        return self.threshold - self.distance

    def to_json(self) -> dict[str, Any]:
        return {
            "predicted_class": self.predicted_class if self.accepted else UNKNOWN,
            "nearest_class": self.predicted_class,
            "distance": self.distance,
            "accepted": self.accepted,
            "threshold": self.threshold,
            "threshold_source": self.threshold_source,
            "calibration_frr": self.calibration_frr,
            "distances": self.distances,
        }


def probe(run, image: str | os.PathLike[str] | bytes, threshold: float | None = None) -> ProbeResult:
    """Identify one image file (or its bytes): the nearest class by the run's rule, or unknown."""
    threshold, source, frr, class_thresholds = run.decision(threshold)
    source_image = image if isinstance(image, bytes) else Path(image)
    embedding = run.embed(decode_image(source_image, run.input_shape, run.pixels)[None])
    dist = run.scorer().class_distances(embedding)
    predicted, distance, accepted = decide(dist, threshold, class_thresholds)
    applied = float(class_thresholds[predicted[0]]) if class_thresholds is not None else float(threshold)
    return ProbeResult(
        predicted_class=run.class_names[int(predicted[0])],
        distance=float(distance[0]),
        accepted=bool(accepted[0]),
        threshold=applied,
        distances={name: float(d) for name, d in zip(run.class_names, dist[0])},
        embedding=embedding[0],
        threshold_source=source,
        calibration_frr=frr,
    )
