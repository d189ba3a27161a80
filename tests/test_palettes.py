"""Display palettes: exact colours at the stops, monotone brightness, shapes."""

from __future__ import annotations

import numpy as np
import pytest

from siamese.palettes import PALETTE_STOPS, PALETTES, apply_palette, palette_table


@pytest.mark.parametrize("name", PALETTES, ids=PALETTES)
def test_stops_are_hit_exactly(name: str):
    table = palette_table(name)
    assert table.shape == (256, 3) and table.dtype == np.uint8
    for position, colour in PALETTE_STOPS[name]:
        if round(position * 255) == position * 255:  # stops that fall on a level
            assert tuple(table[int(position * 255)]) == colour
    assert tuple(table[0]) == PALETTE_STOPS[name][0][1]
    assert tuple(table[255]) == PALETTE_STOPS[name][-1][1]


@pytest.mark.parametrize("name", PALETTES, ids=PALETTES)
def test_hotter_is_brighter(name: str):
    # Thermal palettes must keep "hotter = brighter" so a face reads the same in each.
    luminance = palette_table(name).astype(float) @ np.array([0.2126, 0.7152, 0.0722])
    assert np.all(np.diff(luminance) >= -1.0)


def test_gray_is_identity_and_channels_are_averaged():
    image = np.array([[0.0, 0.5, 1.0]])
    np.testing.assert_array_equal(apply_palette(image, "gray"), [[[0, 0, 0], [128, 128, 128], [255, 255, 255]]])
    rgb = np.stack([image, image * 0, image * 0 + 1.0], axis=2)  # channel mean (0+0+1)/3.. (1+0+1)/3
    np.testing.assert_array_equal(apply_palette(rgb, "gray")[0, :, 0], [85, 128, 170])


def test_out_of_range_values_are_clipped_and_unknown_names_refused():
    np.testing.assert_array_equal(apply_palette(np.array([[-1.0, 2.0]]), "inferno"), [[[0, 0, 4], [252, 255, 164]]])
    with pytest.raises(ValueError, match="palette 'jet' is not known"):
        apply_palette(np.zeros((2, 2)), "jet")
