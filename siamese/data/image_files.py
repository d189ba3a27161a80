"""Opening image files with Pillow: only the formats the tool promises, told apart by content.

Pillow knows dozens of formats and hands some to outside programs (PostScript and EPS to
Ghostscript), so every image the tool reads, from a dataset folder, a run or an upload,
is opened here with exactly ``IMAGE_FORMATS``. A file is judged by its bytes, never by its
name: PostScript named ``face.png`` is refused like ``face.eps``. NumPy ``.npy`` frames are
read by ``siamese.data.thermal_pixels.read_npy``, not by Pillow.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager

from PIL import Image, UnidentifiedImageError

from siamese.errors import SiameseError

# Pillow's names of the formats the README promises. JPEG files written by cameras as
# multi-picture JPEG (MPO) are opened by the JPEG reader too; their first picture is the photo.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "TIFF")
FORMATS_WORDS = "PNG, JPEG, BMP or TIFF"
_FIRST_FRAME_IS_THE_IMAGE = ("MPO",)


@contextmanager
def open_image(source: str | os.PathLike[str] | bytes, where: str) -> Iterator[Image.Image]:
    """Pillow's image of a file (or its bytes) in one of ``IMAGE_FORMATS``, not yet decoded.

    ``where`` names the file in messages.

    Raises:
        SiameseError: the content is no PNG, JPEG, BMP or TIFF image (whatever the name says),
            or the file holds several frames (an animated PNG, a TIFF stack).
        OSError: the file cannot be opened (missing, unreadable); callers word these.
    """
    try:
        img = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source, formats=IMAGE_FORMATS)
    except UnidentifiedImageError:
        raise SiameseError(
            f"{where} cannot be read as an image: by its content it is no {FORMATS_WORDS} image (whatever its name says), "
            f"and no other format is read; save it as {FORMATS_WORDS}"
        ) from None
    with img:
        frames = getattr(img, "n_frames", 1)
        if frames > 1 and img.format not in _FIRST_FRAME_IS_THE_IMAGE:
            raise SiameseError(f"{where} holds {frames} frames ({img.format}); save each frame as its own file")
        yield img
