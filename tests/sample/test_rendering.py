"""Tests for rendering one thermal image of a synthetic person."""

from __future__ import annotations

import numpy as np
import pytest

from siamese.errors import SiameseError
from siamese.sample.faces import FaceIdentity, make_identity
from siamese.sample.rendering import render_face


def test_render_face_returns_gray_image_of_the_requested_size() -> None:
    rng = np.random.default_rng(0)
    identity = make_identity(rng)

    default = render_face(identity, rng)
    small = render_face(identity, rng, size=(30, 40))

    assert isinstance(identity, FaceIdentity)
    assert (default.shape, default.dtype) == ((60, 80), np.uint8)
    assert small.shape == (30, 40)
    # A warm face on a cooler room uses much of the gray range.
    assert int(default.max()) - int(default.min()) > 100


@pytest.mark.parametrize("size", [(8, 80), (60,), (60.0, 80)], ids=["too-small", "one-number", "float"])
def test_render_face_rejects_bad_size(size: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)

    with pytest.raises(SiameseError, match="size must be two integers"):
        render_face(make_identity(rng), rng, size=size)
