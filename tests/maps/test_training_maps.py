"""Placing new images on a run's map."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

import siamese
from siamese.maps.training_maps import data_root, place_embeddings, place_enrolled, place_on_map


def test_place_on_map_is_the_weighted_mean_of_nearest_points():
    train = np.array([[0.0], [1.0], [10.0]])
    xy = np.array([[0.0, 0.0], [4.0, 0.0], [100.0, 100.0]])
    # distances 0.25 and 0.75 to the two nearest: weights 4 and 4/3 -> x = (0*4 + 4*4/3) / (16/3) = 1
    np.testing.assert_allclose(place_on_map(np.array([0.25]), train, xy, k=2), [1.0, 0.0])


def test_a_point_on_a_training_point_lands_on_its_place():
    train = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    xy = np.array([[1.0, 1.0], [5.0, 5.0], [9.0, 9.0]])
    # distance sqrt(1e-7) to the second point outweighs the others by a factor over 10,000
    np.testing.assert_allclose(place_on_map(train[1], train, xy, k=3), [5.0, 5.0], atol=1e-3)


def test_place_embeddings_places_each_point_like_place_on_map():
    train = np.array([[0.0], [1.0], [10.0]])
    xy = np.array([[0.0, 0.0], [4.0, 0.0], [100.0, 100.0]])
    np.testing.assert_allclose(place_embeddings(np.array([[0.25], [1.0]]), train, xy, k=2), [[1.0, 0.0], [4.0, 0.0]], atol=1e-2)
    assert place_embeddings(np.zeros((0, 1)), train, xy).shape == (0, 2)


def test_without_enrolled_people_nothing_is_placed(tiny_run: Path):
    run = siamese.load_run(tiny_run)
    placed = place_enrolled(run, run.training_map())
    assert list(placed.columns) == ["file", "class", "x", "y"] and len(placed) == 0


def test_enrolled_images_land_where_the_same_training_images_lie(tiny_run: Path, tmp_path: Path):
    # Enroll two of a trained class's own training images under a new name: each embeds as its
    # training twin, so it is placed as that twin's stored embedding is, in the gallery's order.
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run, run_dir)
    run = siamese.load_run(run_dir)
    table = run.training_map()
    root = data_root(run)
    first, second = table[table["class"] == run.class_names[0]].iloc[:2], table[table["class"] == run.class_names[1]].iloc[:1]
    siamese.enroll(run, "Twin", [root / f for f in first["file"]])
    siamese.enroll(run, "Other", [root / f for f in second["file"]])
    placed = place_enrolled(run, table)
    assert list(placed["class"]) == ["Twin", "Twin", "Other"]
    assert [Path(f).relative_to(run_dir).as_posix() for f in placed["file"]] == ["gallery/Twin/001.png", "gallery/Twin/002.png", "gallery/Other/001.png"]
    xy = table[["x", "y"]].to_numpy()
    twins = run.training_embeddings()[[*first.index, *second.index]]
    np.testing.assert_allclose(placed[["x", "y"]].to_numpy(), place_embeddings(twins, run.training_embeddings(), xy), atol=1e-3 * np.ptp(xy))
    nearest = [np.argmin(np.hypot(*(xy - place).T)) for place in placed[["x", "y"]].to_numpy()]
    assert table["class"].iloc[nearest].tolist() == [run.class_names[0], run.class_names[0], run.class_names[1]]
