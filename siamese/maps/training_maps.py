"""2-D maps of a run's training embeddings at any perplexity, cached on disk in the run folder,
and new images (test images, enrolled people's reference images) placed on them.

``represent`` records one map (map.csv) with the representatives it chose. Looking at
the embedding at other perplexities or with the other representative method should not
change that recorded set, so those maps are computed from the stored training
embeddings (no forward pass) and kept under ``RUN/maps/``: a map once computed reopens
at once, also after a restart.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from siamese.data.folders import scan_folder
from siamese.errors import SiameseError
from siamese.maps.representatives import METHODS, map_table
from siamese.maps.tsne import project_tsne
from siamese.runs.atomic_files import atomic_write
from siamese.runs.store import Run
from siamese.scoring.distances import EPSILON, class_distances, class_medoids, pairwise_distances

MAPS_DIR = "maps"
MAP_COLUMNS = ["file", "class", "x", "y", "distance_to_representative", "representative"]


def data_root(run: Run) -> Path:
    """The folder that the recorded map's ``file`` column is relative to."""
    return (run.path / run.representatives()["data"]).resolve()


def image_path(run: Run, file: str) -> Path:
    """The image file of a row of the run's map."""
    return data_root(run) / file


def is_recorded(run: Run, method: str, perplexity: float, seed: int) -> bool:
    """Whether these settings are the ones the recorded representatives were chosen with."""
    record = run.representatives()
    return record["method"] == method and float(record["perplexity"]) == float(perplexity) and int(record["seed"]) == int(seed)


def map_cache_path(run: Run, method: str, perplexity: float, seed: int) -> Path:
    """Where the map for these settings is cached; the name depends on the recorded set,
    so recording new representatives (maybe from other data) never reuses a stale map."""
    record = run.representatives()
    basis = f"{record['created']}|{record['data']}|{record['n_images']}"
    digest = hashlib.sha256(basis.encode()).hexdigest()[:12]
    return run.path / MAPS_DIR / f"{method}-p{float(perplexity):g}-s{int(seed)}-{digest}.csv"


def compute_map(embeddings: np.ndarray, labels: np.ndarray, class_names: list[str], files: list[str], method: str, perplexity: float, seed: int) -> pd.DataFrame:
    """A map table (``MAP_COLUMNS``) as ``represent`` writes it, one representative per class.

    Args:
        embeddings: training embeddings (n, d).
        labels: class index of each (n,).
        class_names: names of the class indices.
        files: each image's file, relative to the data folder.
        method: ``tsne-medoid`` (medoid on the map) or ``medoid`` (in embedding space).
        perplexity: t-SNE perplexity.
        seed: t-SNE seed.
    """
    if method not in METHODS:
        raise SiameseError(f"method {method!r} is not known; use one of {', '.join(METHODS)}")
    xy = project_tsne(embeddings, perplexity, seed)
    chosen = class_medoids(xy if method == "tsne-medoid" else embeddings, labels)
    distance = class_distances(embeddings, embeddings[chosen], labels[chosen], len(class_names))[np.arange(len(labels)), labels]
    return map_table(files, labels, class_names, xy, distance, chosen)


def training_map(run: Run, method: str | None = None, perplexity: float | None = None, seed: int | None = None) -> pd.DataFrame:
    """The run's training map for these settings (by default the recorded ones).

    The recorded map is read from map.csv; any other is read from the cache or
    computed from embeddings.npy (t-SNE only, no network) and cached.

    Raises:
        SiameseError: the run has no representatives yet.
    """
    record = run.representatives()
    method = record["method"] if method is None else method
    perplexity = float(record["perplexity"] if perplexity is None else perplexity)
    seed = int(record["seed"] if seed is None else seed)
    if is_recorded(run, method, perplexity, seed):
        return run.training_map()
    cache = map_cache_path(run, method, perplexity, seed)
    if cache.exists():
        return pd.read_csv(cache)
    recorded = run.training_map()
    labels = np.array([run.class_names.index(c) for c in recorded["class"]], np.int64)
    table = compute_map(run.training_embeddings(), labels, run.class_names, list(recorded["file"]), method, perplexity, seed)
    cache.parent.mkdir(exist_ok=True)
    atomic_write(cache, lambda tmp: table.to_csv(tmp, index=False))
    return table


def place_on_map(embedding: np.ndarray, train_embeddings: np.ndarray, train_xy: np.ndarray, k: int = 10) -> np.ndarray:
    """Approximate map position of a new point: the inverse-distance weighted mean of
    its k nearest training points' 2-D positions (t-SNE cannot place new points)."""
    dist = pairwise_distances(np.atleast_2d(embedding), train_embeddings)[0]
    nearest = np.argsort(dist)[: min(k, len(dist))]
    weights = 1.0 / np.maximum(dist[nearest], EPSILON)
    return (train_xy[nearest] * weights[:, None]).sum(axis=0) / weights.sum()


def place_embeddings(embeddings: np.ndarray, train_embeddings: np.ndarray, train_xy: np.ndarray, k: int = 10) -> np.ndarray:
    """Map places (n, 2) of several new points, each by ``place_on_map``."""
    return np.array([place_on_map(e, train_embeddings, train_xy, k) for e in embeddings], np.float64).reshape(-1, 2)


def place_folder(run: Run, folder: str | os.PathLike[str], table: pd.DataFrame) -> pd.DataFrame:
    """Approximate map places of a folder's images (test images, say) on a training map.

    t-SNE cannot place new points, so each image goes to the weighted mean of its
    nearest training points' positions (``place_on_map``).

    Returns:
        Columns file (full path), class, x, y.
    """
    listing = scan_folder(folder)
    embeddings, kept, _ = run.embed_files(listing.paths)
    train_embeddings = run.training_embeddings()
    xy = table[["x", "y"]].to_numpy(np.float64)
    places = place_embeddings(embeddings, train_embeddings, xy)
    return pd.DataFrame({
        "file": [str(listing.paths[i]) for i in kept],
        "class": [listing.class_names[listing.labels[i]] for i in kept],
        "x": places[:, 0],
        "y": places[:, 1],
    })


def place_enrolled(run: Run, table: pd.DataFrame) -> pd.DataFrame:
    """The enrolled people's reference images placed on a training map, from the embeddings the
    gallery holds (no forward pass), as ``place_folder`` places test images.

    The map's t-SNE was fitted on the training images only (and its fitted state is not
    kept), so an enrolled image goes to the weighted mean of its nearest training points'
    places: near the trained people it resembles most.

    Returns:
        Columns file (the image's copy in the run folder), class (the person's name), x, y;
        no rows when nobody is enrolled.
    """
    enrolled = run.enrolled()
    if not len(enrolled.labels):
        return pd.DataFrame({"file": pd.Series(dtype=str), "class": pd.Series(dtype=str), "x": pd.Series(dtype=float), "y": pd.Series(dtype=float)})
    places = place_embeddings(enrolled.embeddings, run.training_embeddings(), table[["x", "y"]].to_numpy(np.float64))
    return pd.DataFrame({
        "file": [str(Path(run.path) / copy) for person in enrolled.people for copy in person.copies],
        "class": [enrolled.people[i].name for i in enrolled.labels],
        "x": places[:, 0],
        "y": places[:, 1],
    })
