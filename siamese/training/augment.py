"""Training-time augmentation that fits thermal faces (numpy, per batch, seeded)."""

from __future__ import annotations

import numpy as np

MAX_SHIFT = 0.05  # of the image's height and width
MAX_OFFSET = 0.05  # ambient temperature: a uniform shift of every pixel value
GAIN = (0.9, 1.1)  # the camera's automatic gain: a contrast change
NOISE = 0.01  # sensor noise, standard deviation in [0, 1] units
# Mirroring erases a face's asymmetries, which are part of who it is: with it, strangers
# and near twins were rejected less on the sample data, and digits changed class (bench/openset.py).
MIRROR = False


def augment(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A randomly varied copy of a batch (B, H, W, C) in [0, 1].

    Per image: a shift of up to 5% of the size with edge pixels repeated (head position), a gain
    and an offset of the values (ambient temperature and automatic gain), and
    Gaussian sensor noise; values are clipped to [0, 1]. Identity is unchanged by all
    of them, so same-person pairs stay same-person pairs. (With ``MIRROR``, also a mirror
    image with probability 1/2; off, see above.)
    """
    out = np.empty_like(images, dtype=np.float32)
    b, h, w = images.shape[:3]
    dy = rng.integers(-int(h * MAX_SHIFT), int(h * MAX_SHIFT) + 1, b)
    dx = rng.integers(-int(w * MAX_SHIFT), int(w * MAX_SHIFT) + 1, b)
    flip = (rng.random(b) < 0.5) & MIRROR
    rows, cols = np.arange(h), np.arange(w)
    for i in range(b):
        image = images[i, :, ::-1] if flip[i] else images[i]
        out[i] = image[np.clip(rows - dy[i], 0, h - 1)][:, np.clip(cols - dx[i], 0, w - 1)]
    gain = rng.uniform(*GAIN, (b, 1, 1, 1))
    offset = rng.uniform(-MAX_OFFSET, MAX_OFFSET, (b, 1, 1, 1))
    out = out * gain + offset + rng.normal(0.0, NOISE, out.shape)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
