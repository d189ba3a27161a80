"""The synthetic thermal face data set (sample-data): the demo data set (no real faces ship)."""

from __future__ import annotations

from numbers import Integral, Real
from pathlib import Path

import numpy as np
from PIL import Image

from siamese.data.palettes import palette_table
from siamese.data.thermal_pixels import from_celsius
from siamese.errors import SiameseError
from siamese.sample.faces import make_identity, make_near_twin
from siamese.sample.rendering import FloatArray, ImageArray, render_thermal

# How sample-data writes each image: the camera's 8-bit automatic-gain PNG (the default
# and the committed set), a 16-bit PNG of hundredths of a kelvin, a float32 .npy of
# degrees Celsius, or the automatic-gain image coloured with the ironbow palette.
FORMATS = ("agc-png", "centikelvin-png", "celsius-npy", "ironbow-png")


def _check_count(name: str, value: int, minimum: int) -> None:
    """Raises SiameseError unless ``value`` is an integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise SiameseError(f"{name} must be an integer of at least {minimum}, got {value!r}.")


def _save_png(image: ImageArray, path: Path) -> None:
    """Saves a grayscale image as an RGB PNG, refusing to replace an existing file."""
    rgb = np.repeat(image[:, :, np.newaxis], 3, axis=2) if image.ndim == 2 else image
    # "xb" fails if the file exists: the generator never overwrites anything.
    with path.open("xb") as handle:
        Image.fromarray(rgb).save(handle, format="PNG", compress_level=9)


def _save(celsius: FloatArray, gray: ImageArray, path: Path, fmt: str) -> None:
    """Saves one image in ``fmt`` (see ``FORMATS``) at ``path`` plus the format's suffix."""
    if fmt == "agc-png":
        _save_png(gray, path.with_suffix(".png"))
    elif fmt == "ironbow-png":
        _save_png(palette_table("ironbow")[gray], path.with_suffix(".png"))
    elif fmt == "centikelvin-png":
        values = np.clip(np.rint(from_celsius(celsius, "centikelvin")), 0, 65535).astype(np.uint16)
        with path.with_suffix(".png").open("xb") as handle:
            Image.fromarray(values).save(handle, format="PNG", compress_level=9)
    else:
        with path.with_suffix(".npy").open("xb") as handle:
            np.save(handle, celsius.astype(np.float32))


def write_sample_dataset(
    out: str | Path,
    identities: int = 16,
    per_identity: int = 30,
    unknown_identities: int = 6,
    unknown_per_identity: int = 10,
    test_fraction: float = 0.2,
    seed: int = 0,
    near_twins: int = 0,
    fmt: str = "agc-png",
    hot_objects: float = 0.0,
) -> dict[str, int]:
    """Writes a synthetic thermal face data set, ready to train and evaluate on.

    Layout: ``out/train/person_01/person_01_001.png`` ..., ``out/test/person_01/...``
    (the same people; the last ``round(per_identity * test_fraction)`` images of each
    go to test), ``out/unknown/stranger_01/...`` (people in neither train nor test) and
    ``out/unknown/twin_01/...`` (near twins: strangers made by :func:`make_near_twin`
    from a known person, twin 1 from person 1 and so on, starting over at person 1
    when there are more twins than people); ``unknown/`` is left out when there are
    neither. Images are 60x80 RGB PNGs with equal channels (``fmt="agc-png"``; see
    ``FORMATS`` for the radiometric and colour-mapped ones). The same arguments always
    give byte-identical files, and a person does not change when the counts do: adding
    twins leaves every other file as it was.

    Args:
        out: Folder to create; it must not exist or be empty.
        identities: Number of known people (at least 2).
        per_identity: Images per known person, split between train and test.
        unknown_identities: Number of people for the unknown set (0 for none).
        unknown_per_identity: Images per unknown person.
        test_fraction: Share of each known person's images that goes to test.
        seed: Seed of everything random (a non-negative integer).
        near_twins: Number of near twins for the unknown set (0 for none), each with
            ``unknown_per_identity`` images.
        fmt: How each image is written, one of ``FORMATS``; every format shows the same
            faces (the same scene, in degrees or through the camera's automatic gain).
        hot_objects: Share of the test and unknown images (0 to 1) that also show a cup
            of tea at 60 degrees in a bottom corner; which ones is drawn from ``seed``,
            and training images never have one.

    Returns:
        Image counts ``train``, ``test`` and ``unknown`` (strangers' and twins'
        images), and the number of ``identities``, ``unknown_identities`` and
        ``near_twins``.

    Raises:
        SiameseError: If an argument is out of range, or ``out`` exists and is not an
            empty folder.
    """
    _check_count("identities", identities, 2)
    _check_count("per_identity", per_identity, 2)
    _check_count("unknown_identities", unknown_identities, 0)
    _check_count("unknown_per_identity", unknown_per_identity, 1)
    _check_count("seed", seed, 0)
    _check_count("near_twins", near_twins, 0)
    if fmt not in FORMATS:
        raise SiameseError(f"format {fmt!r} is not known; use one of {', '.join(FORMATS)}.")
    if isinstance(hot_objects, bool) or not isinstance(hot_objects, Real) or not 0.0 <= hot_objects <= 1.0:
        raise SiameseError(f"hot_objects must be a share between 0 and 1, got {hot_objects!r}.")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, Real) or not 0.0 < test_fraction < 1.0:
        raise SiameseError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction!r}.")
    n_test = round(per_identity * test_fraction)
    n_train = per_identity - n_test
    if n_test < 1 or n_train < 2:
        raise SiameseError(
            f"per_identity={per_identity} with test_fraction={test_fraction} gives "
            f"{n_train} train and {n_test} test images per person; it needs at least 2 "
            "and 1, so raise per_identity or change test_fraction."
        )

    out = Path(out)
    if out.exists() and not (out.is_dir() and not any(out.iterdir())):
        raise SiameseError(
            f"{out} already exists and is not an empty folder; choose a new output folder (sample data never overwrites anything)."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SiameseError(f"cannot create the folder {out} ({error.strerror}); choose another.") from error

    # Each person has a random stream of their own, keyed by (seed, group, index), so
    # person_03 is the same person whatever the number of people or images asked for.
    # A twin's stream (group 2) draws only the twin's differences and images; its
    # source is made again from the source's own stream, which stays untouched.
    groups = [("person", identities, 0, ["train"] * n_train + ["test"] * n_test)]
    if unknown_identities:
        groups.append(("stranger", unknown_identities, 1, ["unknown"] * unknown_per_identity))
    if near_twins:
        groups.append(("twin", near_twins, 2, ["unknown"] * unknown_per_identity))
    counts = {"train": 0, "test": 0, "unknown": 0}
    for prefix, count, group, splits in groups:
        name_digits = max(2, len(str(count)))
        image_digits = max(3, len(str(len(splits))))
        for index in range(1, count + 1):
            rng = np.random.default_rng([seed, group, index])
            if prefix == "twin":
                source = make_identity(np.random.default_rng([seed, 0, (index - 1) % identities + 1]))
                identity = make_near_twin(source, rng)
            else:
                identity = make_identity(rng)
            name = f"{prefix}_{index:0{name_digits}d}"
            for number, split in enumerate(splits, start=1):
                folder = out / split / name
                folder.mkdir(parents=True, exist_ok=True)
                # The cup's own stream (group 3) leaves the person's draws, so the face, unchanged.
                cup = np.random.default_rng([seed, 3, group, index, number])
                hot = cup if split != "train" and hot_objects > 0 and cup.random() < hot_objects else None
                celsius, gray = render_thermal(identity, rng, hot_object=hot)
                _save(celsius, gray, folder / f"{name}_{number:0{image_digits}d}", fmt)
                counts[split] += 1
    return {
        **counts,
        "identities": identities,
        "unknown_identities": unknown_identities,
        "near_twins": near_twins,
    }
