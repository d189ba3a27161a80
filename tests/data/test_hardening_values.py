"""One rule for every radiometric reader (.npy, 16-bit and float images): NaN, infinity and
values that would overflow the network's float32 input are refused with the same sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import DEMO_RUN, run_cli
from siamese.data.folders import decode_image
from siamese.data.thermal_pixels import PixelMapping, celsius_of_file, frame_values
from siamese.errors import SiameseError

MAPPINGS = [PixelMapping(), PixelMapping("centikelvin"), PixelMapping("centikelvin", (28.0, 38.0))]


def _npy(path: Path, values: np.ndarray) -> Path:
    np.save(path, values)
    return path


def _float_tiff(path: Path, values: np.ndarray) -> Path:
    Image.fromarray(values.astype(np.float32), mode="F").save(path)
    return path


def _frame() -> np.ndarray:
    return np.full((24, 32), 30700.0)  # 33.85 degrees C in centikelvin


@pytest.mark.parametrize("mapping", MAPPINGS, ids=lambda m: m.describe())
def test_a_npy_of_huge_finite_values_is_refused_not_turned_into_nan(tmp_path, mapping):
    values = _frame()
    values[0, 0], values[0, 1] = 1.7e308, -1.7e308
    path = _npy(tmp_path / "huge.npy", values)
    with pytest.raises(SiameseError, match=r"huge.npy holds values as large as 1.7e\+308, beyond 3.4e\+38, which no camera records"):
        decode_image(path, (24, 32, 1), mapping)


@pytest.mark.parametrize("mapping", MAPPINGS, ids=lambda m: m.describe())
def test_a_float_tiff_full_of_nan_is_refused_as_a_npy_with_one_nan_is(tmp_path, mapping):
    tiff = _float_tiff(tmp_path / "nan.tiff", np.full((24, 32), np.nan))
    one = _frame()
    one[3, 3] = np.nan
    npy = _npy(tmp_path / "nan.npy", one)
    with pytest.raises(SiameseError) as from_tiff:
        decode_image(tiff, (24, 32, 1), mapping)
    with pytest.raises(SiameseError) as from_npy:
        decode_image(npy, (24, 32, 1), mapping)
    assert str(from_tiff.value) == f"{tiff} holds 768 values that are NaN or infinite; replace them (for example with the frame's median) before reading it"
    assert str(from_npy.value) == str(from_tiff.value).replace(str(tiff), str(npy)).replace("768", "1")


def test_the_display_readers_follow_the_same_rule(tmp_path):
    tiff = _float_tiff(tmp_path / "inf.tiff", np.where(np.eye(24, 32) > 0, np.inf, 30700.0))
    for read in (lambda: frame_values(tiff, 10**6), lambda: celsius_of_file(tiff, "centikelvin", 10**6),
                 lambda: celsius_of_file(tiff.read_bytes(), "centikelvin", 10**6)):
        with pytest.raises(SiameseError, match="holds 24 values that are NaN or infinite"):
            read()
    fine = _float_tiff(tmp_path / "fine.tiff", _frame())
    assert np.allclose(celsius_of_file(fine, "centikelvin", 10**6), 33.85)


def test_probe_of_a_huge_npy_exits_2_with_one_sentence(tmp_path):
    values = np.full((60, 80), 128.0)
    values[5, 5] = 1.7e308
    result = run_cli("probe", str(DEMO_RUN), str(_npy(tmp_path / "huge.npy", values)), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "holds values as large as 1.7e+308" in result.stderr and len(result.stderr.strip().splitlines()) == 1
