"""Class representatives: medoids on the t-SNE map (as the original) or in embedding space."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siamese.data import scan_folder
from siamese.errors import SiameseError
from siamese.evaluation import class_distances, equal_error_threshold, pairwise_distances
from siamese.runs import MAP_FILE, REPRESENTATIVE_EMBEDDINGS_FILE, REPRESENTATIVES_FILE, TRAIN_EMBEDDINGS_FILE, Run, now
from siamese.storage import atomic_write, write_json

log = logging.getLogger("siamese")

METHODS = ("tsne-medoid", "medoid")
REPRESENTATIVE_COPIES = "representatives"


def medoids(points: np.ndarray, k: int = 1) -> np.ndarray:
    """Indices of k medoids of ``points`` (n, d), chosen greedily (PAM's BUILD step).

    The first is the point with the smallest total distance to all others (the
    medoid); each next one is the point that most lowers the total distance of every
    point to its nearest chosen medoid. With k >= n every point is returned.
    """
    n = len(points)
    if n == 0:
        return np.zeros(0, np.int64)
    dist = pairwise_distances(points, points)
    np.fill_diagonal(dist, 0.0)
    chosen = [int(np.argmin(dist.sum(axis=1)))]
    nearest = dist[chosen[0]].copy()
    while len(chosen) < min(k, n):
        cost = np.minimum(dist, nearest[None, :]).sum(axis=1)
        cost[chosen] = np.inf
        best = int(np.argmin(cost))
        chosen.append(best)
        nearest = np.minimum(nearest, dist[best])
    return np.asarray(chosen, np.int64)


def class_medoids(points: np.ndarray, labels: np.ndarray, k: int = 1) -> np.ndarray:
    """Indices (into ``points``) of k medoids per class, class by class in label order."""
    chosen = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        chosen.append(members[medoids(points[members], k)])
    return np.concatenate(chosen)


def tsne_iterations(n: int) -> int:
    """Gradient steps for a map of n points: a fixed budget of about 4 million point-steps,
    between 400 and scikit-learn's default 1,000.

    Small maps (the sample data's 384 points) get the full 1,000 for free; a 10,000-point
    map gets 400 (250 of them early exaggeration, which forms the clusters), which keeps
    it under 10 s on 2 cores (bench/README.md).
    """
    return int(min(1000, max(400, 4_000_000 // max(n, 1))))


FFT_FROM = 8_000  # from this many points the FFT t-SNE is faster (bench/README.md)
EXAGGERATION_STEPS = 250  # scikit-learn's fixed early-exaggeration phase; the FFT path uses the same
EXACT_NEIGHBOURS_UP_TO = 50_000


def project_tsne(embeddings: np.ndarray, perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """2-D t-SNE map of embeddings (n, d), after PCA to 50 dimensions.

    PCA first is standard practice: it removes noise dimensions and makes t-SNE's
    neighbour search much faster. Perplexity is capped below n / 3 so small sets work.
    Both methods take ``tsne_iterations(n)`` gradient steps on every core:

    - under ``FFT_FROM`` points, scikit-learn's Barnes-Hut t-SNE with angle 0.8, which
      moves no point of a cluster into another;
    - from ``FFT_FROM`` points, openTSNE's FFT-interpolated t-SNE (FIt-SNE), whose step
      costs about the same for any number of points up to tens of thousands, where
      Barnes-Hut grows as n log n: 10,000 points in 5.6 s instead of 9.2 s, 20,000 in 8.1 s
      instead of 21 s, with the same trustworthiness (bench/README.md). Below 8,000 its
      fixed cost per step makes it slower.
    """
    from sklearn.decomposition import PCA

    n = len(embeddings)
    if n < 4:
        raise SiameseError(f"a t-SNE map needs at least 4 images, got {n}; add images or use --method medoid")
    x = embeddings.astype(np.float64)
    if x.shape[1] > 50 and n > 50:
        x = PCA(n_components=50, random_state=seed).fit_transform(x)
    perplexity = float(min(perplexity, max((n - 1) / 3.0, 1.0)))
    if n >= FFT_FROM:
        return fft_tsne(x, perplexity, seed, tsne_iterations(n))
    from sklearn.manifold import TSNE

    tsne = TSNE(
        n_components=2, perplexity=perplexity, init="pca", random_state=seed, learning_rate="auto", max_iter=tsne_iterations(n), angle=0.8, n_jobs=-1
    )
    return tsne.fit_transform(x).astype(np.float32)


def fft_tsne(x: np.ndarray, perplexity: float, seed: int, iterations: int) -> np.ndarray:
    """openTSNE's FFT-accelerated t-SNE: PCA initialisation, 250 exaggerated steps, then the rest."""
    import openTSNE

    # Exact neighbours (a ball tree) are faster than openTSNE's default approximate index
    # here: 0.5 s instead of 2.1 s at 10,000 points, 4.7 s instead of 11.2 s at 40,000.
    neighbors = "exact" if len(x) <= EXACT_NEIGHBOURS_UP_TO else "auto"
    tsne = openTSNE.TSNE(
        n_components=2, perplexity=perplexity, initialization="pca", random_state=seed, negative_gradient_method="fft",
        early_exaggeration_iter=EXAGGERATION_STEPS, n_iter=max(iterations - EXAGGERATION_STEPS, 1), n_jobs=os.cpu_count() or 1,
        neighbors=neighbors,
    )
    return np.asarray(tsne.fit(x), dtype=np.float32)


def suggested_threshold(class_dist: np.ndarray, labels: np.ndarray) -> float:
    """Distance that separates own-class from nearest-other-class distances equally well.

    Args:
        class_dist: the decision rule's per-class distances of the training images (n, C).
        labels: their classes.

    For every training image, the distance to its own class (genuine) and to the
    nearest other class (impostor); the threshold is their equal error point. It needs
    no unknown images, so every run has one.
    """
    rows = np.arange(len(labels))
    genuine = class_dist[rows, labels]
    other = class_dist.copy()
    other[rows, labels] = np.inf
    impostor = other.min(axis=1)
    return equal_error_threshold(genuine[np.isfinite(genuine)], impostor[np.isfinite(impostor)])


def map_table(files: list[str], labels: np.ndarray, class_names: list[str], xy: np.ndarray, distance: np.ndarray, chosen: np.ndarray) -> pd.DataFrame:
    """The map as stored in map.csv: file, class, x, y, distance to its representative, representative."""
    return pd.DataFrame({
        "file": files,
        "class": [class_names[c] for c in labels],
        "x": xy[:, 0],
        "y": xy[:, 1],
        "distance_to_representative": distance,
        "representative": np.isin(np.arange(len(labels)), chosen),
    })


def represent(
    run: Run,
    data_dir: str | os.PathLike[str] | None = None,
    method: str = "tsne-medoid",
    per_class: int = 1,
    perplexity: float = 30.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Choose and record class representatives for a run; the dataset is only read.

    Embeds the training images once (in batches), projects them with t-SNE, picks per
    class the medoid(s) on the map (``tsne-medoid``) or in embedding space
    (``medoid``), and writes into the run folder: representatives.json (files,
    classes, map coordinates), representatives.npz (their embeddings), map.csv (every
    training image's map position) and embeddings.npy, plus a copy of each
    representative image under ``representatives/<class>/``.

    Returns:
        The record written to representatives.json.
    """
    if method not in METHODS:
        raise SiameseError(f"method {method!r} is not known; use one of {', '.join(METHODS)}")
    if per_class < 1:
        raise SiameseError(f"per-class count {per_class} is not valid; use 1 or more")
    if perplexity <= 0:
        raise SiameseError(f"perplexity {perplexity} is not valid; use a positive number such as 30")
    if run.status == "running":
        raise SiameseError(f"run {run.path} is still training; wait until it finishes")
    root = Path(data_dir) if data_dir is not None else run.train_dir
    listing = scan_folder(root, run.class_names)
    embeddings, kept, skipped = run.embed_files(listing.paths)
    if not len(kept):
        raise SiameseError(f"no image in {root} could be read")
    paths = [listing.paths[i] for i in kept]
    labels = listing.labels[kept]
    xy = project_tsne(embeddings, perplexity, seed)
    tsne_choice = class_medoids(xy, labels, per_class)
    embedding_choice = class_medoids(embeddings, labels, per_class)
    chosen = tsne_choice if method == "tsne-medoid" else embedding_choice

    names = run.class_names
    rep_labels = labels[chosen]
    class_dist = class_distances(embeddings, embeddings[chosen], rep_labels, len(names))
    threshold = suggested_threshold(class_dist, labels)
    distance_to_rep = class_dist[np.arange(len(labels)), labels]
    files = [str(p.relative_to(listing.root)) for p in paths]

    copies = run.path / REPRESENTATIVE_COPIES
    if copies.exists():
        shutil.rmtree(copies)  # our own folder inside the run, replaced as a whole
    items = []
    for i in chosen:
        copy = copies / names[labels[i]] / paths[i].name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(paths[i], copy)
        items.append({"class": names[labels[i]], "file": files[i], "copy": str(copy.relative_to(run.path)), "x": float(xy[i, 0]), "y": float(xy[i, 1]), "row": int(i)})

    def rows(idx: np.ndarray) -> list[dict[str, Any]]:
        return [{"class": names[labels[i]], "file": files[i], "row": int(i)} for i in idx]

    table = map_table(files, labels, names, xy, distance_to_rep, chosen)
    record = {
        "created": now(),
        "method": method,
        "per_class": per_class,
        "perplexity": perplexity,
        "seed": seed,
        "data": os.path.relpath(listing.root.resolve(), run.path.resolve()),
        "n_images": len(labels),
        "skipped": [{"path": s.path, "reason": s.reason} for s in listing.skipped + skipped],
        "suggested_threshold": threshold,
        "threshold_criterion": "equal error rate between each training image's distance to its own class and to the nearest other class",
        "items": items,
        "tsne_medoids": rows(tsne_choice),
        "embedding_medoids": rows(embedding_choice),
    }
    atomic_write(run.path / TRAIN_EMBEDDINGS_FILE, lambda tmp: np.save(tmp, embeddings), suffix=".npy")
    atomic_write(run.path / MAP_FILE, lambda tmp: table.to_csv(tmp, index=False))
    atomic_write(run.path / REPRESENTATIVE_EMBEDDINGS_FILE, lambda tmp: np.savez(tmp, embeddings=embeddings[chosen], labels=rep_labels), suffix=".npz")
    write_json(run.path / REPRESENTATIVES_FILE, record)
    return record
