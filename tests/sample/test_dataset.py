"""Tests for writing the synthetic thermal face data set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from siamese.errors import SiameseError
from siamese.sample.dataset import write_sample_dataset
from siamese.sample.faces import make_identity, make_near_twin
from siamese.sample.rendering import render_face

# Small enough to write in well under a second.
SMALL = {
    "identities": 3,
    "per_identity": 5,
    "unknown_identities": 2,
    "unknown_per_identity": 2,
    "test_fraction": 0.4,
}


def _file_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root``, by its path relative to ``root``."""
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _load_split(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Flattened gray pixels (one row per image) and class names of a split."""
    pixels, labels = [], []
    for path in sorted(folder.glob("*/*.png")):
        with Image.open(path) as image:
            pixels.append(np.asarray(image)[:, :, 0].astype(np.float64).ravel())
        labels.append(path.parent.name)
    return np.array(pixels), np.array(labels)


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``a`` and those of ``b``."""
    return ((a[:, np.newaxis, :] - b[np.newaxis, :, :]) ** 2).sum(axis=2)


def _medoid_accuracy(train: Path, test: Path) -> float:
    """Raw-pixel baseline: share of test images whose nearest class medoid is right.

    A class's medoid is its training image with the smallest sum of Euclidean
    distances to the class's other training images.
    """
    train_x, train_y = _load_split(train)
    test_x, test_y = _load_split(test)
    classes = np.unique(train_y)
    medoids = []
    for name in classes:
        members = train_x[train_y == name]
        spread = np.sqrt(_squared_distances(members, members)).sum(axis=1)
        medoids.append(members[spread.argmin()])
    nearest = _squared_distances(test_x, np.array(medoids)).argmin(axis=1)
    return float(np.mean(classes[nearest] == test_y))


def _nearest_neighbour_accuracy(train: Path, test: Path) -> float:
    """Raw-pixel 1-NN over all training images: share of test images it gets right."""
    train_x, train_y = _load_split(train)
    test_x, test_y = _load_split(test)
    nearest = _squared_distances(test_x, train_x).argmin(axis=1)
    return float(np.mean(train_y[nearest] == test_y))


def test_same_seed_writes_identical_bytes(tmp_path: Path) -> None:
    write_sample_dataset(tmp_path / "a", **SMALL, seed=7)
    write_sample_dataset(tmp_path / "b", **SMALL, seed=7)

    assert _file_bytes(tmp_path / "a") == _file_bytes(tmp_path / "b")


def test_other_seed_changes_every_image(tmp_path: Path) -> None:
    write_sample_dataset(tmp_path / "a", **SMALL, seed=7)
    write_sample_dataset(tmp_path / "b", **SMALL, seed=8)
    first, second = _file_bytes(tmp_path / "a"), _file_bytes(tmp_path / "b")

    assert first.keys() == second.keys()
    assert all(first[name] != second[name] for name in first)


def test_writes_layout_counts_and_rgb_gray_images(tmp_path: Path) -> None:
    counts = write_sample_dataset(tmp_path / "data", **SMALL)

    assert counts == {
        "train": 9,
        "test": 6,
        "unknown": 4,
        "identities": 3,
        "unknown_identities": 2,
        "near_twins": 0,
    }
    people = ["person_01", "person_02", "person_03"]
    strangers = ["stranger_01", "stranger_02"]
    expected = (
        {f"train/{p}/{p}_{n:03d}.png" for p in people for n in (1, 2, 3)}
        | {f"test/{p}/{p}_{n:03d}.png" for p in people for n in (4, 5)}
        | {f"unknown/{s}/{s}_{n:03d}.png" for s in strangers for n in (1, 2)}
    )
    assert set(_file_bytes(tmp_path / "data")) == expected
    for path in (tmp_path / "data").rglob("*.png"):
        with Image.open(path) as image:
            assert (image.mode, image.size) == ("RGB", (80, 60))
            pixels = np.asarray(image)
        assert np.array_equal(pixels[:, :, 0], pixels[:, :, 1])
        assert np.array_equal(pixels[:, :, 0], pixels[:, :, 2])


def test_no_unknown_folder_without_unknown_identities(tmp_path: Path) -> None:
    counts = write_sample_dataset(tmp_path / "data", identities=2, per_identity=3, unknown_identities=0)

    assert (counts["unknown"], counts["unknown_identities"]) == (0, 0)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["test", "train"]


def test_person_does_not_change_with_the_counts(tmp_path: Path) -> None:
    write_sample_dataset(tmp_path / "few", identities=2, per_identity=5)
    write_sample_dataset(tmp_path / "many", identities=4, per_identity=10)
    image = "train/person_02/person_02_001.png"

    assert (tmp_path / "few" / image).read_bytes() == (tmp_path / "many" / image).read_bytes()


def test_writes_into_an_existing_empty_folder(tmp_path: Path) -> None:
    counts = write_sample_dataset(tmp_path, identities=2, per_identity=3)

    assert counts["train"] == 4
    assert (tmp_path / "train" / "person_01").is_dir()


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    keep = tmp_path / "notes.txt"
    keep.write_bytes(b"my own data\n")

    with pytest.raises(SiameseError, match="not an empty folder") as raised:
        write_sample_dataset(tmp_path, **SMALL)

    assert str(tmp_path) in str(raised.value)
    assert keep.read_bytes() == b"my own data\n"
    assert list(tmp_path.iterdir()) == [keep]


def test_refuses_an_existing_file_as_out(tmp_path: Path) -> None:
    out = tmp_path / "data"
    out.write_bytes(b"not a folder")

    with pytest.raises(SiameseError, match="not an empty folder"):
        write_sample_dataset(out, **SMALL)

    assert out.read_bytes() == b"not a folder"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"identities": 1}, "identities must be an integer of at least 2, got 1"),
        ({"identities": 2.0}, "identities must be an integer of at least 2, got 2.0"),
        ({"identities": True}, "identities must be an integer of at least 2, got True"),
        ({"per_identity": 1}, "per_identity must be an integer of at least 2, got 1"),
        (
            {"per_identity": 2},
            "per_identity=2 with test_fraction=0.2 gives 2 train and 0 test",
        ),
        (
            {"per_identity": 3, "test_fraction": 0.5},
            "per_identity=3 with test_fraction=0.5 gives 1 train and 2 test",
        ),
        ({"unknown_identities": -1}, "unknown_identities must be .* at least 0"),
        ({"unknown_per_identity": 0}, "unknown_per_identity must be .* at least 1"),
        ({"test_fraction": 0.0}, r"test_fraction must be between 0 and 1 .* got 0.0"),
        ({"test_fraction": 1.0}, r"test_fraction must be between 0 and 1 .* got 1.0"),
        ({"test_fraction": float("nan")}, "test_fraction .* got nan"),
        ({"seed": -1}, "seed must be an integer of at least 0, got -1"),
        ({"near_twins": -1}, r"^near_twins must be an integer of at least 0, got -1\.$"),
        ({"near_twins": 1.5}, r"^near_twins must be an integer of at least 0, got 1\.5\.$"),
        ({"near_twins": True}, r"^near_twins must be an integer of at least 0, got True\.$"),
        ({"near_twins": "2"}, r"^near_twins must be an integer of at least 0, got '2'\.$"),
    ],
    ids=[
        "one-identity",
        "float-identities",
        "bool-identities",
        "one-image-per-identity",
        "no-test-image",
        "one-train-image",
        "negative-unknown-identities",
        "no-image-per-unknown",
        "zero-test-fraction",
        "whole-test-fraction",
        "nan-test-fraction",
        "negative-seed",
        "negative-near-twins",
        "fractional-near-twins",
        "bool-near-twins",
        "text-near-twins",
    ],
)
def test_rejects_bad_arguments_before_writing(tmp_path: Path, arguments: dict[str, object], message: str) -> None:
    out = tmp_path / "data"

    with pytest.raises(SiameseError, match=message):
        write_sample_dataset(out, **arguments)

    assert not out.exists()


def test_raw_pixel_baselines_are_informative_but_imperfect(tmp_path: Path) -> None:
    # Identical people would leave the medoid baseline near chance (1/6); images
    # without variation would make it perfect. 1-NN over every training image beating
    # the single medoid shows the variation is learnable, not noise.
    write_sample_dataset(
        tmp_path,
        identities=6,
        per_identity=12,
        unknown_identities=0,
        test_fraction=0.25,
        seed=0,
    )

    medoid = _medoid_accuracy(tmp_path / "train", tmp_path / "test")
    nearest = _nearest_neighbour_accuracy(tmp_path / "train", tmp_path / "test")

    assert 1 / 3 < medoid < 1.0
    assert nearest > medoid


def _mean_images(folder: Path) -> dict[str, np.ndarray]:
    """Each class folder's mean gray image, by class name."""
    pixels, labels = _load_split(folder)
    return {name: pixels[labels == name].mean(axis=0) for name in np.unique(labels)}


def _rms(a: np.ndarray, b: np.ndarray) -> float:
    """Root-mean-square gray-level difference of two equally shaped arrays."""
    return float(np.sqrt(np.mean((a - b) ** 2)))


def test_near_twins_are_written_beside_the_strangers(tmp_path: Path) -> None:
    # Four twins of three people: twin_04 starts over at person_01.
    counts = write_sample_dataset(tmp_path / "twins", **SMALL, near_twins=4)
    write_sample_dataset(tmp_path / "plain", **SMALL)
    with_twins, plain = _file_bytes(tmp_path / "twins"), _file_bytes(tmp_path / "plain")

    assert counts == {
        "train": 9,
        "test": 6,
        "unknown": 4 + 4 * 2,
        "identities": 3,
        "unknown_identities": 2,
        "near_twins": 4,
    }
    twins = ["twin_01", "twin_02", "twin_03", "twin_04"]
    assert set(with_twins) - set(plain) == {f"unknown/{t}/{t}_{n:03d}.png" for t in twins for n in (1, 2)}
    # The twins' own random stream leaves every known person and stranger as it was.
    assert all(with_twins[name] == data for name, data in plain.items())
    with Image.open(tmp_path / "twins" / "unknown" / "twin_04" / "twin_04_002.png") as image:
        assert (image.mode, image.size) == ("RGB", (80, 60))


def test_zero_near_twins_writes_the_same_files_as_before(tmp_path: Path) -> None:
    write_sample_dataset(tmp_path / "default", **SMALL, seed=5)
    counts = write_sample_dataset(tmp_path / "zero", **SMALL, seed=5, near_twins=0)

    assert counts["near_twins"] == 0
    assert _file_bytes(tmp_path / "zero") == _file_bytes(tmp_path / "default")


def test_near_twins_alone_make_the_unknown_folder(tmp_path: Path) -> None:
    counts = write_sample_dataset(tmp_path, identities=2, per_identity=3, unknown_identities=0, unknown_per_identity=3, near_twins=1)

    assert (counts["unknown"], counts["unknown_identities"], counts["near_twins"]) == (3, 0, 1)
    assert sorted(p.name for p in (tmp_path / "unknown").iterdir()) == ["twin_01"]


def test_written_twin_is_made_from_its_source_person(tmp_path: Path) -> None:
    # twin_05 of 3 people copies person_02: (5 - 1) % 3 + 1.
    write_sample_dataset(tmp_path, **SMALL, seed=4, near_twins=5)
    source = make_identity(np.random.default_rng([4, 0, 2]))
    rng = np.random.default_rng([4, 2, 5])
    twin = make_near_twin(source, rng)

    for number in (1, 2):
        with Image.open(tmp_path / "unknown" / "twin_05" / f"twin_05_{number:03d}.png") as image:
            assert np.array_equal(np.asarray(image)[:, :, 0], render_face(twin, rng))


def test_written_twins_are_nearest_their_source_on_average(tmp_path: Path) -> None:
    # Across different poses and rooms, a class's mean image is noisy, so this only
    # asks for the nearest known mean image and a smaller average distance.
    write_sample_dataset(
        tmp_path,
        identities=4,
        per_identity=10,
        unknown_identities=4,
        unknown_per_identity=10,
        near_twins=6,
    )
    known = _mean_images(tmp_path / "train")
    unknown = _mean_images(tmp_path / "unknown")
    names = sorted(known)

    twin_to_source = []
    for twin in (name for name in unknown if name.startswith("twin_")):
        distances = {person: _rms(unknown[twin], known[person]) for person in names}
        source = names[(int(twin.removeprefix("twin_")) - 1) % len(names)]
        assert min(distances, key=distances.get) == source
        twin_to_source.append(distances[source])
    stranger_to_known = [
        min(_rms(unknown[stranger], known[person]) for person in names) for stranger in unknown if stranger.startswith("stranger_")
    ]
    assert len(twin_to_source) == 6
    assert np.mean(twin_to_source) < np.mean(stranger_to_known)
