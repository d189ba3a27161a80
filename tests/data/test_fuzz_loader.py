"""Fuzzing the image loader: every input ends as a loaded image or a clear refusal, never a crash."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from siamese.data.folders import MAX_IMAGE_PIXELS, decode_image, load_folder
from siamese.data.thermal_pixels import PixelMapping
from siamese.errors import SiameseError

SHAPE = (60, 80, 3)
FORMATS = ["PNG", "JPEG", "BMP", "TIFF"]
MODES = ["1", "L", "P", "RGB", "RGBA", "I;16", "I", "F"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _image(mode: str, width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65535, (height, width), dtype=np.uint16))
    if mode == "I":
        return Image.fromarray(rng.integers(-(2**31), 2**31 - 1, (height, width), dtype=np.int32))
    if mode == "F":
        values = rng.normal(0, 1e6, (height, width)).astype(np.float32)
        values[rng.random((height, width)) < 0.05] = np.nan  # thermal exports contain dead pixels
        return Image.fromarray(values)
    base = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8), "RGB")
    return base.convert(mode)


def _encode(image: Image.Image, fmt: str) -> bytes | None:
    buffer = io.BytesIO()
    try:
        image.save(buffer, fmt)
    except (OSError, ValueError, KeyError):
        return None  # that format cannot hold that mode; nothing to test
    return buffer.getvalue()


def _check(data: bytes) -> None:
    """The contract: a (60, 80, 3) float32 image in [0, 1], or SiameseError."""
    try:
        arr = decode_image(data, SHAPE)
    except SiameseError as exc:
        assert str(exc)
        return
    assert arr.shape == SHAPE and arr.dtype == np.float32
    assert np.isfinite(arr).all() and arr.min() >= 0.0 and arr.max() <= 1.0


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    _check(data)


@FUZZ
@given(
    mode=st.sampled_from(MODES),
    fmt=st.sampled_from(FORMATS),
    size=st.sampled_from([(1, 1), (10000, 1), (1, 10000), (7, 3), (80, 60), (333, 17)]),
    seed=st.integers(0, 2**16),
)
def test_every_mode_format_and_extreme_shape(mode, fmt, size, seed):
    data = _encode(_image(mode, *size, seed), fmt)
    if data is not None:
        _check(data)


@FUZZ
@given(
    mode=st.sampled_from(MODES),
    fmt=st.sampled_from(FORMATS),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=8),
)
def test_truncated_and_corrupted_files(mode, fmt, cut, flips):
    data = _encode(_image(mode, 40, 30, 1), fmt)
    if data is None:
        return
    corrupted = bytearray(data[: max(1, int(len(data) * cut))])
    for where, value in flips:
        corrupted[min(int(where * len(corrupted)), len(corrupted) - 1)] = value
    _check(bytes(corrupted))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge canvas but holds a few bytes of pixel data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "width, height",
    [(MAX_IMAGE_PIXELS // 1000 + 1, 1000), (100_000, 100_000), (2**31 - 1, 2**31 - 1)],
    ids=["just-over-the-limit", "ten-gigapixels", "largest-declarable"],
)
def test_decompression_bombs_are_refused_before_decoding(width, height):
    with pytest.raises(SiameseError, match="limit"):
        decode_image(_png_header_only(width, height), SHAPE)


def test_a_real_compressed_bomb_is_refused(tmp_path):
    side = 8000  # 64 megapixels of zeros compress to a few kilobytes
    Image.new("L", (side, side)).save(tmp_path / "bomb.png", optimize=True)
    assert (tmp_path / "bomb.png").stat().st_size < 200_000
    with pytest.raises(SiameseError, match="limit"):
        decode_image(tmp_path / "bomb.png", SHAPE)


def test_a_folder_of_bad_files_loads_what_it_can_and_names_the_rest(tmp_path):
    good = _encode(_image("L", 80, 60, 0), "PNG")
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        (tmp_path / cls / "good.png").write_bytes(good)
        (tmp_path / cls / "good2.png").write_bytes(good)
    (tmp_path / "a" / "random.png").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "a" / "bomb.png").write_bytes(_png_header_only(100_000, 100_000))
    (tmp_path / "b" / "cut.jpg").write_bytes(_encode(_image("RGB", 80, 60, 0), "JPEG")[:100])
    (tmp_path / "b" / "empty.tif").write_bytes(b"")
    ds = load_folder(tmp_path, SHAPE)
    assert len(ds) == 4
    assert sorted(s.path.rsplit("/", 1)[-1] for s in ds.skipped) == ["bomb.png", "cut.jpg", "empty.tif", "random.png"]


# .npy thermal frames ----------------------------------------------------------------------
NPY_DTYPES = ["bool", "int8", "uint16", "int32", "int64", "uint64", "float16", "float32", "float64", "complex64", "object", "<U3", "i4,f4"]
MAPPINGS = [PixelMapping(), PixelMapping("celsius"), PixelMapping("centikelvin", (28.0, 38.0)), PixelMapping(palette="ironbow")]


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _check_npy(data: bytes, pixels: PixelMapping) -> None:
    try:
        arr = decode_image(data, SHAPE, pixels)
    except SiameseError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert arr.shape == SHAPE and arr.dtype == np.float32
    assert np.isfinite(arr).all() and arr.min() >= 0.0 and arr.max() <= 1.0


@FUZZ
@given(
    dtype=st.sampled_from(NPY_DTYPES),
    shape=st.sampled_from([(), (5,), (60, 80), (1, 1), (0, 4), (3, 4, 2), (2, 2, 2, 2), (1, 10000)]),
    nan=st.booleans(),
    pixels=st.sampled_from(MAPPINGS),
    seed=st.integers(0, 2**16),
)
def test_npy_frames_of_every_dtype_and_shape(dtype, shape, nan, pixels, seed):
    values = np.random.default_rng(seed).normal(30000, 500, shape)
    if nan and values.size:
        values.flat[0] = np.nan
    with np.errstate(invalid="ignore", over="ignore"):
        array = values.astype(dtype) if dtype not in ("object", "<U3", "i4,f4") else np.zeros(shape, dtype)
    _check_npy(_npy(array), pixels)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((4, 4, 3), np.float32), "must be a 2-D array"),
        (np.zeros(7, np.float32), "must be a 2-D array"),
        (np.full((4, 4), np.nan, np.float32), "16 values that are NaN or infinite"),
        (np.array([[1.0, np.inf]]), "1 values that are NaN or infinite"),
        (np.zeros((4, 4), bool), "holds bool values"),
        (np.zeros((4, 4), np.complex64), "holds complex64 values"),
        (np.zeros((4, 4), object), "holds object values"),
    ],
    ids=["3-D", "1-D", "all-NaN", "infinity", "bool", "complex", "object"],
)
def test_bad_npy_frames_are_refused_with_one_sentence(array, message):
    with pytest.raises(SiameseError, match=message):
        decode_image(_npy(array), SHAPE)


def _npy_header_only(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    """A .npy file whose header declares ``shape`` but which holds 16 bytes of data."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape}, }}".encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 16


@pytest.mark.parametrize("shape", [(100_000, 100_000), (2**40, 2**40), (MAX_IMAGE_PIXELS // 1000 + 1, 1000)], ids=["ten-gigavalues", "absurd", "just-over"])
def test_huge_npy_headers_are_refused_before_reading(shape):
    with pytest.raises(SiameseError, match="more than the limit"):
        decode_image(_npy_header_only(shape), SHAPE)


def test_a_truncated_npy_says_so():
    with pytest.raises(SiameseError, match="truncated"):
        decode_image(_npy_header_only((60, 80)), SHAPE)


@FUZZ
@given(cut=st.floats(0.0, 1.0), flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=8), pixels=st.sampled_from(MAPPINGS))
def test_truncated_and_corrupted_npy(cut, flips, pixels):
    data = _npy(np.random.default_rng(0).normal(30, 2, (30, 40)).astype(np.float32))
    corrupted = bytearray(data[: max(1, int(len(data) * cut))])
    for where, value in flips:
        corrupted[min(int(where * len(corrupted)), len(corrupted) - 1)] = value
    _check_npy(bytes(corrupted), pixels)
