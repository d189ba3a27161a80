"""Thermal pixels: units, windows, palette read-back and radiometric files, against hand-computed values."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import DEMO_RUN
from siamese.data.folders import decode_image, infer_shape, load_folder
from siamese.data.palettes import palette_table
from siamese.data.thermal_pixels import (
    PixelMapping,
    PixelMismatch,
    celsius_of_file,
    detect_palette,
    palette_positions,
    parse_window,
    read_npy,
    to_celsius,
    window,
)
from siamese.errors import SiameseError
from siamese.runs.store import load_run
from siamese.training.config import TrainConfig

FACES = PixelMapping("centikelvin", (28.0, 38.0))


@pytest.mark.parametrize(("value", "unit"), [(30.0, "celsius"), (303.15, "kelvin"), (30315, "centikelvin")], ids=["celsius", "kelvin", "centikelvin"])
def test_thirty_degrees_in_each_unit(value, unit):
    np.testing.assert_allclose(to_celsius(np.array([value]), unit), [30.0])


def test_counts_are_not_a_temperature():
    with pytest.raises(ValueError, match="not a temperature unit"):
        to_celsius(np.array([1.0]), "counts")


def test_the_window_maps_degrees_linearly_and_clips():
    # 28:38 -> (c - 28) / 10: 30 C is 0.2, 33 C is 0.5, and outside the window clips.
    np.testing.assert_allclose(window(np.array([20.0, 28.0, 30.0, 33.0, 38.0, 60.0]), 28.0, 38.0), [0.0, 0.0, 0.2, 0.5, 1.0, 1.0])


def test_parse_window():
    assert parse_window("28:38") == (28.0, 38.0)
    assert parse_window("-5.5:40") == (-5.5, 40.0)
    for bad in ("38:28", "28", "a:b", "28:28", "nan:3"):
        with pytest.raises(SiameseError, match="LOW:HIGH"):
            parse_window(bad)


def _png16(path: Path, values: np.ndarray) -> Path:
    Image.fromarray(values.astype(np.uint16)).save(path)
    return path


def test_a_16_bit_centikelvin_png_through_the_window(tmp_path):
    # 30.00 C = 30315 cK -> 0.2; 33.00 C = 30615 cK -> 0.5; 40.00 C = 31315 cK and 20.00 C = 29315 cK clip to 1 and 0.
    frame = np.array([[30315, 30615, 31315, 29315]] * 3)
    got = decode_image(_png16(tmp_path / "f.png", frame), pixels=FACES)
    assert got.shape == (3, 4, 1)
    np.testing.assert_allclose(got[0, :, 0], [0.2, 0.5, 1.0, 0.0], atol=1e-6)


def test_without_a_window_each_frame_is_stretched_as_before(tmp_path):
    frame = np.array([[30315, 30615, 31315, 29315]] * 3)
    path = _png16(tmp_path / "f.png", frame)
    np.testing.assert_allclose(decode_image(path, pixels=PixelMapping("centikelvin"))[0, :, 0], [0.5, 0.65, 1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(decode_image(path)[0, :, 0], [0.5, 0.65, 1.0, 0.0], atol=1e-6)  # counts: today's behaviour


def test_a_float_tiff_of_celsius(tmp_path):
    path = tmp_path / "f.tif"
    Image.fromarray(np.array([[28.0, 33.0], [35.5, 45.0]], np.float32)).save(path)
    got = decode_image(path, pixels=PixelMapping("celsius", (28.0, 38.0)))
    np.testing.assert_allclose(got[..., 0], [[0.0, 0.5], [0.75, 1.0]], atol=1e-6)


@pytest.mark.parametrize(("dtype", "unit", "values"), [
    (np.float32, "celsius", [[28.0, 33.0], [30.0, 38.0]]),
    (np.float64, "kelvin", [[301.15, 306.15], [303.15, 311.15]]),
    (np.uint16, "centikelvin", [[30115, 30615], [30315, 31115]]),
], ids=["float32-celsius", "float64-kelvin", "uint16-centikelvin"])
def test_npy_frames_in_each_unit(tmp_path, dtype, unit, values):
    path = tmp_path / "f.npy"
    np.save(path, np.array(values, dtype))
    got = decode_image(path, (2, 2, 3), PixelMapping(unit, (28.0, 38.0)))
    assert got.shape == (2, 2, 3)  # one value per pixel, replicated to the network's channels
    np.testing.assert_allclose(got[..., 0], [[0.0, 0.5], [0.2, 1.0]], atol=1e-5)
    np.testing.assert_array_equal(got[..., 0], got[..., 2])


def test_npy_bytes_decode_like_the_file(tmp_path):
    path = tmp_path / "f.npy"
    np.save(path, np.array([[28.0, 33.0]], np.float32))
    pixels = PixelMapping("celsius", (28.0, 38.0))
    np.testing.assert_array_equal(decode_image(path.read_bytes(), pixels=pixels), decode_image(path, pixels=pixels))


def test_an_8_bit_image_cannot_hold_temperatures(tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(np.full((4, 4), 100, np.uint8)).save(path)
    with pytest.raises(PixelMismatch, match=r"gray.png is an 8-bit image \(mode L\), which cannot hold temperatures in centikelvin"):
        decode_image(path, pixels=FACES)


def test_a_wrong_unit_is_refused_not_read(tmp_path):
    # Degrees Celsius read as centikelvin would be about -273 C: not a scene.
    path = tmp_path / "f.npy"
    np.save(path, np.full((4, 4), 33.0, np.float32))
    with pytest.raises(PixelMismatch, match="median of -273 °C"):
        decode_image(path, pixels=FACES)


def test_celsius_of_file(tmp_path):
    np.testing.assert_allclose(celsius_of_file(_png16(tmp_path / "f.png", np.array([[30315, 31315]])), "centikelvin", 100), [[30.0, 40.0]])


@pytest.mark.parametrize("name", ["ironbow", "inferno", "rainbow", "gray"])
@pytest.mark.parametrize("level", [0, 51, 128, 200, 255])
def test_a_palette_colour_reads_back_to_its_position(name, level):
    colour = palette_table(name)[level]
    positions, off = palette_positions(np.array([[colour]], np.uint8), name)
    assert off == 0.0
    assert positions[0, 0] == pytest.approx(level / 255.0, abs=1 / 255.0)


def test_palette_read_back_by_hand():
    # gray: (51, 51, 51) is 0.2 of the way up; ironbow starts black and ends white.
    np.testing.assert_allclose(palette_positions(np.array([[[51, 51, 51]]], np.uint8), "gray")[0], [[0.2]])
    np.testing.assert_allclose(palette_positions(np.array([[[0, 0, 0], [255, 255, 255]]], np.uint8), "ironbow")[0], [[0.0, 1.0]])


def test_an_image_off_the_palette_is_refused_with_one_sentence(tmp_path):
    path = tmp_path / "green.png"
    Image.fromarray(np.tile(np.array([0, 255, 0], np.uint8), (6, 8, 1))).save(path)
    with pytest.raises(SiameseError, match=r"green.png has 100% of its pixels far from the ironbow palette"):
        decode_image(path, pixels=PixelMapping(palette="ironbow"))


def test_an_ironbow_export_reads_back_to_its_gray_levels(tmp_path):
    gray = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (3, 1))
    path = tmp_path / "ironbow.png"
    Image.fromarray(palette_table("ironbow")[gray]).save(path)
    got = decode_image(path, pixels=PixelMapping(palette="ironbow"))
    assert got.shape == (3, 64, 1)
    np.testing.assert_allclose(got[..., 0], gray / 255.0, atol=1.01 / 255.0)
    assert detect_palette([np.asarray(Image.open(path))]) == "ironbow"


def test_read_back_and_temperature_shapes_default_to_three_channels(tmp_path):
    (tmp_path / "a").mkdir()
    np.save(tmp_path / "a" / "f.npy", np.full((10, 12), 30.0, np.float32))
    assert infer_shape([tmp_path / "a" / "f.npy"], PixelMapping("celsius")) == (10, 12, 3)
    assert infer_shape([tmp_path / "a" / "f.npy"]) == (10, 12, 1)
    assert load_folder(tmp_path, pixels=PixelMapping("celsius", (28.0, 38.0))).images[0, 0, 0, 0] == pytest.approx(0.2)


@pytest.mark.parametrize(("settings", "message"), [
    ({"window": [28.0, 38.0]}, "a temperature window needs the unit"),
    ({"unit": "celsius", "palette": "ironbow"}, "choose one of them"),
    ({"unit": "fahrenheit"}, "unit 'fahrenheit' is not known"),
    ({"palette": "jet"}, "palette 'jet' is not known"),
    ({"unit": "celsius", "window": [38.0, 28.0]}, "LOW below HIGH"),
])
def test_settings_that_cannot_be_combined(settings, message):
    with pytest.raises(SiameseError, match=message):
        TrainConfig(train_dir="x", **settings).validate()


def test_the_mapping_is_read_from_a_config_and_old_runs_read_counts():
    assert PixelMapping.from_config({"unit": "kelvin", "window": [28, 38], "palette": None}) == PixelMapping("kelvin", (28.0, 38.0))
    assert PixelMapping.from_config(TrainConfig(train_dir="x", palette="inferno")) == PixelMapping(palette="inferno")
    demo = load_run(DEMO_RUN)
    assert "unit" not in json.loads((demo.path / "run.json").read_text())["config"]  # made before these settings existed
    assert demo.pixels == PixelMapping() and demo.pixels.is_default
    assert demo.config.unit == "counts" and demo.config.window is None


def test_read_npy_checks_the_header_before_reading(tmp_path):
    path = tmp_path / "big.npy"
    np.save(path, np.zeros((10, 10), np.float32))
    with pytest.raises(SiameseError, match="more than the limit of 50"):
        read_npy(path, str(path), max_pixels=50)
