"""A probe's nearest training images (siamese.scoring.neighbours) and `probe --neighbours` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import siamese
from helpers import run_cli
from siamese.scoring.distances import EPSILON
from siamese.scoring.neighbours import TrainingEmbeddings, nearest_rows, nearest_training_images, training_set

# Four training points in the plane and a probe at the origin; distances by hand:
# (3, 4) -> 5, (1, 0) -> 1, (0, 2) -> 2, (0, -2) -> 2 (a tie, kept in row order).
POINTS = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0], [0.0, -2.0]], np.float32)
FILES = ["c/c_1.png", "a/a_1.png", "b/b_1.png", "b/b_2.png"]
CLASSES = ["c", "a", "b", "b"]
TRAINING = TrainingEmbeddings(POINTS, FILES, CLASSES, Path("/data/train"))


@pytest.mark.parametrize("k, rows, distances", [
    (1, [1], [1.0]),
    (3, [1, 2, 3], [1.0, 2.0, 2.0]),
    (10, [1, 2, 3, 0], [1.0, 2.0, 2.0, 5.0]),
], ids=["nearest", "tie-in-row-order", "more-than-there-are"])
def test_nearest_rows_by_hand(k: int, rows: list[int], distances: list[float]):
    found, dist = nearest_rows(np.zeros(2, np.float32), POINTS, k)
    assert found.tolist() == rows
    np.testing.assert_allclose(dist, distances, rtol=1e-6)


def test_a_point_of_the_map_is_not_its_own_neighbour():
    # From (1, 0): itself 0 (left out), (0, 2) and (0, -2) at sqrt(5), (3, 4) at sqrt(20).
    found, dist = nearest_rows(POINTS[1], POINTS, 3, exclude=1)
    assert found.tolist() == [2, 3, 0]
    np.testing.assert_allclose(dist, [np.sqrt(5), np.sqrt(5), np.sqrt(20)], rtol=1e-6)


def test_identical_points_are_at_the_distance_floor():
    found, dist = nearest_rows(POINTS[0], POINTS, 1)
    assert found.tolist() == [0]
    np.testing.assert_allclose(dist, [np.sqrt(EPSILON)], rtol=1e-6)  # sqrt(max(0, eps)), as everywhere


def test_nearest_training_images_name_file_class_and_distance():
    found = nearest_training_images(TRAINING, np.array([0.0, 0.0], np.float32), 2)
    assert [(n.file, n.class_name, n.row) for n in found] == [("a/a_1.png", "a", 1), ("b/b_1.png", "b", 2)]
    assert found[0].path == Path("/data/train/a/a_1.png")
    np.testing.assert_allclose([n.distance for n in found], [1.0, 2.0], rtol=1e-6)
    assert found[1].to_json() == {"file": "b/b_1.png", "class": "b", "distance": pytest.approx(2.0)}


def test_zero_neighbours_is_refused():
    with pytest.raises(siamese.SiameseError, match="use 1 or more"):
        nearest_rows(np.zeros(2, np.float32), POINTS, 0)


def test_training_set_uses_the_stored_embeddings_and_agrees_with_embedding_anew(tiny_run: Path, tmp_path: Path):
    run = siamese.load_run(tiny_run)
    stored = training_set(run)
    table = run.training_map()
    assert stored.files == list(table["file"]) and stored.classes == list(table["class"])
    assert all((stored.root / f).exists() for f in stored.files)
    # A run without representatives embeds its training folder instead (held-out images left out, as represent does).
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("run.json", "history.csv", "model.keras"):
        (bare / name).write_bytes((tiny_run / name).read_bytes())
    info = json.loads((bare / "run.json").read_text())
    info["config"]["train_dir"] = str(run.train_dir)  # the copy lives elsewhere: point it at the same data
    (bare / "run.json").write_text(json.dumps(info))
    fresh = training_set(siamese.load_run(bare))
    assert sorted(fresh.files) == sorted(stored.files)
    order = [fresh.files.index(f) for f in stored.files]
    np.testing.assert_allclose(fresh.embeddings[order], stored.embeddings, atol=1e-5)


def test_cli_probe_neighbours_text_and_json(tiny_run: Path, tiny_data: Path):
    run = siamese.load_run(tiny_run)
    image = sorted((tiny_data / "test").rglob("*.png"))[0]
    expected = nearest_training_images(training_set(run), siamese.probe(run, image).embedding, 3)

    out = json.loads(run_cli("probe", str(tiny_run), str(image), "--json", "--neighbours", "3").stdout)
    assert [(n["file"], n["class"]) for n in out["neighbours"]] == [(n.file, n.class_name) for n in expected]
    np.testing.assert_allclose([n["distance"] for n in out["neighbours"]], [n.distance for n in expected], rtol=1e-5)
    # Without the option the JSON is the contract's, unchanged.
    plain = json.loads(run_cli("probe", str(tiny_run), str(image), "--json").stdout)
    assert "neighbours" not in plain and {k: v for k, v in out.items() if k != "neighbours"} == plain

    text = run_cli("probe", str(tiny_run), str(image), "--neighbours", "2").stdout.splitlines()
    assert len(text) == 3 and text[1].startswith(f"  neighbour 1: {expected[0].class_name} {expected[0].file} at ")


def test_cli_probe_neighbours_zero_is_one_line_and_status_2(tiny_run: Path, tiny_data: Path):
    image = sorted((tiny_data / "test").rglob("*.png"))[0]
    result = run_cli("probe", str(tiny_run), str(image), "--neighbours", "0", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: --neighbours 0 is not valid; use 1 or more"]
