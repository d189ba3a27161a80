"""Choosing what a view of a run's results shows: which images stand for which classes,
where a probe lies on the map, and how an evaluation's distances and cells are grouped.

Pure choices over the package's objects, with no drawing: the dashboard's pages call
these and draw what they return.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from siamese.maps.training_maps import image_path, place_on_map

if TYPE_CHECKING:  # for annotations only
    from siamese.data.folders import Listing
    from siamese.runs.store import Run
    from siamese.scoring.evaluation import Evaluation


def _representative_items(run: Run) -> dict[str, dict[str, Any]]:
    """The recorded representative of each class (the last one where a class has several)."""
    return {item["class"]: item for item in run.representatives()["items"]}


def _item_image(run: Run, item: dict[str, Any] | None) -> Path | None:
    if item is None:
        return None
    copy = run.path / item["copy"] if item.get("copy") else None
    return copy if copy is not None and copy.exists() else image_path(run, item["file"])


def representative_image(run: Run, class_name: str) -> Path | None:
    """The image that shows a class: the copy of its representative kept in the run folder,
    else the original training image; None when the class has no representative."""
    return _item_image(run, _representative_items(run).get(class_name))


def nearest_representatives(run: Run, distances: Mapping[str, float], count: int) -> list[tuple[str, float, Path | None]]:
    """The ``count`` classes nearest a probe, nearest first: (class, distance, its representative image or None).

    Args:
        run: the run with recorded representatives.
        distances: the probe's distance to each class (``ProbeResult.distances``).
        count: how many classes.
    """
    items = _representative_items(run)
    enrolled = {person.name: run.path / person.copies[0] for person in run.enrolled().people}  # their first reference image
    nearest = sorted(distances.items(), key=lambda kv: kv[1])[:count]
    return [(name, float(distance), enrolled.get(name) or _item_image(run, items.get(name))) for name, distance in nearest]


def place_probe(run: Run, embedding: np.ndarray, table: pd.DataFrame) -> tuple[float, float]:
    """A probe's approximate place (x, y) on a training map ``table`` of the run (``siamese.maps.training_maps.place_on_map``)."""
    xy = place_on_map(embedding, run.training_embeddings(), table[["x", "y"]].to_numpy())
    return float(xy[0]), float(xy[1])


def medoid_pairs(run: Run) -> list[tuple[str, Path, Path]]:
    """Each class, in class order, with its t-SNE medoid image and its embedding-space medoid
    image (the same file where the two methods agree); a class without both is left out."""
    record = run.representatives()
    tsne = {item["class"]: item["file"] for item in record["tsne_medoids"]}
    embedding = {item["class"]: item["file"] for item in record["embedding_medoids"]}
    return [(name, image_path(run, tsne[name]), image_path(run, embedding[name])) for name in run.class_names if name in tsne and name in embedding]


def class_files(listing: Listing) -> dict[str, list[str]]:
    """The image files of each class of a listing, in class order."""
    return {name: [str(p) for p, label in zip(listing.paths, listing.labels) if label == c] for c, name in enumerate(listing.class_names)}


def distance_groups(evaluation: Evaluation, thresholds: Iterable[float] = ()) -> dict[str, Any]:
    """Nearest-class distances by outcome, for histograms that do not depend on the threshold.

    Args:
        evaluation: the run's evaluation on a test (and maybe unknown) folder.
        thresholds: further thresholds the histogram's range must include (suggestions).

    Returns:
        ``groups``: distances of test images whose nearest class is right, of those whose
        nearest class is wrong, and of unknown images; ``max``: a range that holds every
        distance, threshold and ``evaluation.threshold``, with 5% to spare; ``accuracy``:
        the share of test images whose nearest class is right.
    """
    rows = evaluation.table()
    test = rows[rows["set"] == "test"]
    right = test["true_class"] == test["predicted_class"]
    groups = {
        "right class": test.loc[right, "distance"].tolist(),
        "wrong class": test.loc[~right, "distance"].tolist(),
        "unknown": rows.loc[rows["set"] == "unknown", "distance"].tolist(),
    }
    top = max([*rows["distance"].tolist(), *thresholds, evaluation.threshold, 1e-3])
    return {"groups": groups, "max": top * 1.05, "accuracy": float(right.mean()) if len(test) else 0.0}


def nonempty_cells(confusion: pd.DataFrame) -> list[tuple[str, str, int]]:
    """The confusion table's cells that hold images: (true class, predicted column, count), row by row."""
    rows, columns = np.nonzero(confusion.to_numpy() > 0)  # row-major, as reading the table row by row
    return [(str(confusion.index[r]), str(confusion.columns[c]), int(confusion.iat[r, c])) for r, c in zip(rows, columns)]


def class_threshold_vector(table: pd.DataFrame, class_names: list[str], default: float) -> np.ndarray:
    """Per-class thresholds in class order from a table with ``class`` and ``threshold`` columns
    (an edited one); a class missing from it, or left blank, gets ``default``."""
    return table.set_index("class")["threshold"].reindex(class_names).fillna(default).to_numpy(float)
