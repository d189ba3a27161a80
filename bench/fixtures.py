"""What every section measures on: a reference run with 20 classes, and synthetic image folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

SHAPE = (60, 80, 3)
N_CLASSES = 20
POOL_PER_CLASS = 10
CACHE = Path(os.environ.get("SIAMESE_BENCH_CACHE", "/tmp/siamese-bench"))


def done(folder: Path) -> Path:
    """The marker, beside ``folder``, that it was made completely (inside, it would be a stray file)."""
    return folder.with_name(folder.name + ".complete")


def _pool(root: Path) -> Path:
    """``POOL_PER_CLASS`` rendered faces for each of ``N_CLASSES`` people, made once by ``siamese.sample.dataset``."""
    pool = root / f"pool-{N_CLASSES}x{POOL_PER_CLASS}"
    if not done(pool).exists():
        from siamese.sample.dataset import write_sample_dataset

        shutil.rmtree(pool, ignore_errors=True)
        write_sample_dataset(pool, identities=N_CLASSES, per_identity=POOL_PER_CLASS + 1, unknown_identities=0, test_fraction=0.09)
        done(pool).touch()
    return pool / "train"


def _link_folder(folder: Path, n_images: int, pool: Path, prefix: str | None = None) -> Path:
    """Fill ``folder`` with ``n_images`` hard links to the pool's faces, spread over its classes."""
    if done(folder).exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    class_dirs = sorted(d for d in pool.iterdir() if d.is_dir())
    for c, class_dir in enumerate(class_dirs):
        sources = sorted(class_dir.iterdir())
        name = class_dir.name if prefix is None else f"{prefix}_{c:02d}"
        target = folder / name
        target.mkdir(parents=True)
        for i in range(c, n_images, len(class_dirs)):
            os.link(sources[(i // len(class_dirs)) % len(sources)], target / f"{name}_{i:06d}.png")
    done(folder).touch()
    return folder


def image_folder(n_images: int, root: Path = CACHE) -> Path:
    """A folder-per-class dataset of ``n_images`` 60x80 synthetic thermal faces of 20 people.

    Rendering 50,000 faces would take longer than what is measured, so the pool of
    rendered faces is reused through hard links under distinct names: every file is
    read and decoded like any other, which is all that evaluation and memory measure.
    Kept under ``root`` and reused by later runs.
    """
    return _link_folder(root / f"faces-{n_images}", n_images, _pool(root))


def reference_run(n_test: int, n_unknown: int, root: Path = CACHE) -> Path:
    """A complete run of the reference 60x80x3 network on 20 synthetic people, with representatives.

    Its data folder has train/ (the rendered pool), test/ (``n_test`` images) and
    unknown/ (``n_unknown`` images under other names) side by side, as the dashboard
    expects. Trained for one epoch: the benchmark times the network, not its accuracy.
    """
    data = root / f"dataset-{n_test}-{n_unknown}"
    run_dir = root / f"run-{n_test}-{n_unknown}"
    if done(run_dir).exists():
        return run_dir
    import siamese

    pool = _pool(root)
    _link_folder(data / "train", N_CLASSES * POOL_PER_CLASS, pool)
    _link_folder(data / "test", n_test, pool)
    _link_folder(data / "unknown", n_unknown, pool, prefix="stranger")
    shutil.rmtree(run_dir, ignore_errors=True)
    config = siamese.TrainConfig(train_dir=str(data / "train"), epochs=1, batch_size=32, input_shape=list(SHAPE))
    run = siamese.train(config, run_dir, verbose=0)
    siamese.represent(run, method="medoid", perplexity=5)
    done(run_dir).touch()
    return run_dir


def random_images(n: int, seed: int = 0) -> np.ndarray:
    """``n`` random 60x80x3 float32 images in [0, 1]: timing does not depend on pixel values."""
    return np.random.default_rng(seed).random((n, *SHAPE), dtype=np.float32)


def clustered_embeddings(n: int, n_classes: int = N_CLASSES, dim: int = 512, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sigmoid-range embeddings in ``n_classes`` Gaussian clusters, and their labels."""
    rng = np.random.default_rng(seed)
    centers = rng.random((n_classes, dim))
    labels = np.arange(n) % n_classes
    points = np.clip(centers[labels] + rng.normal(0.0, 0.08, (n, dim)), 0.0, 1.0)
    return points.astype(np.float32), labels


def run_data(run_dir: Path) -> Path:
    """The dataset folder (train/, test/, unknown/) of a run made by ``reference_run``."""
    import siamese

    return siamese.load_run(run_dir).train_dir.parent


def scale_run(identities: int, per_identity: int, unknown_identities: int, root: Path = CACHE) -> Path:
    """A run on a generated set of ``identities`` people x ``per_identity`` images (80% train,
    20% test) and ``unknown_identities`` strangers x 10, with representatives, for the
    dashboard at scale (200 identities and 20,000 images in the full profile).

    Made with ``python -m siamese sample-data``'s generator and trained for one epoch: the
    benchmark times the pages, not the network's accuracy. Kept under ``root``.
    """
    name = f"scale-{identities}x{per_identity}-{unknown_identities}"
    data, run_dir = root / name, root / f"run-{name}"
    if done(run_dir).exists():
        return run_dir
    import siamese
    from siamese.sample.dataset import write_sample_dataset

    if not done(data).exists():
        shutil.rmtree(data, ignore_errors=True)
        write_sample_dataset(data, identities=identities, per_identity=per_identity, unknown_identities=unknown_identities,
                             unknown_per_identity=10, test_fraction=0.2, seed=0)
        done(data).touch()
    shutil.rmtree(run_dir, ignore_errors=True)
    config = siamese.TrainConfig(train_dir=str(data / "train"), epochs=1, batch_size=32, input_shape=list(SHAPE))
    run = siamese.train(config, run_dir, verbose=0)
    siamese.represent(run)
    done(run_dir).touch()
    return run_dir
