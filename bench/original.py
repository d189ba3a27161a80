"""The original scripts' methods, re-implemented faithfully so they can be timed beside ours.

These are deliberately the slow ways: the pair-by-pair test at batch size 1, the O(n^2)
Python medoid search, and t-SNE on the raw 512-d embeddings. They exist only here.
"""

from __future__ import annotations

import time

import numpy as np


def pair_by_pair_test(model, images: np.ndarray, rep_images: np.ndarray, rep_labels: np.ndarray, n_classes: int, max_pairs: int) -> dict[str, float]:
    """The original siamese_test: the siamese model called once per (test image, representative) pair.

    Every pair is one ``model.predict([a[None], b[None]])`` call at batch size 1, then the
    per-class mean distance and the nearest class, as the original did. Only the first
    ``max_pairs`` pairs are run; the cost of all of them is extrapolated from those.

    Returns:
        pairs (all), measured_pairs, seconds_per_pair, seconds (extrapolated to all pairs).
    """
    total_pairs = len(images) * len(rep_images)
    measured = 0
    model.predict([images[:1], rep_images[:1]], verbose=0)  # warm-up, as the original's first call
    start = time.perf_counter()
    for image in images:
        distances = np.zeros(len(rep_images))
        for j, rep in enumerate(rep_images):
            distances[j] = float(model.predict([image[None], rep[None]], verbose=0)[0, 0])
            measured += 1
            if measured >= max_pairs:
                break
        if measured >= max_pairs:
            break
        per_class = [distances[rep_labels == c].mean() for c in range(n_classes)]
        int(np.argmin(per_class))
    per_pair = (time.perf_counter() - start) / measured
    return {"pairs": total_pairs, "measured_pairs": measured, "seconds_per_pair": per_pair, "seconds": per_pair * total_pairs}


def python_loop_medoids(points: np.ndarray, labels: np.ndarray, max_seconds: float) -> dict[str, float]:
    """The original representative search: per class, per point, a Python loop over every other point.

    The loop stops after ``max_seconds``; its cost, which grows with the sum over classes
    of n_c^2 distance evaluations, is then extrapolated from the evaluations done.

    Returns:
        distance_evaluations (all), measured_evaluations, seconds (extrapolated when cut short).
    """
    classes = np.unique(labels)
    total = int(sum(np.sum(labels == c) ** 2 for c in classes))
    done = 0
    start = time.perf_counter()
    for c in classes:
        members = points[labels == c]
        best_sum = np.inf
        for i in range(len(members)):
            summed = 0.0
            for j in range(len(members)):
                summed += np.linalg.norm(members[i] - members[j])
            done += len(members)
            best_sum = min(best_sum, summed)  # the original kept the argmin; the time is the same
            if time.perf_counter() - start > max_seconds:
                break
        if time.perf_counter() - start > max_seconds:
            break
    elapsed = time.perf_counter() - start
    return {"distance_evaluations": total, "measured_evaluations": done, "seconds": elapsed * total / done, "extrapolated": done < total}


def original_tsne(embeddings: np.ndarray, seed: int = 0) -> np.ndarray:
    """The original map: scikit-learn's default t-SNE straight on the 512-d embeddings (no PCA)."""
    from sklearn.manifold import TSNE

    return TSNE(n_components=2, random_state=seed).fit_transform(embeddings)
