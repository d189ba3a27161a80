"""The raw-pixel baseline (siamese.scoring.raw_pixel_baseline): nearest class medoid on pixels, by hand."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from siamese.errors import SiameseError
from siamese.scoring.raw_pixel_baseline import raw_pixel_accuracy


def _write(folder, name, value):
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8), value, np.uint8)).save(folder / f"{name}.png")


def test_each_test_image_takes_the_class_of_the_nearest_medoid(tmp_path):
    for i, v in enumerate((10, 20, 30)):
        _write(tmp_path / "train" / "dark", f"d{i}", v)
        _write(tmp_path / "train" / "light", f"l{i}", 200 + v)
    # 100 is nearer the dark medoid (20) than the light one (220); 150 nearer light.
    for name, cls, v in (("a", "dark", 100), ("b", "light", 150), ("c", "light", 90)):
        _write(tmp_path / "test" / cls, name, v)
    assert raw_pixel_accuracy(tmp_path / "train", tmp_path / "test") == pytest.approx(2 / 3)


def test_a_test_class_the_training_folder_lacks_is_refused(tmp_path):
    _write(tmp_path / "train" / "a", "1", 0)
    _write(tmp_path / "train" / "a", "2", 5)
    _write(tmp_path / "test" / "zed", "1", 0)
    with pytest.raises(SiameseError, match="classes zed in .* are not in the training folder"):
        raw_pixel_accuracy(tmp_path / "train", tmp_path / "test")
