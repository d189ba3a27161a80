"""Resource limits (siamese.limits): refused from shapes and headers, before anything is allocated."""

from __future__ import annotations

import io
import resource

import numpy as np
import pytest
from PIL import Image

from siamese import limits
from siamese.data.folders import decode_image, parse_shape
from siamese.errors import SiameseError


@pytest.mark.parametrize("shape, fragment", [
    ((1, 10000, 1), "smaller than the network's minimum of 8x8"),
    ((10000, 1, 1), "smaller than the network's minimum of 8x8"),
    ((4000, 4000, 1), "4000x4000x1 = 16,000,000 values, more than the network's input limit of 1,048,576 (512x512x4)"),
    ((100000, 100000, 3), "more than the network's input limit"),
    ((60, 80, 4), "4 channels, but the network takes 1 (gray) or 3 (colour)"),
], ids=["one-pixel-high", "one-pixel-wide", "4000-square", "100000-square", "four-channels"])
def test_input_shapes_outside_the_limits_are_refused_with_the_limit_named(shape, fragment):
    with pytest.raises(SiameseError, match="give 60,80,3") as caught:
        limits.check_input_shape(shape, "the test", "give 60,80,3")
    assert fragment in str(caught.value)


def test_shapes_at_the_limits_are_accepted():
    assert limits.check_input_shape((8, 8, 1), "x", "y") == (8, 8, 1)
    assert limits.check_input_shape((512, 682, 3), "x", "y") == (512, 682, 3)  # 1,047,552 values
    assert parse_shape("60,80,3") == (60, 80, 3)
    with pytest.raises(SiameseError, match="input limit"):
        parse_shape("600,600,3")


def test_batches_shrink_to_the_memory_budget():
    assert limits.batch_size_for((60, 80, 3), 1024) == 1024  # 59 MB: within 256 MB
    big = limits.batch_size_for((512, 512, 3), 1024)
    assert big == limits.MAX_BATCH_BYTES // (512 * 512 * 3 * 4) == 85
    assert limits.batch_size_for((512, 682, 3), 10) == 10
    assert limits.batch_size_for((10**6, 10**3, 3), 10) == 1  # never below one image


@pytest.mark.parametrize("seed, ok", [(0, True), (2**32 - 1, True), (-1, False), (2**32, False), (10**23, False), (True, False), (1.5, False)])
def test_seeds_are_whole_numbers_numpy_accepts(seed, ok):
    if ok:
        assert limits.check_seed(seed) == seed
        np.random.default_rng(seed)
    else:
        with pytest.raises(SiameseError, match="use a whole number from 0 to 4,294,967,295"):
            limits.check_seed(seed)


def _sixteen_bit_png(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("I;16", (side, side)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_small_file_of_many_pixels_is_refused_from_its_header():
    data = _sixteen_bit_png(6320)  # issue 12: 78 KB on disk, 40 megapixels decoded
    assert len(data) < 200_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(SiameseError, match=r"larger than the limit of 16,777,216 pixels \(4096x4096\) per image file"):
        decode_image(data)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 50_000, grown_kb  # the 80 MB of 16-bit pixels (320 MB as float64) were never decoded


def test_an_image_at_the_file_limit_still_decodes():
    arr = decode_image(_sixteen_bit_png(1024), (60, 80, 1))
    assert arr.shape == (60, 80, 1)
