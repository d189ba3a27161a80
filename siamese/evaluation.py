"""Identification and rejection: the decision rule, confusion, sweeps, ROC and EER over cached distances."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siamese.errors import SiameseError

UNKNOWN = "unknown"
EPSILON = 1e-7


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (n, m) between rows, sqrt(max(sum((a-b)^2), eps)) as the model's layer."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, EPSILON))


def class_distances(embeddings: np.ndarray, rep_embeddings: np.ndarray, rep_labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Per class, the mean distance to that class's representatives: shape (n, n_classes).

    A class without representatives gets an infinite distance.
    """
    dist = pairwise_distances(embeddings, rep_embeddings)
    out = np.full((len(dist), n_classes), np.inf)
    for c in range(n_classes):
        members = rep_labels == c
        if members.any():
            out[:, c] = dist[:, members].mean(axis=1)
    return out


def decide(class_dist: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The original's rule: the nearest class wins; accepted when its distance < threshold.

    Returns:
        (predicted class index, nearest distance, accepted) per image.
    """
    predicted = np.argmin(class_dist, axis=1)
    distance = class_dist[np.arange(len(class_dist)), predicted]
    return predicted, distance, distance < threshold


def confusion(true: np.ndarray, predicted: np.ndarray, accepted: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """Counts with rows = true class, columns = predicted class plus ``unknown`` (rejected)."""
    columns = [*class_names, UNKNOWN]
    counts = np.zeros((len(class_names), len(columns)), np.int64)
    column = np.where(accepted, predicted, len(class_names))
    np.add.at(counts, (true, column), 1)
    return pd.DataFrame(counts, index=pd.Index(class_names, name="true class"), columns=columns)


@dataclass(frozen=True)
class Roc:
    """Known-vs-unknown separation by nearest distance; "positive" means unknown (rejected)."""

    false_reject_known: np.ndarray  # fpr: known images at or above the threshold
    reject_unknown: np.ndarray  # tpr: unknown images at or above the threshold
    thresholds: np.ndarray
    auroc: float
    eer: float
    eer_threshold: float


def unknown_roc(known_distance: np.ndarray, unknown_distance: np.ndarray) -> Roc:
    """ROC, AUROC and equal error rate with scikit-learn's metrics.

    An image is rejected (called unknown) when its distance >= threshold, which is
    scikit-learn's convention for scores, so its thresholds apply unchanged.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.r_[np.zeros(len(known_distance)), np.ones(len(unknown_distance))]
    score = np.r_[known_distance, unknown_distance]
    fpr, tpr, thresholds = roc_curve(y, score, drop_intermediate=False)
    fnr = 1.0 - tpr
    i = int(np.argmin(np.abs(fnr - fpr)))
    finite = np.where(np.isfinite(thresholds), thresholds, score.max() + EPSILON)
    # scikit-learn's threshold is the lowest score of the rejected side; any value down to
    # the next lower score gives the same errors. The middle of that gap is the robust
    # choice: when the two sides do not overlap it leaves both the same room.
    lower = score[score < finite[i]]
    eer_threshold = (lower.max() + finite[i]) / 2.0 if lower.size else finite[i]
    return Roc(fpr, tpr, finite, float(roc_auc_score(y, score)), float((fpr[i] + fnr[i]) / 2.0), float(eer_threshold))


def equal_error_threshold(genuine: np.ndarray, impostor: np.ndarray) -> float:
    """Threshold where genuine distances at or above it and impostor distances below it are equally rare."""
    return unknown_roc(genuine, impostor).eer_threshold


def threshold_sweep(
    known_distance: np.ndarray,
    known_correct: np.ndarray,
    unknown_distance: np.ndarray | None = None,
    thresholds: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per threshold: identified rate of known images and rejection rate of unknown ones.

    Args:
        known_distance: nearest-class distance of each known test image.
        known_correct: whether its nearest class is its true class.
        unknown_distance: nearest-class distance of each unknown image (optional).
        thresholds: the thresholds to evaluate; by default 201 steps over the data's range.

    Returns:
        Columns threshold, identified_rate, false_reject_rate (known images at or above
        the threshold), and with unknowns rejection_rate and false_accept_rate.
    """
    if thresholds is None:
        every = np.r_[known_distance, unknown_distance if unknown_distance is not None else []]
        thresholds = np.linspace(0.0, float(every.max()) * 1.05 + EPSILON, 201)
    t = np.asarray(thresholds, np.float64)[:, None]
    below = known_distance[None, :] < t
    table = {
        "threshold": t[:, 0],
        "identified_rate": (below & known_correct[None, :]).mean(axis=1),
        "false_reject_rate": (~below).mean(axis=1),
    }
    if unknown_distance is not None and len(unknown_distance):
        rejected = unknown_distance[None, :] >= t
        table["rejection_rate"] = rejected.mean(axis=1)
        table["false_accept_rate"] = 1.0 - table["rejection_rate"]
    return pd.DataFrame(table)


@dataclass(frozen=True)
class Evaluation:
    """Distances of every test (and unknown) image to every class, computed once.

    Everything that depends on the threshold (verdicts, confusion, rates) is derived
    from these cached distances, so changing the threshold costs no forward pass.
    """

    class_names: list[str]
    threshold: float
    files: list[str]
    true: np.ndarray
    class_dist: np.ndarray
    unknown_files: list[str]
    unknown_groups: list[str]
    unknown_class_dist: np.ndarray
    skipped: list[dict[str, str]]

    def at(self, threshold: float) -> Evaluation:
        """The same evaluation at another threshold (no recomputation of distances)."""
        return replace(self, threshold=float(threshold))

    @property
    def has_unknown(self) -> bool:
        return len(self.unknown_files) > 0

    def known(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return decide(self.class_dist, self.threshold)

    def unknown(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return decide(self.unknown_class_dist, self.threshold)

    def confusion(self) -> pd.DataFrame:
        predicted, _, accepted = self.known()
        return confusion(self.true, predicted, accepted, self.class_names)

    def roc(self) -> Roc | None:
        if not self.has_unknown or not len(self.files):
            return None
        return unknown_roc(self.known()[1], self.unknown()[1])

    def sweep(self, thresholds: np.ndarray | None = None) -> pd.DataFrame:
        predicted, distance, _ = self.known()
        unknown = self.unknown()[1] if self.has_unknown else None
        return threshold_sweep(distance, predicted == self.true, unknown, thresholds)

    def suggestions(self, target_false_accept: float = 0.01) -> dict[str, dict[str, Any]]:
        """Suggested thresholds, each with its criterion (needs unknown images).

        - ``eer``: equal error rate of known (false reject) vs unknown (false accept).
        - ``best_balance``: the highest mean of identified rate and rejection rate.
        - ``target_far``: the largest threshold at which at most ``target_false_accept``
          of unknown images are accepted, which identifies as many known images as that
          allows.
        """
        roc = self.roc()
        if roc is None:
            return {}
        sweep = self.sweep(np.unique(np.r_[roc.thresholds, self.threshold]))
        balance = (sweep["identified_rate"] + sweep["rejection_rate"]) / 2
        allowed = sweep[sweep["false_accept_rate"] <= target_false_accept]
        result = {
            "eer": {"threshold": roc.eer_threshold, "criterion": f"equal error rate ({roc.eer:.3f}) of known images rejected vs unknown images accepted"},
            "best_balance": {"threshold": float(sweep["threshold"][balance.idxmax()]), "criterion": "highest mean of identified rate and rejection rate"},
        }
        if len(allowed):
            result["target_far"] = {"threshold": float(allowed["threshold"].max()), "criterion": f"at most {target_false_accept:.0%} of unknown images accepted"}
        return result

    def table(self) -> pd.DataFrame:
        """One row per image: file, set, true class, predicted class, distance, verdict."""
        predicted, distance, accepted = self.known()
        rows = pd.DataFrame({
            "file": self.files,
            "set": "test",
            "true_class": [self.class_names[c] for c in self.true],
            "predicted_class": [self.class_names[c] for c in predicted],
            "distance": distance,
            "verdict": np.where(~accepted, "rejected", np.where(predicted == self.true, "identified", "misidentified")),
        })
        if self.has_unknown:
            u_predicted, u_distance, u_accepted = self.unknown()
            rows = pd.concat([rows, pd.DataFrame({
                "file": self.unknown_files,
                "set": "unknown",
                "true_class": self.unknown_groups,
                "predicted_class": [self.class_names[c] for c in u_predicted],
                "distance": u_distance,
                "verdict": np.where(u_accepted, "falsely accepted", "rejected"),
            })], ignore_index=True)
        return rows

    def metrics(self) -> dict[str, Any]:
        """The summary that ``evaluate --json`` prints."""
        predicted, distance, accepted = self.known()
        correct = predicted == self.true
        out: dict[str, Any] = {
            "n_test": len(self.files),
            "threshold": self.threshold,
            "accuracy": float(correct.mean()) if len(correct) else None,
            "identified_rate": float((correct & accepted).mean()) if len(correct) else None,
            "false_reject_rate": float((~accepted).mean()) if len(correct) else None,
            "classes": self.class_names,
            "confusion": {k: {c: int(v) for c, v in row.items()} for k, row in self.confusion().to_dict(orient="index").items()},
            "n_skipped": len(self.skipped),
        }
        if self.has_unknown:
            roc = self.roc()
            out.update({
                "n_unknown": len(self.unknown_files),
                "rejection_rate": float((~self.unknown()[2]).mean()),
                "auroc_unknown": roc.auroc if roc else None,
                "eer": roc.eer if roc else None,
                "eer_threshold": roc.eer_threshold if roc else None,
            })
        return out


def evaluate(run, test_dir: str | os.PathLike[str] | None, unknown_dir: str | os.PathLike[str] | None = None, threshold: float | None = None, batch_size: int = 512) -> Evaluation:
    """Embed test (and unknown) images once, in batches, and compare with the representatives.

    Args:
        run: a ``siamese.Run`` with representatives.
        test_dir: folder-per-class images of the run's classes (or None for none).
        unknown_dir: folder-per-class images of people never trained on (optional).
        threshold: the decision threshold; by default the run's suggested threshold.
    """
    from siamese.data import scan_folder

    if test_dir is None and unknown_dir is None:
        raise SiameseError("give a test folder, an unknown folder, or both")
    rep_embeddings, rep_labels = run.representative_embeddings()
    if threshold is None:
        threshold = run.suggested_threshold()
    if not np.isfinite(threshold) or threshold < 0:
        raise SiameseError(f"threshold {threshold} is not valid; use a distance of 0 or more")
    n = len(run.class_names)

    def distances(folder, class_names):
        listing = scan_folder(folder, class_names)
        # Distances per batch: memory grows by n values per image, not by a 512-d embedding.
        dist, kept, skipped = run.embed_files(listing.paths, batch_size, reduce=lambda emb: class_distances(emb, rep_embeddings, rep_labels, n))
        files = [str(listing.paths[i]) for i in kept]
        groups = [listing.class_names[listing.labels[i]] for i in kept]
        return files, listing.labels[kept], groups, dist, [*listing.skipped, *skipped]

    files, true, _, dist, skipped = (distances(test_dir, run.class_names) if test_dir is not None else ([], np.zeros(0, np.int64), [], np.zeros((0, n)), []))
    u_files, _, u_groups, u_dist, u_skipped = distances(unknown_dir, None) if unknown_dir is not None else ([], None, [], np.zeros((0, n)), [])
    return Evaluation(
        class_names=run.class_names,
        threshold=float(threshold),
        files=files,
        true=true,
        class_dist=dist,
        unknown_files=u_files,
        unknown_groups=u_groups,
        unknown_class_dist=u_dist,
        skipped=[{"path": s.path, "reason": s.reason} for s in [*skipped, *u_skipped]],
    )


def raw_pixel_accuracy(train_dir: str | os.PathLike[str], test_dir: str | os.PathLike[str], input_shape=None) -> float:
    """Baseline without learning: nearest class medoid in raw pixel space.

    Each class's medoid among its training images (flattened pixels) is its
    representative; a test image gets the class of the nearest one.
    """
    from siamese.data import load_folder
    from siamese.representatives import class_medoids

    train = load_folder(train_dir, input_shape)
    test = load_folder(test_dir, train.input_shape, train.class_names)
    x_train = train.images.reshape(len(train), -1)
    chosen = class_medoids(x_train, train.labels)
    dist = class_distances(test.images.reshape(len(test), -1), x_train[chosen], train.labels[chosen], len(train.class_names))
    return float((np.argmin(dist, axis=1) == test.labels).mean())


@dataclass(frozen=True)
class ProbeResult:
    """One image identified against a run's representatives."""

    predicted_class: str
    distance: float
    accepted: bool
    threshold: float
    distances: dict[str, float]
    embedding: np.ndarray

    def to_json(self) -> dict[str, Any]:
        return {
            "predicted_class": self.predicted_class if self.accepted else UNKNOWN,
            "nearest_class": self.predicted_class,
            "distance": self.distance,
            "accepted": self.accepted,
            "threshold": self.threshold,
            "distances": self.distances,
        }


def probe(run, image: str | os.PathLike[str] | bytes, threshold: float | None = None) -> ProbeResult:
    """Identify one image file (or its bytes): the nearest class, or unknown."""
    from siamese.data import decode_image

    rep_embeddings, rep_labels = run.representative_embeddings()
    if threshold is None:
        threshold = run.suggested_threshold()
    source = image if isinstance(image, bytes) else Path(image)
    embedding = run.embed(decode_image(source, run.input_shape)[None])
    dist = class_distances(embedding, rep_embeddings, rep_labels, len(run.class_names))
    predicted, distance, accepted = decide(dist, threshold)
    return ProbeResult(
        predicted_class=run.class_names[int(predicted[0])],
        distance=float(distance[0]),
        accepted=bool(accepted[0]),
        threshold=float(threshold),
        distances={name: float(d) for name, d in zip(run.class_names, dist[0])},
        embedding=embedding[0],
    )


def place_on_map(embedding: np.ndarray, train_embeddings: np.ndarray, train_xy: np.ndarray, k: int = 10) -> np.ndarray:
    """Approximate map position of a new point: the inverse-distance weighted mean of
    its k nearest training points' 2-D positions (t-SNE cannot place new points)."""
    dist = pairwise_distances(np.atleast_2d(embedding), train_embeddings)[0]
    nearest = np.argsort(dist)[: min(k, len(dist))]
    weights = 1.0 / np.maximum(dist[nearest], EPSILON)
    return (train_xy[nearest] * weights[:, None]).sum(axis=0) / weights.sum()
