"""Class representatives: medoids on the t-SNE map (as the original) or in embedding space."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siamese.data.folders import scan_folder
from siamese.data.paths import inside
from siamese.errors import SiameseError
from siamese.maps.tsne import project_tsne
from siamese.runs.atomic_files import atomic_write, write_json
from siamese.runs.layout import (
    MAP_FILE,
    REPRESENTATIVE_COPIES,
    REPRESENTATIVE_EMBEDDINGS_FILE,
    REPRESENTATIVES_FILE,
    TRAIN_EMBEDDINGS_FILE,
    now,
)
from siamese.runs.locks import one_writer_per_run
from siamese.runs.schema import METHODS
from siamese.runs.store import Run
from siamese.scoring.distances import class_medoids
from siamese.scoring.metrics import equal_error_threshold, shrunk_class_thresholds, threshold_at_frr
from siamese.scoring.rules import DEFAULT_K, DEFAULT_RULE, RULES, fit_scorer

log = logging.getLogger("siamese")


def training_threshold(class_dist: np.ndarray, labels: np.ndarray) -> float:
    """The equal-error point between own-class and nearest-other-class distances of the
    training images (the first version's threshold, kept as a named alternative).

    Args:
        class_dist: the rule's per-class distances of the training images (n, C).
        labels: their classes.

    It needs no held-out images, but the network has fitted the training images, so
    their own-class distances are small and the threshold lands above where strangers
    fall: on the sample data it rejects only about half of them.
    """
    rows = np.arange(len(labels))
    genuine = class_dist[rows, labels]
    other = class_dist.copy()
    other[rows, labels] = np.inf
    nearest_other = other.min(axis=1)  # as if each image were unknown to its own class
    return equal_error_threshold(genuine[np.isfinite(genuine)], nearest_other[np.isfinite(nearest_other)])


TRAINING_CRITERION = "equal error rate between each training image's distance to its own class and to the nearest other class"
WEAK_THRESHOLD_WARNING = (
    "no held-out known images to calibrate the threshold on, so it is the equal-error point of the training images' "
    "distances; the network has fitted those, so this threshold accepts many strangers (about half on the sample data). "
    "Train with a calibration split, or give a folder of known images the network did not train on to calibrate with"
)


def calibrate(
    scorers: dict, embeddings: np.ndarray, labels: np.ndarray, rule: str, target_frr: float, n_classes: int
) -> dict[str, Any]:
    """Thresholds at the target false-reject rate on held-out known images, for every rule.

    Args:
        scorers: fitted rule name -> ``Scorer``.
        embeddings: the held-out known images' embeddings; labels: their classes.
        rule: the run's rule, whose distances and per-class thresholds are recorded.

    Returns:
        ``rule_thresholds`` (rule -> threshold), the chosen rule's ``distances`` (nearest-class
        distance per image) and ``class_thresholds`` (per class, shrunk toward the global one).
    """
    thresholds, distances, class_thresholds = {}, None, None
    for name, scorer in scorers.items():
        dist = scorer.class_distances(embeddings)
        nearest = dist.min(axis=1)
        thresholds[name] = threshold_at_frr(nearest, target_frr)
        if name == rule:
            distances = nearest
            own = dist[np.arange(len(labels)), labels]
            class_thresholds = shrunk_class_thresholds(own, labels, n_classes, target_frr, thresholds[name])
    return {"rule_thresholds": thresholds, "distances": distances, "class_thresholds": class_thresholds}


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


@one_writer_per_run
def represent(
    run: Run,
    data_dir: str | os.PathLike[str] | None = None,
    method: str = "tsne-medoid",
    per_class: int = 1,
    perplexity: float = 30.0,
    seed: int = 0,
    rule: str = DEFAULT_RULE,
    k: int = DEFAULT_K,
    target_frr: float = 0.05,
    calibrate_dir: str | os.PathLike[str] | None = None,
    per_class_threshold: bool = False,
) -> dict[str, Any]:
    """Choose and record class representatives and the run's threshold; the dataset is only read.

    Embeds the training images once (in batches), projects them with t-SNE, picks per
    class the medoid(s) on the map (``tsne-medoid``) or in embedding space
    (``medoid``), and writes into the run folder: representatives.json (files,
    classes, map coordinates, rule, threshold and its calibration),
    representatives.npz (their embeddings), map.csv (every training image's map
    position) and embeddings.npy, plus a copy of each representative image under
    ``representatives/<class>/``.

    The threshold is calibrated: set so that ``target_frr`` of known images the network
    never trained on are rejected, either the share ``train`` held out of the training
    folder or the images of ``calibrate_dir``. Without either, it falls back to the
    equal-error point of the training images (with a warning: it accepts many strangers).

    Returns:
        The record written to representatives.json.
    """
    if method not in METHODS:
        raise SiameseError(f"method {method!r} is not known; use one of {', '.join(METHODS)}")
    if rule not in RULES:
        raise SiameseError(f"rule {rule!r} is not known; use one of {', '.join(RULES)}")
    if per_class < 1:
        raise SiameseError(f"per-class count {per_class} is not valid; use 1 or more")
    if k < 1:
        raise SiameseError(f"k {k} is not valid; use 1 or more neighbours")
    if perplexity <= 0:
        raise SiameseError(f"perplexity {perplexity} is not valid; use a positive number such as 30")
    if not 0 <= target_frr < 1:
        raise SiameseError(f"target false-reject rate {target_frr} is not valid; use a fraction from 0 to below 1 such as 0.05")
    if run.status == "running" and run.training_host:
        raise SiameseError(f"run {run.path} is recorded as training on host {run.training_host}, which this machine cannot check; "
                           f"wait until it finishes there, or if it has stopped, train a new run here")
    if run.status == "running":
        raise SiameseError(f"run {run.path} is still training; wait until it finishes")
    root = Path(data_dir) if data_dir is not None else run.train_dir
    listing = scan_folder(root, run.class_names)
    # The share train held out for calibration is in the training folder but was never
    # trained on: it must not become a representative or a point of the map.
    held_out = set(run.calibration_files) if root.resolve() == run.train_dir else set()
    relative = [str(p.relative_to(listing.root)) for p in listing.paths]
    is_held = np.array([r in held_out for r in relative], bool)
    every, kept, skipped = run.embed_files(listing.paths)
    train_mask = ~is_held[kept]
    if not train_mask.any():
        raise SiameseError(f"no image in {root} could be read")
    embeddings = every[train_mask]
    paths = [listing.paths[i] for i in kept[train_mask]]
    labels = listing.labels[kept[train_mask]]
    xy = project_tsne(embeddings, perplexity, seed)
    tsne_choice = class_medoids(xy, labels, per_class)
    embedding_choice = class_medoids(embeddings, labels, per_class)
    chosen = tsne_choice if method == "tsne-medoid" else embedding_choice

    names = run.class_names
    scorers = {name: fit_scorer(name, embeddings, labels, len(names), chosen, k) for name in RULES}
    scorer = scorers[rule]
    equal_error = training_threshold(scorer.training_distances(embeddings), labels)
    distance_to_rep = fit_scorer("medoid", embeddings, labels, len(names), chosen).class_distances(embeddings)[np.arange(len(labels)), labels]
    files = [str(p.relative_to(listing.root)) for p in paths]

    if calibrate_dir is not None:
        cal_listing = scan_folder(calibrate_dir, names)
        cal_embeddings, cal_kept, cal_skipped = run.embed_files(cal_listing.paths)
        cal_labels, cal_root = cal_listing.labels[cal_kept], cal_listing.root
        cal_files = [str(cal_listing.paths[i].relative_to(cal_root)) for i in cal_kept]
        skipped = [*skipped, *cal_listing.skipped, *cal_skipped]
        source = "calibration folder"
    else:
        cal_embeddings, cal_labels, cal_root = every[~train_mask], listing.labels[kept[~train_mask]], listing.root
        cal_files = [relative[i] for i in kept[~train_mask]]
        source = "held-out share of the training folder"
    calibration: dict[str, Any] | None = None
    if len(cal_labels):
        fitted = calibrate(scorers, cal_embeddings, cal_labels, rule, target_frr, len(names))
        threshold = fitted["rule_thresholds"][rule]
        calibration = {
            "source": source,
            "data": os.path.relpath(Path(cal_root).resolve(), run.path.resolve()),
            "files": cal_files,
            "labels": [names[c] for c in cal_labels],
            "distances": [float(d) for d in fitted["distances"]],
            "target_frr": target_frr,
            "rule_thresholds": fitted["rule_thresholds"],
            "class_thresholds": {n: float(t) for n, t in zip(names, fitted["class_thresholds"])},
        }
        criterion = f"{target_frr:.0%} of {len(cal_labels)} known images the network never trained on ({source}) rejected"
        threshold_source = "calibration"
    else:
        log.warning("%s", WEAK_THRESHOLD_WARNING)
        threshold, criterion, threshold_source = equal_error, TRAINING_CRITERION, "training"

    copies = run.path / REPRESENTATIVE_COPIES
    if copies.exists():
        shutil.rmtree(copies)  # our own folder inside the run, replaced as a whole
    items = []
    for i in chosen:
        copy: Path | None = copies / names[labels[i]] / paths[i].name
        if inside(paths[i], listing.root):
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(paths[i], copy)
        else:  # a symbolic link out of the dataset: its target is not ours to copy into the run
            log.warning("%s leads outside %s, so no copy of it is kept in the run", paths[i], listing.root)
            copy = None
        items.append({"class": names[labels[i]], "file": files[i], "copy": str(copy.relative_to(run.path)) if copy else None,
                      "x": float(xy[i, 0]), "y": float(xy[i, 1]), "row": int(i)})

    def rows(idx: np.ndarray) -> list[dict[str, Any]]:
        return [{"class": names[labels[i]], "file": files[i], "row": int(i)} for i in idx]

    table = map_table(files, labels, names, xy, distance_to_rep, chosen)
    record = {
        "created": now(),
        "method": method,
        "per_class": per_class,
        "perplexity": perplexity,
        "seed": seed,
        "rule": rule,
        "k": k,
        "data": os.path.relpath(listing.root.resolve(), run.path.resolve()),
        "n_images": len(labels),
        "skipped": [{"path": s.path, "reason": s.reason} for s in listing.skipped + skipped],
        "suggested_threshold": threshold,
        "threshold_source": threshold_source,
        "threshold_criterion": criterion,
        "target_frr": target_frr if calibration else None,
        "per_class_threshold": bool(per_class_threshold and calibration),
        "training_threshold": equal_error,
        "training_threshold_criterion": TRAINING_CRITERION,
        "calibration": calibration,
        "items": items,
        "tsne_medoids": rows(tsne_choice),
        "embedding_medoids": rows(embedding_choice),
    }
    atomic_write(run.path / TRAIN_EMBEDDINGS_FILE, lambda tmp: np.save(tmp, embeddings), suffix=".npy")
    atomic_write(run.path / MAP_FILE, lambda tmp: table.to_csv(tmp, index=False))
    atomic_write(run.path / REPRESENTATIVE_EMBEDDINGS_FILE, lambda tmp: np.savez(tmp, embeddings=embeddings[chosen], labels=labels[chosen]), suffix=".npz")
    write_json(run.path / REPRESENTATIVES_FILE, record)
    run.forget_scorers()
    return record
