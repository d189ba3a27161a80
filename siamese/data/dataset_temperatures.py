"""A radiometric dataset's temperatures: its likely unit, each class's temperatures, and a window
suggested from the skin's temperatures (for the dashboard's Data and Train pages)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from siamese.data.folders import MAX_IMAGE_PIXELS, Listing
from siamese.data.thermal_pixels import UNITS, celsius_of_file, frame_values, to_celsius
from siamese.errors import SiameseError

# A scene with people in it: its median temperature lies in this range (degrees Celsius).
SCENE_CELSIUS = (-30.0, 60.0)
# The warmest fifth of a face frame is mostly skin. The suggested window spans the scene,
# from the room (the 5th percentile of all pixels) to the skin's 95th percentile, a degree
# to spare each side: on the synthetic faces a scene-wide window (15:40) kept more of who
# a person is (hair, outline) than a face-only one (28:38); docs/thermal.md.
SKIN_QUANTILE = 0.8
ROOM_PERCENTILE = 5.0
SKIN_PERCENTILES = (5.0, 95.0)


def _spread(paths: Sequence[Path], count: int) -> list[Path]:
    """Up to ``count`` paths spread evenly over ``paths``."""
    if not paths:
        return []
    return [paths[i] for i in np.unique(np.linspace(0, len(paths) - 1, min(count, len(paths))).astype(int))]


def guess_unit(listing: Listing, sample: int = 6) -> str | None:
    """The temperature unit the dataset's frames are most likely in, or None when they are
    not radiometric (8-bit images) or no unit gives a plausible scene.

    A unit fits when it puts the frames' median between -30 and 60 degrees Celsius;
    celsius is tried first, then kelvin, then centikelvin (no two fit the same values).
    """
    medians = []
    for path in _spread(listing.paths, sample):
        try:
            values = frame_values(path, MAX_IMAGE_PIXELS)
        except SiameseError:
            continue
        if values is not None:
            medians.append(float(np.median(values)))
    if not medians:
        return None
    median = np.array(np.median(medians))
    return next((unit for unit in UNITS[1:] if SCENE_CELSIUS[0] <= float(to_celsius(median, unit)) <= SCENE_CELSIUS[1]), None)


def class_temperatures(listing: Listing, unit: str, per_class: int = 12, values_per_image: int = 600, seed: int = 0) -> dict[str, np.ndarray]:
    """Sampled pixel temperatures (degrees Celsius) of up to ``per_class`` images of each class.

    Unreadable files are left out; a class without a readable frame maps to an empty array.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for index, name in enumerate(listing.class_names):
        paths = [p for p, label in zip(listing.paths, listing.labels) if label == index]
        values = []
        for path in _spread(paths, per_class):
            try:
                celsius = celsius_of_file(path, unit, MAX_IMAGE_PIXELS).ravel()
            except SiameseError:
                continue
            values.append(rng.choice(celsius, min(values_per_image, celsius.size), replace=False))
        out[name] = np.concatenate(values) if values else np.zeros(0)
    return out


def skin_temperatures(frames: Sequence[np.ndarray]) -> np.ndarray:
    """The warmest fifth of each frame (degrees Celsius), pooled: mostly skin in a face frame."""
    return np.concatenate([f[f >= np.quantile(f, SKIN_QUANTILE)] for f in frames]) if frames else np.zeros(0)


def skin_range(listing: Listing, unit: str, sample: int = 24) -> tuple[float, float] | None:
    """The skin's 5th and 95th percentile (degrees Celsius) over up to ``sample`` frames; None when none is readable."""
    skin = skin_temperatures(_frames(listing, unit, sample))
    return (float(np.percentile(skin, SKIN_PERCENTILES[0])), float(np.percentile(skin, SKIN_PERCENTILES[1]))) if skin.size else None


def _frames(listing: Listing, unit: str, sample: int) -> list[np.ndarray]:
    frames = []
    for path in _spread(listing.paths, sample):
        try:
            frames.append(celsius_of_file(path, unit, MAX_IMAGE_PIXELS))
        except SiameseError:
            continue
    return frames


def suggest_window(listing: Listing, unit: str, sample: int = 24) -> tuple[float, float] | None:
    """A temperature window for face frames that spans the scene: from the room (the 5th
    percentile of all pixels) to the skin's 95th percentile, widened by 1 degree each side
    and rounded outward to whole degrees; None when no frame is readable."""
    frames = _frames(listing, unit, sample)
    skin = skin_temperatures(frames)
    if not skin.size:
        return None
    low = np.percentile(np.concatenate([f.ravel() for f in frames]), ROOM_PERCENTILE)
    high = np.percentile(skin, SKIN_PERCENTILES[1])
    return float(np.floor(low - 1.0)), float(np.ceil(high + 1.0))
