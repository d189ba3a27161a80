"""A probe's nearest training images: the k training embeddings closest to it, with their files and classes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from siamese.data.folders import scan_folder
from siamese.errors import SiameseError
from siamese.scoring.distances import pairwise_distances

DEFAULT_NEIGHBOURS = 5


@dataclass(frozen=True)
class Neighbour:
    """One training image near a probe.

    Attributes:
        file: the image, relative to the training data folder.
        path: the image file itself.
        class_name: its class.
        distance: its embedding distance to the probe (Euclidean, as everywhere).
        row: its row among the training embeddings (the map's row, when the run has one).
    """

    file: str
    path: Path
    class_name: str
    distance: float
    row: int

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "class": self.class_name, "distance": self.distance}


@dataclass(frozen=True)
class TrainingEmbeddings:
    """A run's training images as embeddings: (N, D) with each row's file (relative to ``root``) and class."""

    embeddings: np.ndarray
    files: list[str]
    classes: list[str]
    root: Path


def nearest_rows(embedding: np.ndarray, embeddings: np.ndarray, k: int, exclude: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``embeddings`` nearest to ``embedding`` and their distances, nearest first.

    Ties keep the row order (a stable sort), so the answer does not depend on the platform.

    Args:
        embedding: one embedding (D,).
        embeddings: the candidates (N, D).
        k: how many to return (fewer when there are fewer candidates).
        exclude: a row to leave out (the point itself, for a point of the map).
    """
    if k < 1:
        raise SiameseError(f"number of neighbours {k} is not valid; use 1 or more")
    dist = pairwise_distances(np.atleast_2d(embedding), embeddings)[0]
    order = np.argsort(dist, kind="stable")
    if exclude is not None:
        order = order[order != exclude]
    order = order[:k]
    return order, dist[order]


def training_set(run) -> TrainingEmbeddings:
    """The run's reference images as embeddings: the training images ``represent`` stored when
    the run has them (no forward pass), then the reference images of the people enrolled in
    its gallery (their copies in the run folder, as absolute paths); else the training
    folder embedded now (its held-out calibration images left out, as represent does)."""
    if run.has_representatives:
        table = run.training_map()
        root = (run.path / run.representatives()["data"]).resolve()  # the map's files are relative to it
        enrolled = run.enrolled()
        files = [str(f) for f in table["file"]] + [str((run.path / c).resolve()) for p in enrolled.people for c in p.copies]
        classes = [str(c) for c in table["class"]] + [enrolled.names[i] for i in enrolled.labels]
        embeddings = run.training_embeddings()
        if len(enrolled.labels):
            embeddings = np.concatenate([embeddings, enrolled.embeddings.astype(embeddings.dtype)])
        return TrainingEmbeddings(embeddings, files, classes, root)
    listing = scan_folder(run.train_dir, run.class_names)
    held_out = set(run.calibration_files)
    keep = [i for i, p in enumerate(listing.paths) if str(p.relative_to(listing.root)) not in held_out]
    embeddings, kept, _ = run.embed_files([listing.paths[i] for i in keep])
    rows = [keep[i] for i in kept]
    return TrainingEmbeddings(
        embeddings, [str(listing.paths[i].relative_to(listing.root)) for i in rows],
        [listing.class_names[listing.labels[i]] for i in rows], listing.root,
    )


def nearest_training_images(training: TrainingEmbeddings, embedding: np.ndarray, k: int = DEFAULT_NEIGHBOURS, exclude: int | None = None) -> list[Neighbour]:
    """The ``k`` training images nearest to ``embedding`` in embedding space, nearest first."""
    if len(training.files) == 0:
        raise SiameseError(f"the training data {training.root} has no readable image to compare with")
    rows, distances = nearest_rows(embedding, training.embeddings, k, exclude)
    return [
        Neighbour(file=training.files[r], path=training.root / training.files[r], class_name=training.classes[r], distance=float(d), row=int(r))
        for r, d in zip(rows, distances)
    ]
