"""Thermal colour palettes for display only: the model always sees the original pixels."""

from __future__ import annotations

import numpy as np

# Colour stops (position in [0, 1], RGB 0-255), linearly interpolated in between.
# Inferno is sampled from matplotlib's perceptually uniform map at nine evenly spaced
# points; ironbow follows the usual thermal-camera ramp black -> indigo -> magenta ->
# red -> orange -> yellow -> white; rainbow is the cameras' blue -> cyan -> green -> yellow ->
# red -> white ramp (not monotone in brightness, so offered for palette read-back only).
PALETTE_STOPS: dict[str, list[tuple[float, tuple[int, int, int]]]] = {
    "gray": [(0.0, (0, 0, 0)), (1.0, (255, 255, 255))],
    "inferno": [(0.0, (0, 0, 4)), (0.125, (31, 12, 72)), (0.25, (85, 15, 109)), (0.375, (136, 34, 106)), (0.5, (186, 54, 85)), (0.625, (227, 89, 51)), (0.75, (249, 140, 10)), (0.875, (249, 201, 50)), (1.0, (252, 255, 164))],
    "ironbow": [(0.0, (0, 0, 0)), (0.15, (30, 0, 100)), (0.35, (140, 0, 150)), (0.55, (220, 50, 60)), (0.75, (250, 150, 0)), (0.9, (255, 220, 60)), (1.0, (255, 255, 255))],
    "rainbow": [(0.0, (0, 0, 96)), (0.2, (0, 0, 255)), (0.4, (0, 255, 255)), (0.55, (0, 255, 0)), (0.7, (255, 255, 0)), (0.85, (255, 0, 0)), (1.0, (255, 255, 255))],
}
# The display palettes (hotter = brighter in each); every palette above can be read back.
PALETTES = ("gray", "inferno", "ironbow")


def palette_table(name: str) -> np.ndarray:
    """The palette as a lookup table: uint8 (256, 3), entry i is the colour of level i/255.

    Raises:
        ValueError: ``name`` is not one of ``PALETTES``.
    """
    if name not in PALETTE_STOPS:
        raise ValueError(f"palette {name!r} is not known; use one of {', '.join(PALETTES)}")
    positions = np.array([p for p, _ in PALETTE_STOPS[name]])
    colours = np.array([c for _, c in PALETTE_STOPS[name]], dtype=np.float64)
    levels = np.linspace(0.0, 1.0, 256)
    table = np.stack([np.interp(levels, positions, colours[:, k]) for k in range(3)], axis=1)
    return np.round(table).astype(np.uint8)


def apply_palette(image: np.ndarray, name: str) -> np.ndarray:
    """Colour an image by its brightness: uint8 RGB (H, W, 3).

    Args:
        image: float (H, W) or (H, W, C) with values in [0, 1] (values outside are
            clipped); several channels are averaged to one brightness first.
        name: one of ``PALETTES``.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3:
        image = image.mean(axis=2)
    levels = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.intp)
    return palette_table(name)[levels]
