"""Images coloured for display: a file read the way a run reads it, then put through a palette."""

from __future__ import annotations

import os

import numpy as np

from siamese.data.folders import decode_image, fit_to_shape
from siamese.data.palettes import apply_palette
from siamese.data.thermal_pixels import PixelMapping


def colour_image(source: str | os.PathLike[str] | bytes, name: str, pixels: PixelMapping | None = None,
                 max_side: int | None = None) -> np.ndarray:
    """Read an image file (or its bytes) and colour it with a palette, at its own size or, with
    ``max_side``, shrunk (aspect kept) so neither side exceeds it: a thumbnail small enough to cache.

    With ``pixels`` (a run's mapping) the image is read as that run reads it, so a
    radiometric frame is shown over the run's temperature window.

    Raises:
        SiameseError: the file cannot be read as an image (or not with ``pixels``).
    """
    image = decode_image(source, pixels=pixels)
    height, width = image.shape[:2]
    if max_side is not None and max(height, width) > max_side:
        scale = max_side / max(height, width)
        image = fit_to_shape(image, (max(1, round(height * scale)), max(1, round(width * scale)), image.shape[2]))
    return apply_palette(image, name)
