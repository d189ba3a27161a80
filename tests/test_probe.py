"""Placing a probe on the map."""

from __future__ import annotations

import numpy as np

from siamese.probe import place_on_map


def test_place_on_map_is_the_weighted_mean_of_nearest_points():
    train = np.array([[0.0], [1.0], [10.0]])
    xy = np.array([[0.0, 0.0], [4.0, 0.0], [100.0, 100.0]])
    # distances 0.25 and 0.75 to the two nearest: weights 4 and 4/3 -> x = (0*4 + 4*4/3) / (16/3) = 1
    np.testing.assert_allclose(place_on_map(np.array([0.25]), train, xy, k=2), [1.0, 0.0])
