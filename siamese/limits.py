"""Resource limits, checked before anything is allocated: the network's input size, the pixels
of one decoded file, the images of one batch, and the run files read back from disk.

Each limit is named once here; every refusal names the limit and says what to do, so a
hostile or careless input (a 10000x1 dataset, ``--input-shape 4000,4000,1``, a run.json
asking for 100000x100000 images, a small PNG that decodes to 40 megapixels) is stopped
by one sentence instead of by the kernel's out-of-memory killer.
"""

from __future__ import annotations

from collections.abc import Sequence

from siamese.errors import Remedy, SiameseError, refusal

# The network's input: 512x512 pixels of 4 channels. The reference network takes 60x80x3
# (14,400 values); at this limit its Flatten->Dense layer already holds about 2 GB of
# float32 weights, so anything above cannot train on a workstation.
MAX_INPUT_SIDE = 512
MAX_INPUT_VALUES = MAX_INPUT_SIDE * MAX_INPUT_SIDE * 4
MIN_SIDE = 8  # the smallest height and width the network's layers accept
CHANNELS = (1, 3)

# One image file, decoded: 4096x4096 pixels. Thermal cameras give at most about
# 1280x1024; a 16-bit frame of this size decodes to 134 MB of float64 on the way to
# float32. Checked from the file's header, before a pixel is decoded.
MAX_FILE_SIDE = 4096
MAX_FILE_PIXELS = MAX_FILE_SIDE * MAX_FILE_SIDE

# Decoded images held at once for one forward pass (float32): the batch is shrunk to fit.
MAX_BATCH_BYTES = 256 * 1024 * 1024
# The batch sizes, in this one place: images per forward pass when embedding (shrunk by
# batch_size_for to MAX_BATCH_BYTES), and images decoded at once when nothing else asks.
# Throughput on CPU rises up to about 1024 images per pass and flattens after
# (bench/README.md); a batch of 60x80x3 float32 images is then 59 MB.
EMBED_BATCH = 1024
DECODE_BATCH = 256

# Run files read back: representatives.npz (embeddings of the representatives) and the
# JSON files; anything larger is not something this tool wrote.
MAX_ARRAY_FILE_BYTES = 512 * 1024 * 1024
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_JSON_DEPTH = 32

# A run's model.keras: the reference network (60x80x3) holds 171,171 weights, its 512x512x3
# variant 47 million; a file or an architecture above these limits (raised to what this tool's
# network for the run's input shape needs, siamese.model.model_file.limits_for) is not something
# this tool saved. The parameter count is read from the file's config.json (at most
# MAX_MODEL_CONFIG_BYTES) before a single weight is allocated.
MAX_MODEL_BYTES = 512 * 1024 * 1024
MAX_MODEL_CONFIG_BYTES = 4 * 1024 * 1024
MAX_MODEL_PARAMS = 50_000_000

# The dashboard: thumbnails are made this small before they are cached, and the cache of
# coloured thumbnails holds at most this many bytes.
THUMBNAIL_SIDE = 256
COLOUR_CACHE_BYTES = 96 * 1024 * 1024
COLOUR_CACHE_ENTRIES = COLOUR_CACHE_BYTES // (THUMBNAIL_SIDE * THUMBNAIL_SIDE * 3)


def check_input_shape(shape: Sequence[int], where: str, what_to_do: str | Remedy) -> tuple[int, int, int]:
    """Refuse a network input shape that is too small, too large or not (H, W, 1 or 3).

    Args:
        shape: (height, width, channels).
        where: where the shape came from, e.g. ``"--input-shape"`` or ``"the images in data/"``.
        what_to_do: the end of the sentence, e.g. ``"give a smaller one"``, or a ``Remedy``.

    Raises:
        SiameseError: naming the limit that was broken.
    """
    height, width, channels = (int(v) for v in shape)
    if height < MIN_SIDE or width < MIN_SIDE:
        _refuse(f"{where} gives images of {height}x{width} pixels, smaller than the network's minimum of {MIN_SIDE}x{MIN_SIDE}", what_to_do)
    if channels not in CHANNELS:
        _refuse(f"{where} gives {channels} channels, but the network takes 1 (gray) or 3 (colour)", what_to_do)
    if height * width * channels > MAX_INPUT_VALUES:
        _refuse(f"{where} gives images of {height}x{width}x{channels} = {height * width * channels:,} values, more than the "
                f"network's input limit of {MAX_INPUT_VALUES:,} ({MAX_INPUT_SIDE}x{MAX_INPUT_SIDE}x4)", what_to_do)
    return height, width, channels


def _refuse(problem: str, what_to_do: str | Remedy):
    raise refusal(problem, what_to_do)


MAX_SEED = 2**32 - 1  # NumPy's and TensorFlow's seeds are unsigned 32-bit numbers


def check_seed(seed: object) -> int:
    """Refuse a seed that is not a whole number from 0 to ``MAX_SEED``.

    Raises:
        SiameseError: naming the seed and the range.
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise SiameseError(f"seed {seed!r} is not valid; use a whole number from 0 to {MAX_SEED:,} such as 0")
    return seed


def check_file_pixels(width: int, height: int, where: str) -> None:
    """Refuse an image file whose header promises more than ``MAX_FILE_PIXELS`` pixels (before decoding).

    Raises:
        SiameseError: naming the file, its size and the limit.
    """
    if width * height > MAX_FILE_PIXELS:
        raise SiameseError(f"{where} is {width}x{height} pixels, more than the limit of {MAX_FILE_PIXELS:,} pixels "
                           f"({MAX_FILE_SIDE}x{MAX_FILE_SIDE}) per image file; use a smaller image (thermal frames are far smaller)")


def batch_size_for(input_shape: Sequence[int], wanted: int) -> int:
    """The largest batch of at most ``wanted`` images of ``input_shape`` (float32) within ``MAX_BATCH_BYTES``."""
    values = 1
    for v in input_shape:
        values *= int(v)
    return max(1, min(int(wanted), MAX_BATCH_BYTES // (4 * max(values, 1))))
