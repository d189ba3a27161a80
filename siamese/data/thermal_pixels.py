"""Thermal pixels as temperatures: units, a fixed temperature window, palette read-back, and
``PixelMapping``, the record of how a run turns a file's pixels into network input.

A run chooses its mapping at training time (``train --unit/--window/--palette``), stores it
in run.json's config (``unit``, ``window``, ``palette``) and every later reader (represent,
evaluate, probe, the dashboard, ``Run.embed_files``) decodes files through the same one.
"""

from __future__ import annotations

import io
import os
import tokenize
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from siamese.data.image_files import open_image
from siamese.data.palettes import palette_table
from siamese.errors import SiameseError

UNITS = ("counts", "celsius", "kelvin", "centikelvin")
READBACK_PALETTES = ("ironbow", "inferno", "rainbow", "gray", "auto")
# Pillow modes whose pixels carry more than 8 bits: 16-bit and 32-bit integer, 32-bit float.
WIDE_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")
NPY_MAGIC = b"\x93NUMPY"
# A pixel is off the palette when its nearest palette colour is farther than this (RGB
# Euclidean distance; neighbouring palette entries lie 1-8 apart, JPEG noise a few more);
# an image with more than OFF_PALETTE_SHARE of such pixels is not an export in that palette.
OFF_PALETTE_DISTANCE = 40.0
OFF_PALETTE_SHARE = 0.05
# Temperatures a camera looking at people can report; values far outside mean the unit is wrong.
PLAUSIBLE_CELSIUS = (-80.0, 500.0)
# The largest magnitude a frame's raw value may have: beyond it the value overflows the
# network's float32 input (and a frame's range, max - min, overflows on the way there).
MAX_FRAME_MAGNITUDE = float(np.finfo(np.float32).max)


class PixelMismatch(SiameseError):
    """A file that cannot be read the way the run's mapping says (an 8-bit image given a
    temperature unit, a radiometric frame given a palette): a setting error, not a bad file."""


def to_celsius(values: np.ndarray, unit: str) -> np.ndarray:
    """Degrees Celsius from values in ``unit`` (``celsius``, ``kelvin`` or ``centikelvin``:
    hundredths of a kelvin, the usual 16-bit radiometric encoding), as float64.

    Raises:
        ValueError: ``unit`` is ``counts`` (not a temperature) or unknown.
    """
    values = np.asarray(values, dtype=np.float64)
    if unit == "celsius":
        return values
    if unit == "kelvin":
        return values - 273.15
    if unit == "centikelvin":
        return values / 100.0 - 273.15
    raise ValueError(f"unit {unit!r} is not a temperature unit; use celsius, kelvin or centikelvin")


def from_celsius(celsius: np.ndarray, unit: str) -> np.ndarray:
    """The inverse of ``to_celsius``: values in ``unit`` from degrees Celsius (float64)."""
    celsius = np.asarray(celsius, dtype=np.float64)
    if unit == "celsius":
        return celsius
    if unit == "kelvin":
        return celsius + 273.15
    if unit == "centikelvin":
        return (celsius + 273.15) * 100.0
    raise ValueError(f"unit {unit!r} is not a temperature unit; use celsius, kelvin or centikelvin")


def window(celsius: np.ndarray, low: float, high: float) -> np.ndarray:
    """Map degrees Celsius linearly from [low, high] to [0, 1] and clip: the same for every image."""
    return np.clip((np.asarray(celsius, dtype=np.float64) - low) / (high - low), 0.0, 1.0)


def stretch(values: np.ndarray) -> np.ndarray:
    """Stretch one frame over its own finite minimum and maximum to [0, 1] (non-finite -> 0)."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape)
    lo, hi = float(values[finite].min()), float(values[finite].max())
    return (np.where(finite, values, lo) - lo) / (hi - lo) if hi > lo else np.zeros(values.shape)


def parse_window(text: str) -> tuple[float, float]:
    """Parse ``"LOW:HIGH"`` degrees Celsius, such as ``"28:38"``.

    Raises:
        SiameseError: not two finite numbers with LOW below HIGH.
    """
    try:
        low, high = (float(part) for part in str(text).split(":"))
    except ValueError:
        low = high = float("nan")
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise SiameseError(f"temperature window {text!r} is not valid; give LOW:HIGH in degrees Celsius with LOW below HIGH, such as 28:38")
    return low, high


# Palette read-back ---------------------------------------------------------------------
@lru_cache(maxsize=8)
def _palette_tree(name: str):
    # deferred: scipy (a scikit-learn dependency) is only needed for palette read-back
    from scipy.spatial import cKDTree

    return cKDTree(palette_table(name).astype(np.float64))


def palette_positions(rgb: np.ndarray, name: str) -> tuple[np.ndarray, float]:
    """Read colour-mapped pixels back to their place on a palette.

    Each pixel takes the position i/255 of its nearest colour on the palette's 256-entry
    ramp (a KD-tree over the ramp, queried once per distinct colour).

    Args:
        rgb: uint8 (H, W, 3).
        name: a palette of ``siamese.data.palettes.PALETTE_STOPS``.

    Returns:
        (positions float64 (H, W) in [0, 1], share of pixels off the palette: farther
        than ``OFF_PALETTE_DISTANCE`` from every palette colour).
    """
    rgb = np.asarray(rgb, dtype=np.uint8)
    packed = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    colours, inverse = np.unique(packed.ravel(), return_inverse=True)
    distinct = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1).astype(np.float64)
    distance, index = _palette_tree(name).query(distinct)
    positions = (index / 255.0)[inverse].reshape(packed.shape)
    off = float(np.mean(distance[inverse] > OFF_PALETTE_DISTANCE))
    return positions, off


def detect_palette(images: Sequence[np.ndarray]) -> str:
    """The read-back palette (not ``auto``) that fits uint8 RGB images best: fewest pixels
    off the palette, then the smallest share of images refused."""
    names = [n for n in READBACK_PALETTES if n != "auto"]
    off = np.array([[palette_positions(image, n)[1] for image in images] for n in names])
    refused = (off > OFF_PALETTE_SHARE).mean(axis=1)
    return names[int(np.lexsort((off.mean(axis=1), refused))[0])]


def resolve_palette(palette: str | None, paths: Sequence[Path], sample: int = 16) -> str | None:
    """``auto`` becomes the palette detected on up to ``sample`` files spread over ``paths``;
    other values pass through. Files that are not 8-bit colour images are left out."""
    if palette != "auto":
        return palette
    picked = [paths[i] for i in np.unique(np.linspace(0, len(paths) - 1, min(sample, len(paths))).astype(int))] if paths else []
    images = []
    for path in picked:
        try:
            with open_image(path, str(path)) as img:
                if img.mode not in WIDE_MODES:
                    images.append(np.asarray(img.convert("RGB")))
        except (SiameseError, OSError, ValueError, SyntaxError):
            continue
    if not images:
        raise SiameseError("palette auto found no 8-bit colour image to detect the palette from; choose the palette by name")
    return detect_palette(images)


# .npy files ----------------------------------------------------------------------------
def is_npy(source: str | os.PathLike[str] | bytes) -> bool:
    """True for a .npy file name or bytes that start with NumPy's magic string."""
    if isinstance(source, bytes):
        return source.startswith(NPY_MAGIC)
    return Path(source).suffix.lower() == ".npy"


def read_npy(source: str | os.PathLike[str] | bytes, where: str, max_pixels: int) -> np.ndarray:
    """A 2-D numeric .npy array as float64, checked from its header before any data is read.

    Raises:
        SiameseError: not a .npy file, a newer format version, not 2-D, not a real number
            type, more than ``max_pixels`` values, truncated, or holding NaN or infinity.
    """
    fmt = np.lib.format
    try:
        with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as handle:
            version = fmt.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, fortran, dtype = fmt.read_array_header_2_0(handle)
            else:
                raise SiameseError(f"{where} is a .npy file of format version {version}, which is not read; save it with numpy.save")
            if len(shape) != 2 or min(shape) < 1:
                raise SiameseError(f"{where} holds an array of shape {shape}; a thermal frame must be a 2-D array (height, width)")
            if dtype.kind not in "uif" or dtype.hasobject:
                raise SiameseError(f"{where} holds {dtype} values; a thermal frame must hold integers or floating-point numbers")
            if shape[0] * shape[1] > max_pixels:
                raise SiameseError(f"{where} is {shape[1]}x{shape[0]} values, more than the limit of {max_pixels}; use a smaller frame")
            data = handle.read(shape[0] * shape[1] * dtype.itemsize)
    except FileNotFoundError:
        raise SiameseError(f"image {where} does not exist") from None
    except (ValueError, OSError, SyntaxError, EOFError, tokenize.TokenError) as exc:  # TokenError: a header cut mid-dict
        raise SiameseError(f"{where} cannot be read as a .npy array ({exc.__class__.__name__}: {exc}); save it with numpy.save") from None
    if len(data) < shape[0] * shape[1] * dtype.itemsize:
        raise SiameseError(f"{where} is truncated: its header promises {shape[0]}x{shape[1]} values of {dtype}, the file holds fewer")
    values = np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C").astype(np.float64)
    return check_frame_values(values, where)


def check_frame_values(values: np.ndarray, where: str) -> np.ndarray:
    """The one rule for every radiometric reader (.npy, 16-bit and float images): refuse a frame
    holding NaN or infinity, or values beyond ``MAX_FRAME_MAGNITUDE``; return ``values``.

    Raises:
        SiameseError: one sentence naming the file, what it holds and what to do.
    """
    bad = int(values.size - np.count_nonzero(np.isfinite(values)))
    if bad:
        raise SiameseError(f"{where} holds {bad:,} values that are NaN or infinite; replace them (for example with the frame's median) before reading it")
    peak = float(np.abs(values).max()) if values.size else 0.0
    if peak > MAX_FRAME_MAGNITUDE:
        raise SiameseError(f"{where} holds values as large as {peak:.3g}, beyond {MAX_FRAME_MAGNITUDE:.3g}, which no camera records and "
                           "which overflow the network's 32-bit input; check how the frame was saved")
    return values


def image_values(img: Image.Image, where: str = "the image") -> np.ndarray | None:
    """The raw values of a 16-bit or 32-bit Pillow image as float64 (H, W), checked by
    ``check_frame_values``; None for 8-bit images."""
    if img.mode not in WIDE_MODES:
        return None
    values = np.asarray(img, dtype=np.float64)
    return check_frame_values(values[..., 0] if values.ndim == 3 else values, where)


# The mapping a run records --------------------------------------------------------------
@dataclass(frozen=True)
class PixelMapping:
    """How a file's pixels become network input, recorded in run.json's config.

    Attributes:
        unit: what the values of 16-bit, float and .npy frames are: ``counts`` (no
            temperature: each frame stretched over its own range, the tool's original
            behaviour), ``celsius``, ``kelvin`` or ``centikelvin``.
        window: (low, high) degrees Celsius mapped linearly to [0, 1] and clipped, the
            same for every image; None: each frame stretched over its own range.
        palette: read 8-bit colour images back through this palette (``ironbow``,
            ``inferno``, ``rainbow``, ``gray``) to one scalar channel; None: read colours as they are.
    """

    unit: str = "counts"
    window: tuple[float, float] | None = None
    palette: str | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | Any) -> PixelMapping:
        """The mapping of a TrainConfig or a run.json config dict (old runs: the default)."""
        get = config.get if isinstance(config, Mapping) else lambda name, default=None: getattr(config, name, default)
        window = get("window", None)
        return cls(get("unit", "counts") or "counts", tuple(float(v) for v in window) if window else None, get("palette", None) or None)

    def validate(self) -> None:
        """Raise SiameseError for a unit, window or palette that cannot be combined."""
        if self.unit not in UNITS:
            raise SiameseError(f"unit {self.unit!r} is not known; use {', '.join(UNITS)}")
        if self.palette is not None and self.palette not in READBACK_PALETTES:
            raise SiameseError(f"palette {self.palette!r} is not known; use {', '.join(READBACK_PALETTES)}")
        if self.window is not None and self.unit == "counts":
            raise SiameseError("a temperature window needs the unit of the images' values (celsius, kelvin or centikelvin); counts are not temperatures")
        if self.window is not None and not (len(self.window) == 2 and self.window[0] < self.window[1]):
            raise SiameseError(f"temperature window {self.window!r} is not valid; give LOW:HIGH in degrees Celsius with LOW below HIGH, such as 28:38")
        if self.palette is not None and self.unit != "counts":
            raise SiameseError("palette read-back is for 8-bit colour exports and a temperature unit for radiometric frames; choose one of them")

    @property
    def is_default(self) -> bool:
        """True for the original behaviour: counts, no window, no palette read-back."""
        return self.unit == "counts" and self.window is None and self.palette is None

    @property
    def radiometric(self) -> bool:
        """True when the values are temperatures (a unit other than counts)."""
        return self.unit != "counts"

    def describe(self) -> str:
        """A short phrase for pages and messages, such as ``centikelvin, window 28-38 °C``."""
        if self.palette:
            return f"read back through the {self.palette} palette"
        if not self.radiometric:
            return "pixel values, each frame stretched over its own range"
        span = f"window {self.window[0]:g}-{self.window[1]:g} °C" if self.window else "each frame stretched over its own range"
        return f"temperatures in {self.unit}, {span}"

    def celsius(self, values: np.ndarray, where: str) -> np.ndarray:
        """Degrees Celsius of raw frame values, checked to be a plausible scene."""
        celsius = to_celsius(values, self.unit)
        median = float(np.median(celsius))
        if not PLAUSIBLE_CELSIUS[0] <= median <= PLAUSIBLE_CELSIUS[1]:
            raise PixelMismatch(f"{where} read as {self.unit} gives a median of {median:.0f} °C, not a scene a camera sees; check the unit its values are in")
        return celsius

    def from_values(self, values: np.ndarray, where: str) -> np.ndarray:
        """Network input (H, W, 1) float32 in [0, 1] from a radiometric frame's raw values."""
        if self.palette:
            raise PixelMismatch(f"{where} is a radiometric frame (16-bit, float or .npy values), not a colour export; read it with a temperature unit instead of palette read-back")
        if not self.radiometric:
            scaled = stretch(values)
        else:
            celsius = self.celsius(values, where)
            scaled = window(celsius, *self.window) if self.window else stretch(celsius)
        return scaled.astype(np.float32)[..., None]

    def from_image(self, img: Image.Image, where: str) -> np.ndarray:
        """Network input (H, W, 1) float32 in [0, 1] from a decoded Pillow image.

        Raises:
            PixelMismatch: a temperature unit and an 8-bit image, or palette read-back and
                a 16-bit frame.
            SiameseError: a palette read-back image with many pixels off the palette.
        """
        values = image_values(img, where)
        if values is not None:
            return self.from_values(values, where)
        if self.radiometric:
            raise PixelMismatch(
                f"{where} is an 8-bit image (mode {img.mode}), which cannot hold temperatures in {self.unit}; "
                "use 16-bit PNG or TIFF, 32-bit float TIFF or .npy frames, or read it without a temperature unit"
            )
        positions, off = palette_positions(np.asarray(img.convert("RGB")), self.palette)
        if off > OFF_PALETTE_SHARE:
            raise SiameseError(
                f"{where} has {off:.0%} of its pixels far from the {self.palette} palette, so it is not an export in that palette "
                "and is not read; choose the palette it was exported with"
            )
        return positions.astype(np.float32)[..., None]


def frame_values(source: str | os.PathLike[str] | bytes, max_pixels: int) -> np.ndarray | None:
    """A file's raw values (H, W) float64 when it is a 16-bit, float or .npy frame; None for 8-bit images.

    Raises:
        SiameseError: the file cannot be read, or is larger than ``max_pixels``.
    """
    where = "the uploaded file" if isinstance(source, bytes) else str(source)
    if is_npy(source):
        return read_npy(source, where, max_pixels)
    try:
        with open_image(source, where) as img:
            if img.size[0] * img.size[1] > max_pixels:
                raise SiameseError(f"{where} is larger than the limit of {max_pixels} pixels")
            img.load()
            return image_values(img, where)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise SiameseError(f"{where} cannot be read as an image ({exc.__class__.__name__})") from None


def celsius_of_file(source: str | os.PathLike[str] | bytes, unit: str, max_pixels: int) -> np.ndarray:
    """A radiometric file's temperatures in degrees Celsius (H, W) float64, for display.

    Raises:
        SiameseError: the file is not a 16-bit, float or .npy frame, or cannot be read;
            ``PixelMismatch`` when it is 8-bit or its values are no scene in ``unit``.
    """
    where = "the uploaded file" if isinstance(source, bytes) else str(source)
    values = frame_values(source, max_pixels)
    if values is None:
        raise PixelMismatch(f"{where} is an 8-bit image, which cannot hold temperatures")
    return PixelMapping(unit).celsius(values, where)
