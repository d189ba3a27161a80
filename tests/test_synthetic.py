"""Tests for the synthetic thermal face generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from siamese.errors import SiameseError
from siamese.synthetic import (
    FaceIdentity,
    make_identity,
    render_face,
    write_sample_dataset,
)

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
    ],
)
def test_rejects_bad_arguments_before_writing(tmp_path: Path, arguments: dict[str, object], message: str) -> None:
    out = tmp_path / "data"

    with pytest.raises(SiameseError, match=message):
        write_sample_dataset(out, **arguments)

    assert not out.exists()


def test_render_face_returns_gray_image_of_the_requested_size() -> None:
    rng = np.random.default_rng(0)
    identity = make_identity(rng)

    default = render_face(identity, rng)
    small = render_face(identity, rng, size=(30, 40))

    assert isinstance(identity, FaceIdentity)
    assert (default.shape, default.dtype) == ((60, 80), np.uint8)
    assert small.shape == (30, 40)
    # A warm face on a cooler room uses much of the gray range.
    assert int(default.max()) - int(default.min()) > 100


@pytest.mark.parametrize("size", [(8, 80), (60,), (60.0, 80)], ids=["too-small", "one-number", "float"])
def test_render_face_rejects_bad_size(size: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)

    with pytest.raises(SiameseError, match="size must be two integers"):
        render_face(make_identity(rng), rng, size=size)


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
