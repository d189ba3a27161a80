"""The benchmark runs end to end on tiny sizes, and the fast paths it measures compute the same numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import ROOT
from siamese.runs.store import load_run

SECTION_KEYS = {
    "evaluation": {"rows"},
    "embedding": {"images_per_second", "gflops", "limit_gflops", "fraction_of_limit"},
    "training": {"ours", "original", "original_final_test_pair_accuracy", "time_fraction_of_original", "throughput_ratio"},
    "maps": {"rows"},
    "dashboard": {"threshold_change_package_seconds", "cached_map"},
    "memory": {"rows", "growth_kib_per_image"},
}


@pytest.mark.slow  # runs the benchmark (tiny sizes, still a minute or more)
def test_tiny_bench_writes_every_section(tmp_path: Path):
    out = tmp_path / "tiny.json"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "SIAMESE_BENCH_CACHE": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert set(report["sections"]) == set(SECTION_KEYS)
    for name, keys in SECTION_KEYS.items():
        assert keys <= set(report["sections"][name]), name
    assert report["machine"]["cores"] >= 1 and report["machine"]["tensorflow"]
    assert [row["test_images"] for row in report["sections"]["evaluation"]["rows"]] == [24, 48]
    assert [row["points"] for row in report["sections"]["maps"]["rows"]] == [100, 200]
    assert set(report["targets"]) == {"evaluation_speedup_240", "embedding_fraction_of_limit", "training_time_fraction",
                                      "map_10000_seconds", "threshold_change_seconds", "memory_growth_kib_per_image"}
    assert "| Evaluate 24 test images x 20 classes |" in result.stdout


def test_embed_files_and_embed_match_the_keras_model(tiny_run: Path, tiny_data: Path):
    from siamese.data.folders import load_folder

    run = load_run(tiny_run)
    test = load_folder(tiny_data / "test", run.input_shape, run.class_names)
    expected = run.embedding_network().predict(test.images, verbose=0)
    np.testing.assert_allclose(run.embed(test.images, batch_size=3), expected, atol=1e-6)
    embeddings, kept, skipped = run.embed_files(test.paths, batch_size=3)  # several decode batches in flight
    np.testing.assert_allclose(embeddings, expected, atol=1e-6)
    assert kept.tolist() == list(range(len(test.paths))) and skipped == []
    reduced, _, _ = run.embed_files(test.paths, batch_size=3, reduce=lambda e: e[:, :2] * 2)
    np.testing.assert_allclose(reduced, expected[:, :2] * 2, atol=1e-6)


def test_pair_pipeline_gives_the_pairs_of_make_pairs():
    from siamese.training.pairs import make_pairs
    from siamese.training.single_process import pair_dataset

    labels = np.repeat(np.arange(3), 4)
    images = np.arange(len(labels), dtype=np.float32)[:, None, None, None] * np.ones((1, 2, 2, 1), np.float32)
    rows = np.arange(len(labels))
    left, right, same = make_pairs(labels, np.random.default_rng(7))
    batches = list(pair_dataset(images, rows, labels, batch_size=5, seed=7, resample=False).as_numpy_iterator())
    got_left = np.concatenate([a[:, 0, 0, 0] for (a, _), _ in batches])
    got_right = np.concatenate([b[:, 0, 0, 0] for (_, b), _ in batches])
    got_same = np.concatenate([y for _, y in batches])
    np.testing.assert_array_equal(got_left, left)
    np.testing.assert_array_equal(got_right, right)
    np.testing.assert_array_equal(got_same, same)
    assert [len(y) for _, y in batches] == [5] * (len(same) // 5) + ([len(same) % 5] if len(same) % 5 else [])
