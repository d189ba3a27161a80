"""Open-set metrics over cached distances: calibration, DIR at FAR, CMC (pure functions over arrays).

Conventions, as everywhere in this package: an image is accepted when its nearest-class
distance is strictly below the threshold and rejected ("unknown") when it is at or above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from siamese.scoring.distances import EPSILON

FAR_POINTS = (0.01, 0.05, 0.1)  # false-alarm rates that evaluate reports DIR at
CMC_RANKS = 5
UNKNOWN = "unknown"


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
    # deferred: scikit-learn takes a second to import; only ROC curves need it here
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


def equal_error_threshold(genuine: np.ndarray, unknown: np.ndarray) -> float:
    """Threshold where genuine distances at or above it and unknown distances below it are equally rare."""
    return unknown_roc(genuine, unknown).eer_threshold


def threshold_at_frr(distances: np.ndarray, target_frr: float) -> float:
    """The threshold that rejects at most ``target_frr`` of these known images.

    With n distances, m = floor(target_frr * n) of them may be rejected: the threshold
    lies midway between the largest accepted and the smallest rejected distance (the
    robust choice, as for the equal-error threshold), or just above the largest distance
    when none may be rejected. Ties at the boundary are all accepted, so the rate reached
    is at most the target.

    Example: distances 0.1, 0.2, ..., 1.0 and target 0.1 give m = 1 and 0.95.
    """
    d = np.sort(np.asarray(distances, np.float64))
    d = d[np.isfinite(d)]
    if not d.size:
        raise ValueError("no finite distance to calibrate on")
    if not 0.0 <= target_frr < 1.0:
        raise ValueError(f"target false-reject rate {target_frr} must be at least 0 and below 1")
    n = d.size
    m = int(np.floor(target_frr * n + 1e-9))
    while m > 0 and d[n - m] == d[n - m - 1]:
        m -= 1  # a tie across the boundary: accept the tied images
    if m > 0:
        return float((d[n - m - 1] + d[n - m]) / 2.0)
    return float(np.nextafter(d[-1], np.inf))


def shrunk_class_thresholds(own_distance: np.ndarray, labels: np.ndarray, n_classes: int, target_frr: float, global_threshold: float, prior: float = 10.0) -> np.ndarray:
    """Per-class thresholds at the target false-reject rate, shrunk toward the global one.

    Class c with n_c held-out images gets (n_c * t_c + prior * t_global) / (n_c + prior),
    where t_c is ``threshold_at_frr`` of its images' distances to their own class; a
    class without held-out images gets the global threshold.
    """
    out = np.full(n_classes, float(global_threshold))
    for c in range(n_classes):
        d = own_distance[labels == c]
        d = d[np.isfinite(d)]
        if d.size:
            out[c] = (d.size * threshold_at_frr(d, target_frr) + prior * global_threshold) / (d.size + prior)
    return out


def threshold_at_far(unknown_distance: np.ndarray, far: float) -> float:
    """The largest threshold at which at most ``far`` of the unknown images are accepted.

    With u sorted unknown distances and a = floor(far * n) allowed acceptances, the
    threshold is u[a] (those below it are accepted); infinity when every one may be.
    """
    u = np.sort(np.asarray(unknown_distance, np.float64))
    a = int(np.floor(far * u.size + 1e-9))
    return float(u[a]) if a < u.size else float("inf")


def dir_at_far(known_distance: np.ndarray, known_correct: np.ndarray, unknown_distance: np.ndarray, far: float) -> float:
    """Detection and identification rate at a false-alarm rate (open-set identification).

    The share of known images whose nearest class is right and below the threshold at
    which at most ``far`` of the unknown images are accepted.
    """
    t = threshold_at_far(unknown_distance, far)
    return float((np.asarray(known_correct) & (np.asarray(known_distance) < t)).mean())


def dir_far_curve(known_distance: np.ndarray, known_correct: np.ndarray, unknown_distance: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(far, dir, threshold) at every threshold where the false-alarm rate changes."""
    u = np.sort(np.asarray(unknown_distance, np.float64))
    thresholds = np.r_[np.unique(u), np.inf]
    far = (u[None, :] < thresholds[:, None]).mean(axis=1) if u.size else np.zeros(1)
    identified = np.asarray(known_correct)[None, :] & (np.asarray(known_distance)[None, :] < thresholds[:, None])
    return far, identified.mean(axis=1), thresholds


def cmc(class_dist: np.ndarray, true: np.ndarray, max_rank: int = CMC_RANKS) -> list[float]:
    """Cumulative match characteristic: for rank 1..max_rank, the share of known images
    whose true class is among that many nearest classes (the threshold plays no part)."""
    ranks = min(max_rank, class_dist.shape[1])
    if not len(class_dist):
        return [0.0] * ranks
    own = class_dist[np.arange(len(true)), true]
    # Rank of the true class = 1 + classes strictly nearer (ties count in its favour).
    rank = 1 + (class_dist < own[:, None]).sum(axis=1)
    return [float((rank <= r).mean()) for r in range(1, ranks + 1)]


def decide(class_dist: np.ndarray, threshold: float, class_thresholds: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The original's rule: the nearest class wins; accepted when its distance < threshold.

    With ``class_thresholds`` (one per class) the nearest class's own threshold applies.

    Returns:
        (predicted class index, nearest distance, accepted) per image.
    """
    predicted = np.argmin(class_dist, axis=1) if class_dist.shape[1] else np.zeros(len(class_dist), np.int64)
    distance = class_dist[np.arange(len(class_dist)), predicted]
    limit = np.asarray(class_thresholds)[predicted] if class_thresholds is not None else threshold
    return predicted, distance, distance < limit


def confusion(true: np.ndarray, predicted: np.ndarray, accepted: np.ndarray, class_names: list[str]) -> pd.DataFrame:
    """Counts with rows = true class, columns = predicted class plus ``unknown`` (rejected)."""
    columns = [*class_names, UNKNOWN]
    counts = np.zeros((len(class_names), len(columns)), np.int64)
    column = np.where(accepted, predicted, len(class_names))
    np.add.at(counts, (true, column), 1)
    return pd.DataFrame(counts, index=pd.Index(class_names, name="true class"), columns=columns)


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


def per_class_confusion(table: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """The confusion ``table`` turned into one row per true class, for any number of classes.

    Args:
        table: counts with rows = true class and columns = predicted class plus ``unknown``
            (``confusion``'s output).
        top: how many of the classes a class is confused with are named.

    Returns:
        Columns ``class``, ``images`` (its test images), ``identified`` (accepted as itself),
        ``unknown`` (rejected at the threshold), ``confused`` (accepted as another class)
        and ``confused with`` (the ``top`` classes it was taken for most often, with
        counts, most first, then how many more). Rows with the most errors (confused plus
        unknown) come first, ties in class order; a class without test images is left out.

    Example: a row ``a: 5, b: 2, unknown: 1`` for class ``a`` gives images 8, identified 5,
    unknown 1, confused 2, confused with ``b (2)``.
    """
    classes = [c for c in table.columns if c != UNKNOWN]
    counts = table.reindex(columns=classes, fill_value=0).to_numpy(np.int64)
    unknown = table[UNKNOWN].to_numpy(np.int64) if UNKNOWN in table.columns else np.zeros(len(table), np.int64)
    column_of = {name: j for j, name in enumerate(classes)}
    own = np.array([column_of.get(name, -1) for name in table.index], np.int64)
    rows = np.arange(len(table))
    identified = np.where(own >= 0, counts[rows, np.maximum(own, 0)], 0)
    wrong = counts.copy()
    wrong[rows[own >= 0], own[own >= 0]] = 0
    named = [""] * len(table)
    for i in np.flatnonzero(wrong.sum(axis=1)):  # in numpy for all rows, in Python only for rows with errors
        order = [j for j in np.argsort(-wrong[i], kind="stable") if wrong[i, j] > 0]
        named[i] = ", ".join(f"{classes[j]} ({wrong[i, j]})" for j in order[:top]) + (f", {len(order) - top} more" if len(order) > top else "")
    out = pd.DataFrame({"class": [str(n) for n in table.index], "images": counts.sum(axis=1) + unknown, "identified": identified,
                        "unknown": unknown, "confused": wrong.sum(axis=1), "confused with": named})
    out = out[out["images"] > 0]
    errors = (out["confused"] + out["unknown"]).to_numpy()
    return out.iloc[np.argsort(-errors, kind="stable")].reset_index(drop=True)


def top_confusions(table: pd.DataFrame, count: int = 10) -> pd.DataFrame:
    """The ``count`` most frequent confusions between classes in a confusion ``table``:
    columns ``true class``, ``taken for`` and ``images``, most first (ties in table order);
    rejections (``unknown``) and correct identifications are not confusions."""
    classes = [c for c in table.columns if c != UNKNOWN]
    counts = table[classes].to_numpy(np.int64).copy()
    column_of = {name: j for j, name in enumerate(classes)}
    for i, name in enumerate(table.index):
        if name in column_of:
            counts[i, column_of[name]] = 0  # the diagonal: identified, not confused
    flat = np.flatnonzero(counts)
    flat = flat[np.argsort(-counts.ravel()[flat], kind="stable")][:count]
    rows, cols = np.unravel_index(flat, counts.shape)
    return pd.DataFrame({"true class": [str(table.index[i]) for i in rows], "taken for": [str(classes[j]) for j in cols],
                         "images": counts[rows, cols].astype(int)}, columns=["true class", "taken for", "images"])
