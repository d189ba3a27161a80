"""Training-time augmentation: seeded, in range, and a variation rather than a new image."""

from __future__ import annotations

import numpy as np

from siamese.training.augment import MAX_OFFSET, augment


def _faces(n: int = 8) -> np.ndarray:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:60, 0:80]
    blob = np.exp(-(((x - 40) / 18.0) ** 2 + ((y - 30) / 22.0) ** 2))
    return np.clip(blob[None, :, :, None] * rng.uniform(0.6, 0.9, (n, 1, 1, 1)) + 0.05, 0, 1).repeat(3, axis=3).astype(np.float32)


def test_augment_is_seeded_in_range_and_close_to_the_original():
    images = _faces()
    a = augment(images, np.random.default_rng(1))
    b = augment(images, np.random.default_rng(1))
    c = augment(images, np.random.default_rng(2))
    assert a.shape == images.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, images)
    assert a.min() >= 0.0 and a.max() <= 1.0
    # A variation, not another image: mean value moves by at most gain and offset allow.
    shift = np.abs(a.mean(axis=(1, 2, 3)) - images.mean(axis=(1, 2, 3)))
    assert (shift <= 0.1 * images.mean(axis=(1, 2, 3)) + MAX_OFFSET + 0.01).all()
    # The face stays in place to within the 5% shift: correlation with the original stays high.
    for original, varied in zip(images, a):
        assert np.corrcoef(original.ravel(), varied.ravel())[0, 1] > 0.9
