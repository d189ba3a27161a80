"""Placing new images on a run's map."""

from __future__ import annotations

import numpy as np

from siamese.maps.training_maps import place_on_map


def test_place_on_map_is_the_weighted_mean_of_nearest_points():
    train = np.array([[0.0], [1.0], [10.0]])
    xy = np.array([[0.0, 0.0], [4.0, 0.0], [100.0, 100.0]])
    # distances 0.25 and 0.75 to the two nearest: weights 4 and 4/3 -> x = (0*4 + 4*4/3) / (16/3) = 1
    np.testing.assert_allclose(place_on_map(np.array([0.25]), train, xy, k=2), [1.0, 0.0])


def test_a_point_on_a_training_point_lands_on_its_place():
    train = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    xy = np.array([[1.0, 1.0], [5.0, 5.0], [9.0, 9.0]])
    # distance sqrt(1e-7) to the second point outweighs the others by a factor over 10,000
    np.testing.assert_allclose(place_on_map(train[1], train, xy, k=3), [5.0, 5.0], atol=1e-3)
