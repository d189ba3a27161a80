"""2-D maps of embeddings: t-SNE after PCA, Barnes-Hut for small maps and FFT-accelerated for large ones."""

from __future__ import annotations

import os

import numpy as np

from siamese.errors import SET, Remedy, SiameseError


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
    # deferred: scikit-learn takes a second to import and only maps need it
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    n = len(embeddings)
    if n < 4:
        raise SiameseError(f"a t-SNE map needs at least 4 images, got {n}", Remedy(SET, "method", "medoid", before="add images or "))
    x = embeddings.astype(np.float64)
    if x.shape[1] > 50 and n > 50:
        x = PCA(n_components=50, random_state=seed).fit_transform(x)
    perplexity = float(min(perplexity, max((n - 1) / 3.0, 1.0)))
    if n >= FFT_FROM:
        return fft_tsne(x, perplexity, seed, tsne_iterations(n))
    tsne = TSNE(
        n_components=2, perplexity=perplexity, init="pca", random_state=seed, learning_rate="auto", max_iter=tsne_iterations(n), angle=0.8, n_jobs=-1
    )
    return tsne.fit_transform(x).astype(np.float32)


def fft_tsne(x: np.ndarray, perplexity: float, seed: int, iterations: int) -> np.ndarray:
    """openTSNE's FFT-accelerated t-SNE: PCA initialisation, 250 exaggerated steps, then the rest."""
    # deferred: openTSNE (and its FFT code) is only needed for large maps
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
