"""The benchmark's model-side sections: evaluation, embedding, training, maps and memory.

Each measures ours and the original side by side and returns plain numbers; the
dashboard's section is in ``bench/dashboard_bench.py``.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

import siamese
from bench import fixtures, original
from bench.machine import best_time, fp32_limit
from siamese.data.folders import load_folder
from siamese.maps.representatives import project_tsne
from siamese.scoring.distances import class_distances, class_medoids
from siamese.scoring.metrics import decide
from siamese.training.pairs import make_pairs

ROOT = Path(__file__).resolve().parents[1]


def evaluation(run_dir: Path, sizes: list[int], max_pairs: int) -> dict[str, Any]:
    """The original's pair-by-pair test against ours (embed once, numpy distances), per test set size.

    Both classify the same random images against 20 representative images. Ours also
    embeds the representatives inside the timing, although a run keeps them stored.
    """
    run = siamese.load_run(run_dir)
    model = run.siamese_model()
    rep_images = fixtures.random_images(fixtures.N_CLASSES, seed=1)
    rep_labels = np.arange(fixtures.N_CLASSES)
    rows = []
    for n in sizes:
        images = fixtures.random_images(n)

        def ours(images: np.ndarray = images) -> None:
            dist = class_distances(run.embed(images), run.embed(rep_images), rep_labels, fixtures.N_CLASSES)
            decide(dist, 0.2)

        ours()  # warm-up: traces the tf.function for these batch shapes
        seconds = best_time(ours, 3 if n <= 1000 else 1)
        slow = original.pair_by_pair_test(model, images, rep_images, rep_labels, fixtures.N_CLASSES, max_pairs)
        rows.append({
            "test_images": n, "classes": fixtures.N_CLASSES, "ours_seconds": seconds, "original_seconds": slow["seconds"],
            "original_seconds_per_pair": slow["seconds_per_pair"], "original_pairs": slow["pairs"],
            "original_measured_pairs": slow["measured_pairs"], "original_extrapolated": slow["measured_pairs"] < slow["pairs"],
            "speedup": slow["seconds"] / seconds,
        })
    return {"rows": rows}


def embedding(run_dir: Path, n_images: int, limit_size: int, levers: bool) -> dict[str, Any]:
    """``run.embed`` throughput at large N as a share of the FP32 limit measured just before and after.

    With ``levers``, also the throughput of each step from the plain Keras call to ours
    (siamese/model/fast_inference.py), of XLA compilation, and of other batch sizes. ``limit_size`` is the side of the
    square matrices of the limit's matmul (4096 reaches the BLAS peak; tiny runs use less).
    """
    from siamese.model.network import count_macs  # deferred: siamese.model.network imports TensorFlow, which takes seconds to load

    run = siamese.load_run(run_dir)
    network = run.embedding_network()
    flop_per_image = 2 * count_macs(network)
    images = fixtures.random_images(n_images)
    limit_before = fp32_limit(limit_size)
    run.embed(images[:2048])  # warm-up: traces the full and the last, partial batch shapes
    seconds = best_time(lambda: run.embed(images), 5)
    limit_after = fp32_limit(limit_size)
    limit = max(limit_before, limit_after)
    rate = n_images / seconds
    result: dict[str, Any] = {
        "images": n_images, "images_per_second": rate, "mflop_per_image": flop_per_image / 1e6,
        "gflops": rate * flop_per_image / 1e9, "limit_gflops": limit, "limit_gflops_before": limit_before,
        "limit_gflops_after": limit_after, "fraction_of_limit": rate * flop_per_image / 1e9 / limit,
    }
    if levers:
        # deferred: siamese.model.backend and siamese.model.fast_inference import TensorFlow, which takes seconds to load
        from siamese.model.backend import tf
        from siamese.model.fast_inference import Embedder

        plain = Embedder(network, phase_split=False)
        split = Embedder(network)
        keras_fn = tf.function(lambda x: network(x, training=False), reduce_retracing=True)
        xla_fn = tf.function(lambda x: network(x, training=False), jit_compile=True, reduce_retracing=True)
        variants = {}
        for name, fn, batch in [
            ("before: the Keras model in a tf.function, TensorFlow copies each batch (batch 1024)", keras_fn, 1024),
            ("before, compiled with XLA jit_compile (not used)", xla_fn, 1024),
            ("+ each batch handed over without a copy (aligned buffer, DLPack)", plain, 1024),
            ("+ phase-split first layer = ours, batch 256", split, 256),
            ("+ phase-split first layer = ours, batch 1024 (the default)", split, 1024),
            ("+ phase-split first layer = ours, batch 4096", split, 4096),
        ]:
            count = min(n_images, 2048) if fn is xla_fn else min(n_images, max(4 * batch, 8192))

            def pass_(fn=fn, batch=batch, count=count) -> None:
                for i in range(0, count, batch):
                    np.asarray(fn(images[i : i + batch]))

            pass_()
            variants[name] = count / best_time(pass_, 3) * flop_per_image / 1e9 / limit
        result["levers_fraction_of_limit"] = variants
    return result


def _pair_accuracy_callback(test_dir: Path, input_shape: tuple[int, int, int]):
    """A Keras callback recording, per epoch, the training wall time and the pair accuracy on fixed held-out pairs.

    The accuracy is measured outside the training clock: its time is subtracted.
    """
    # deferred: TensorFlow takes seconds to load, and a Keras callback class can only be defined once it is
    from siamese.model.backend import keras
    from siamese.model.network import ORIGINAL_PAIR_THRESHOLD

    test = load_folder(test_dir, input_shape)
    left, right, same = make_pairs(test.labels, np.random.default_rng(123))

    class PairAccuracy(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started, self.excluded, self.epochs = time.perf_counter(), 0.0, []

        def on_epoch_end(self, epoch, logs=None):
            clock = time.perf_counter() - self.started - self.excluded
            start = time.perf_counter()
            emb = self.model.get_layer("embedding").predict(test.images, batch_size=256, verbose=0)
            distance = np.sqrt(np.maximum(((emb[left] - emb[right]) ** 2).sum(axis=1), 1e-7))
            accuracy = float(((distance < ORIGINAL_PAIR_THRESHOLD) == (same == 1)).mean())
            self.epochs.append({"epoch": epoch + 1, "seconds": clock, "test_pair_accuracy": accuracy, "train_pair_accuracy": float((logs or {}).get("pair_accuracy", np.nan))})
            self.excluded += time.perf_counter() - start

    return PairAccuracy()


def _train(data: Path, batch_size: int, epochs: int, workdir: Path, name: str, **settings: Any) -> dict[str, Any]:
    """Train with the package's defaults, or with ``settings`` (TrainConfig fields) instead."""
    train_dir, test_dir = data / "train", data / "test"
    shape = fixtures.SHAPE
    recorder = _pair_accuracy_callback(test_dir, shape)
    config = siamese.TrainConfig(train_dir=str(train_dir), epochs=epochs, batch_size=batch_size, input_shape=list(shape), **settings)
    start = time.perf_counter()
    run = siamese.train(config, workdir / name, verbose=0, extra_callbacks=[recorder])
    total = time.perf_counter() - start
    pairs_per_epoch = 2 * (run.config.n_train - len(run.class_names))
    train_seconds = recorder.epochs[-1]["seconds"]
    return {"batch_size": batch_size, "learning_rate": run.config.learning_rate, "precision": run.config.precision, "epochs": epochs, "pairs_per_epoch": pairs_per_epoch, "wall_seconds": total,
            "train_seconds": train_seconds, "pairs_per_second": pairs_per_epoch * epochs / train_seconds, "per_epoch": recorder.epochs}


def training(data: Path, epochs: int, original_epochs: int, our_batch: int) -> dict[str, Any]:
    """Ours (batch ``our_batch``) against the original's setting (batch 5) on the same data and epochs.

    The original runs ``original_epochs`` epochs (all ``epochs`` in a full run); its wall
    time for ``epochs`` is extrapolated from them when fewer, and its accuracy is then
    the one reached at its last measured epoch.
    """
    with tempfile.TemporaryDirectory(prefix="siamese-bench-train-") as tmp:
        ours = _train(data, our_batch, epochs, Path(tmp), "ours")
        # The original: batch 5, Adam 0.0008, float32 (it had no mixed precision).
        slow = _train(data, 5, original_epochs, Path(tmp), "original", learning_rate=0.0008, precision="float32")
    original_seconds = slow["train_seconds"] * epochs / original_epochs
    target_accuracy = slow["per_epoch"][-1]["test_pair_accuracy"]
    reached = next((e for e in ours["per_epoch"] if e["test_pair_accuracy"] >= target_accuracy), None)
    return {
        "data": str(data), "epochs": epochs, "ours": ours, "original": slow,
        "original_seconds_for_all_epochs": original_seconds, "original_extrapolated": original_epochs < epochs,
        "original_final_test_pair_accuracy": target_accuracy,
        "ours_final_test_pair_accuracy": ours["per_epoch"][-1]["test_pair_accuracy"],
        "ours_epoch_reaching_original": reached["epoch"] if reached else None,
        "ours_seconds_to_original_accuracy": reached["seconds"] if reached else None,
        "time_fraction_of_original": reached["seconds"] / original_seconds if reached else None,
        "throughput_ratio": ours["pairs_per_second"] / slow["pairs_per_second"],
    }


def maps(sizes: list[int], original_tsne_max: int, medoid_seconds: float) -> dict[str, Any]:
    """Map plus representatives, ours (``project_tsne`` + ``class_medoids``) against the original.

    The original: scikit-learn's default t-SNE on the raw 512-d embeddings (measured up
    to ``original_tsne_max`` points, extrapolated as n log n beyond), and its Python-loop
    medoid search (cut after ``medoid_seconds`` and extrapolated as n^2 per class).
    """
    rows, measured_tsne = [], None
    for n in sizes:
        points, labels = fixtures.clustered_embeddings(n)
        start = time.perf_counter()
        xy = project_tsne(points)
        tsne_seconds = time.perf_counter() - start
        start = time.perf_counter()
        class_medoids(xy, labels)
        medoid_seconds_ours = time.perf_counter() - start
        loop = original.python_loop_medoids(xy, labels, medoid_seconds)
        if n <= original_tsne_max:
            start = time.perf_counter()
            original.original_tsne(points)
            measured_tsne = (n, time.perf_counter() - start)
            original_tsne_seconds, tsne_extrapolated = measured_tsne[1], False
        else:
            base_n, base_seconds = measured_tsne if measured_tsne else (n, float("nan"))
            original_tsne_seconds, tsne_extrapolated = base_seconds * (n * np.log(n)) / (base_n * np.log(base_n)), True
        ours_total = tsne_seconds + medoid_seconds_ours
        original_total = original_tsne_seconds + loop["seconds"]
        rows.append({
            "points": n, "ours_tsne_seconds": tsne_seconds, "ours_medoid_seconds": medoid_seconds_ours, "ours_seconds": ours_total,
            "original_tsne_seconds": original_tsne_seconds, "original_tsne_extrapolated": tsne_extrapolated,
            "original_medoid_seconds": loop["seconds"], "original_medoid_extrapolated": loop["extrapolated"],
            "original_seconds": original_total, "speedup": original_total / ours_total, "medoid_speedup": loop["seconds"] / medoid_seconds_ours,
        })
    return {"rows": rows}


def _peak_rss(command: list[str]) -> tuple[float, float]:
    """Peak resident memory (MiB) and wall time (s) of a command, run under a fresh Python parent.

    RUSAGE_CHILDREN reports the largest child ever waited for, so each command gets a
    parent of its own, whose only child it is.
    """
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", probe, *command], cwd=ROOT, capture_output=True, text=True, check=True)
    kib, seconds = out.stdout.split()
    return int(kib) / 1024, float(seconds)


def memory(run_dir: Path, sizes: list[int]) -> dict[str, Any]:
    """Peak RSS of ``python -m siamese evaluate RUN TEST --json`` as the test set grows."""
    rows = []
    for n in sizes:
        folder = fixtures.image_folder(n)
        rss, seconds = _peak_rss([sys.executable, "-m", "siamese", "evaluate", str(run_dir), str(folder), "--json"])
        rows.append({"images": n, "peak_rss_mib": rss, "seconds": seconds, "images_per_second": n / seconds})
    growth = rows[-1]["peak_rss_mib"] - rows[0]["peak_rss_mib"]
    per_image = growth / (rows[-1]["images"] - rows[0]["images"]) * 1024 if len(rows) > 1 else 0.0
    return {"rows": rows, "growth_mib": growth, "growth_kib_per_image": per_image, "self_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
