"""Images coloured for display: a file read the way a run reads it, then put through a palette."""

from __future__ import annotations

import os

import numpy as np

from siamese.data import decode_image
from siamese.palettes import apply_palette
from siamese.thermal import PixelMapping


def colour_image(source: str | os.PathLike[str] | bytes, name: str, pixels: PixelMapping | None = None) -> np.ndarray:
    """Read an image file (or its bytes) and colour it with a palette, at its own size.

    With ``pixels`` (a run's mapping) the image is read as that run reads it, so a
    radiometric frame is shown over the run's temperature window.

    Raises:
        SiameseError: the file cannot be read as an image (or not with ``pixels``).
    """
    return apply_palette(decode_image(source, pixels=pixels), name)
