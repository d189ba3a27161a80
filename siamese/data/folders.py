"""Reading folder-per-class image datasets with Pillow, read-only, and the check that keeps
every output out of them."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from siamese.data.image_files import FORMATS_WORDS, open_image
from siamese.data.paths import inside
from siamese.data.thermal_pixels import PixelMapping, PixelMismatch, image_values, is_npy, read_npy, stretch
from siamese.errors import SET, Remedy, SiameseError
from siamese.limits import DECODE_BATCH, MAX_FILE_PIXELS, MAX_FILE_SIDE, check_file_pixels, check_input_shape

log = logging.getLogger("siamese")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".npy")  # .npy: 2-D thermal frames (siamese.data.thermal_pixels)
# siamese.limits.MAX_FILE_PIXELS, also given to Pillow so a decompression bomb is
# refused from its header, before any pixel is decoded.
MAX_IMAGE_PIXELS = MAX_FILE_PIXELS
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

Shape = tuple[int, int, int]


@dataclass(frozen=True)
class Skipped:
    """A file or folder that was left out of a dataset, and why."""

    path: str
    reason: str


@dataclass
class Listing:
    """The files of a folder-per-class dataset, found without decoding any image.

    Attributes:
        root: the dataset folder.
        paths: image files, sorted by class then file name.
        labels: class index of each file, into ``class_names``.
        class_names: class folder names, sorted.
        skipped: hidden files, files that are not images, empty class folders.
    """

    root: Path
    paths: list[Path]
    labels: np.ndarray
    class_names: list[str]
    skipped: list[Skipped] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Number of images per class."""
        return {name: int(np.sum(self.labels == i)) for i, name in enumerate(self.class_names)}


@dataclass
class Dataset:
    """Decoded images of a folder-per-class dataset.

    Attributes:
        images: float32 array (N, H, W, C) with values in [0, 1].
        labels: int array (N,), class index into ``class_names``.
        class_names: class folder names in sorted order.
        paths: the file of each image.
        skipped: everything that was left out, with the reason.
        root: the dataset folder.
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    paths: list[Path]
    skipped: list[Skipped]
    root: Path

    @property
    def input_shape(self) -> Shape:
        return tuple(int(s) for s in self.images.shape[1:])  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self.paths)


def parse_shape(text: str) -> Shape:
    """Parse ``"H,W,C"`` (or ``"HxWxC"``) into a shape, checking each value."""
    parts = text.replace("x", ",").split(",")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) != 3 or not (shape[0] >= 8 and shape[1] >= 8 and shape[2] in (1, 3)):
        raise SiameseError(
            f"input shape {text!r} is not valid: give height,width,channels such as 60,80,3 "
            "(height and width at least 8, channels 1 or 3)"
        )
    return check_input_shape(shape, f"input shape {text!r}", "give a smaller one such as 60,80,3 (every image is resized to it)")


HIDDEN_FILE = "hidden file"  # the reason a hidden file is skipped


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name.startswith("._") or name in ("Thumbs.db", "desktop.ini")


NOT_REGULAR = "not a regular file (a FIFO, socket or device); it was not opened"


def _is_regular(path: Path) -> bool:
    """Whether ``path`` (links followed) is a regular file: a FIFO or device is never opened (reading one can hang)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _listed(folder: Path, what: str) -> list[Path]:
    """The sorted entries of ``folder``; one sentence when it cannot be read (no permission)."""
    try:
        return sorted(folder.iterdir())
    except OSError as exc:
        raise SiameseError(f"{what} {folder} cannot be read ({exc.strerror or exc.__class__.__name__}); give this user permission "
                           "to read it, or copy the dataset without it") from None


def scan_folder(path: str | os.PathLike[str], class_names: Sequence[str] | None = None) -> Listing:
    """List the images of a folder-per-class dataset without decoding them.

    Args:
        path: a folder holding one sub-folder per class.
        class_names: if given, the class order to use (a run's classes); every class
            folder found must be one of them.

    Raises:
        SiameseError: the folder does not exist, holds no class folders with images,
            or holds a class that ``class_names`` does not know.
    """
    root = Path(path)
    if not root.is_dir():
        raise SiameseError(f"dataset folder {root} does not exist or is not a folder; give a folder with one sub-folder of images per class")
    skipped: list[Skipped] = []
    found: dict[str, list[Path]] = {}
    for entry in _listed(root, "dataset folder"):
        if _is_hidden(entry.name):
            skipped.append(Skipped(str(entry), HIDDEN_FILE))
            continue
        if not entry.is_dir():
            skipped.append(Skipped(str(entry), "not inside a class folder"))
            continue
        files = []
        for f in _listed(entry, "class folder"):
            if _is_hidden(f.name):
                skipped.append(Skipped(str(f), HIDDEN_FILE))
            elif f.is_dir():
                skipped.append(Skipped(str(f), "nested folder (one folder level per class is read)"))
            elif not _is_regular(f):
                skipped.append(Skipped(str(f), NOT_REGULAR))
            elif f.suffix.lower() not in IMAGE_SUFFIXES:
                skipped.append(Skipped(str(f), f"not an image file (expected {', '.join(IMAGE_SUFFIXES)})"))
            else:
                files.append(f)
        if files:
            found[entry.name] = files
        else:
            skipped.append(Skipped(str(entry), "empty class folder"))
    if not found:
        raise SiameseError(f"dataset folder {root} holds no class folders with images; put each class's images in a sub-folder named after the class")
    if class_names is None:
        names = sorted(found)
    else:
        names = list(class_names)
        unknown = sorted(set(found) - set(names))
        if unknown:
            raise SiameseError(f"classes {', '.join(unknown)} in {root} were not trained on by this run",
                               Remedy(SET, "unknown", after=" or train a run that includes them"))
    paths: list[Path] = []
    labels: list[int] = []
    for name in sorted(found):
        paths.extend(found[name])
        labels.extend([names.index(name)] * len(found[name]))
    for s in skipped:
        log.warning("skipped %s: %s", s.path, s.reason)
    return Listing(root, paths, np.asarray(labels, dtype=np.int64), names, skipped)


def _to_float(img: Image.Image, where: str = "the image") -> np.ndarray:
    """Pixel values of any Pillow mode as float32 (H, W, C) in [0, 1]."""
    values = image_values(img, where)  # the radiometric readers' one rule: no NaN, infinity or overflow
    if values is not None:
        # 16-bit (and 32-bit) thermal frames carry more than 8 bits of temperature:
        # scale by the frame's own range instead of clipping to 8 bits.
        return stretch(values).astype(np.float32)[..., None]
    if img.mode == "RGBA" or img.mode == "LA" or (img.mode == "P" and "transparency" in img.info):
        # Flatten transparency onto black, the cold background of a thermal frame.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        img = Image.alpha_composite(background, rgba).convert("RGB")
    elif img.mode not in ("L", "RGB"):
        img = img.convert("RGB") if img.mode in ("P", "CMYK", "YCbCr", "LAB", "HSV") else img.convert("L")
    arr = np.asarray(img, dtype=np.float32) / 255.0
    return arr[..., None] if arr.ndim == 2 else arr


def decode_image(
    source: str | os.PathLike[str] | bytes, input_shape: Shape | None = None, pixels: PixelMapping | None = None
) -> np.ndarray:
    """Decode one image file (or its bytes) into float32 (H, W, C) in [0, 1].

    The image is converted to ``input_shape``'s channels (gray <-> RGB) and resized to
    its height and width; without ``input_shape`` it keeps its own size and channels.
    ``pixels`` (a run's ``siamese.data.thermal_pixels.PixelMapping``) says how values become input:
    temperatures through a window, or colours read back through a palette; by default
    8-bit images as they are and wider frames stretched over their own range.

    Raises:
        SiameseError: the file is missing, not an image, truncated, or larger than
            ``MAX_IMAGE_PIXELS`` (refused before decoding); ``PixelMismatch`` when it
            cannot be read the way ``pixels`` says (an 8-bit image given a temperature unit).
    """
    where = "the uploaded file" if isinstance(source, bytes) else str(source)
    if not isinstance(source, bytes) and os.path.exists(source) and not _is_regular(Path(source)):
        raise SiameseError(f"{where} is {NOT_REGULAR}; give an image file")
    pixels = pixels or PixelMapping()
    if is_npy(source):
        arr = pixels.from_values(read_npy(source, where, MAX_IMAGE_PIXELS), where)
        return arr if input_shape is None else fit_to_shape(arr, input_shape)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Pillow's notes on damaged metadata
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_image(source, where) as img:
                w, h = img.size
                check_file_pixels(w, h, where)
                if w < 1 or h < 1:
                    raise SiameseError(f"{where} has no pixels")
                img.load()
                arr = _to_float(img, where) if pixels.is_default else pixels.from_image(img, where)
    except SiameseError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise SiameseError(f"{where} is larger than the limit of {MAX_IMAGE_PIXELS:,} pixels ({MAX_FILE_SIDE}x{MAX_FILE_SIDE}) per image file "
                          "(possible decompression bomb); use a smaller image") from None
    except FileNotFoundError:
        raise SiameseError(f"image {where} does not exist") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise SiameseError(f"{where} cannot be read as an image ({exc.__class__.__name__}: {exc}); use a {FORMATS_WORDS} file") from None
    if input_shape is None:
        return arr
    return fit_to_shape(arr, input_shape)


def fit_to_shape(arr: np.ndarray, input_shape: Shape) -> np.ndarray:
    """Convert (H, W, C) float image to ``input_shape``'s channels and size."""
    height, width, channels = input_shape
    if arr.shape[2] != channels:
        arr = np.repeat(arr, channels, axis=2) if arr.shape[2] == 1 else arr.mean(axis=2, keepdims=True)
    if arr.shape[:2] != (height, width):
        planes = [
            np.asarray(Image.fromarray(arr[..., c]).resize((width, height), Image.Resampling.BILINEAR))
            for c in range(channels)
        ]
        arr = np.stack(planes, axis=2)
    return np.clip(arr, 0.0, 1.0).astype(np.float32, copy=False)


def infer_shape(paths: Sequence[Path], pixels: PixelMapping | None = None) -> Shape:
    """The shape of the first readable image: (H, W, 1) for gray, (H, W, 3) otherwise.

    Read with a temperature unit or palette read-back (``pixels``), an image is one value
    per pixel, replicated to 3 channels: the reference network's input, as for the
    8-bit sample data.

    Raises:
        SiameseError: no file is readable (with the first file's reason), or the first
            readable image is outside the network's limits (``siamese.limits.check_input_shape``).
        PixelMismatch: a file cannot be read the way ``pixels`` says.
    """
    first_reason = None
    for p in paths:
        try:
            arr = decode_image(p, pixels=pixels)
        except PixelMismatch:
            raise
        except SiameseError as exc:
            first_reason = first_reason or str(exc)
            continue
        height, width, channels = arr.shape
        shape = (height, width, 1 if channels == 1 and (pixels is None or pixels.is_default) else 3)
        return check_input_shape(shape, f"the first readable image {p}",
                                 Remedy(SET, "input_shape", "60,80,3", after=" to resize every image to"))
    how = f" ({pixels.describe()})" if pixels is not None and not pixels.is_default else ""
    raise SiameseError(f"none of the {len(paths)} image files could be read{how} (the first: {first_reason}); "
                       "check that the files are PNG, JPEG, BMP, TIFF images or .npy frames")


def iter_batches(
    paths: Sequence[Path], input_shape: Shape, batch_size: int = DECODE_BATCH, pixels: PixelMapping | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray, list[Skipped]]]:
    """Decode images batch by batch so memory stays bounded whatever the dataset size.

    ``pixels``: the run's mapping (``decode_image``). A file that cannot be read that way
    at all (``PixelMismatch``) stops the whole read: it is a setting, not a bad file.

    Yields:
        (images, positions, skipped): images (B, H, W, C) float32, their positions in
        ``paths``, and the files of this batch that could not be decoded.
    """
    for start in range(0, len(paths), batch_size):
        images, positions, skipped = [], [], []
        for i in range(start, min(start + batch_size, len(paths))):
            try:
                images.append(decode_image(paths[i], input_shape, pixels))
                positions.append(i)
            except PixelMismatch:
                raise
            except SiameseError as exc:
                reason = str(exc).removeprefix("image ").removeprefix(f"{paths[i]} ")
                skipped.append(Skipped(str(paths[i]), reason))
                log.warning("skipped %s: %s", paths[i], reason)
        array = np.stack(images) if images else np.zeros((0, *input_shape), np.float32)
        yield array, np.asarray(positions, dtype=np.int64), skipped


def load_folder(
    path: str | os.PathLike[str],
    input_shape: Shape | Sequence[int] | None = None,
    class_names: Sequence[str] | None = None,
    pixels: PixelMapping | None = None,
) -> Dataset:
    """Load a folder-per-class dataset into memory.

    Args:
        path: a folder holding one sub-folder of images per class.
        input_shape: (H, W, C) to convert and resize every image to; by default the
            shape of the first readable image.
        class_names: the class order to use (a run's classes); by default the sorted
            class folder names.
        pixels: how pixels become input (a run's ``Run.pixels``); by default as
            ``decode_image`` reads them without one.

    Returns:
        The decoded dataset; unreadable files are listed in ``skipped`` and left out.
    """
    listing = scan_folder(path, class_names)
    shape = tuple(input_shape) if input_shape is not None else infer_shape(listing.paths, pixels)
    chunks, keep, skipped = [], [], list(listing.skipped)
    for images, positions, bad in iter_batches(listing.paths, shape, pixels=pixels):  # type: ignore[arg-type]
        chunks.append(images)
        keep.extend(positions.tolist())
        skipped.extend(bad)
    if not keep:
        raise SiameseError(f"no image in {listing.root} could be read; check that the files are PNG, JPEG, BMP or TIFF images")
    return Dataset(
        images=np.concatenate(chunks),
        labels=listing.labels[keep],
        class_names=listing.class_names,
        paths=[listing.paths[i] for i in keep],
        skipped=skipped,
        root=listing.root,
    )


def fingerprint(paths: Sequence[Path], root: Path) -> str:
    """SHA-256 over every file's path (relative to ``root``) and bytes, in order; each file is
    read in chunks, so a huge file costs time, never memory."""
    digest = hashlib.sha256()
    for p in paths:
        digest.update(str(Path(p).relative_to(root)).encode())
        with open(p, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def refuse_inside_dataset(folder: str | os.PathLike[str], dataset: str | os.PathLike[str], what: str) -> None:
    """Refuse to write ``folder`` (a run, a split copy) when it is ``dataset`` or lies inside it.

    Every command only ever reads a dataset; this is the one check that keeps its output
    out of it. ``what`` names the folder in the message ("run folder", "output folder").

    Raises:
        SiameseError: ``folder`` is ``dataset`` or one of its sub-folders (links resolved).
    """
    if inside(folder, dataset):
        raise SiameseError(f"{what} {folder} lies inside the dataset {dataset}; choose a folder outside it so the dataset is left unchanged")
