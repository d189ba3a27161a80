"""Images coloured for display (siamese.data.display_images): read as a run reads them, then a palette."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from siamese.data.display_images import colour_image
from siamese.data.palettes import palette_table
from siamese.errors import SiameseError


def test_a_gray_ramp_takes_the_palettes_colours_and_a_thumbnail_keeps_the_aspect(tmp_path):
    ramp = np.tile(np.array([0, 255], np.uint8), (40, 50))  # 40 x 100, black and white columns
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    coloured = colour_image(tmp_path / "ramp.png", "ironbow")
    assert coloured.shape == (40, 100, 3)
    table = palette_table("ironbow")
    assert np.array_equal(coloured[0, 0], table[0]) and np.array_equal(coloured[0, 1], table[255])
    assert colour_image((tmp_path / "ramp.png").read_bytes(), "gray", max_side=25).shape == (10, 25, 3)


def test_a_file_that_is_no_image_is_one_sentence(tmp_path):
    (tmp_path / "x.png").write_bytes(b"not an image")
    with pytest.raises(SiameseError, match="cannot be read as an image"):
        colour_image(tmp_path / "x.png", "gray")
