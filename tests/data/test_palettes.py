"""Display palettes: exact colours at the stops, monotone brightness, shapes."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from siamese.data.palettes import PALETTE_STOPS, PALETTES, apply_palette, palette_table


def interpolated(stops: list[tuple[float, tuple[int, int, int]]], level: int) -> tuple[Fraction, ...]:
    """The exact colour of ``level`` (0-255) between the palette's stops, unrounded (an independent reference)."""
    t = Fraction(level, 255)
    for (p0, c0), (p1, c1) in zip(stops, stops[1:]):
        p0, p1 = Fraction(str(p0)), Fraction(str(p1))  # 0.15 as 3/20, not its binary approximation
        if p0 <= t <= p1:
            w = (t - p0) / (p1 - p0)
            return tuple(a + w * (b - a) for a, b in zip(c0, c1))
    raise AssertionError(f"level {level} lies outside the stops")


@pytest.mark.parametrize("name", PALETTES, ids=PALETTES)
def test_every_level_is_the_rounded_interpolation_of_the_stops(name: str):
    table = palette_table(name)
    assert table.shape == (256, 3) and table.dtype == np.uint8
    stops = PALETTE_STOPS[name]
    for level in range(256):
        exact = interpolated(stops, level)
        # the nearest integer of the exact value (a tie, x.5, may round either way)
        assert all(abs(int(got) - want) <= Fraction(1, 2) for got, want in zip(table[level], exact)), (level, tuple(table[level]), exact)
    assert tuple(table[0]) == stops[0][1]
    assert tuple(table[255]) == stops[-1][1]


@pytest.mark.parametrize("name", PALETTES, ids=PALETTES)
def test_apply_palette_colours_each_level_with_its_table_entry(name: str):
    levels = np.arange(256)
    image = (levels / 255).reshape(16, 16)
    coloured = apply_palette(image, name)
    assert coloured.shape == (16, 16, 3) and coloured.dtype == np.uint8
    np.testing.assert_array_equal(coloured.reshape(256, 3), palette_table(name)[levels])


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
