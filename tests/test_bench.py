"""The benchmark runs end to end on tiny sizes, and the fast paths it measures compute the same numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

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
                                      "map_10000_seconds", "threshold_change_seconds", "memory_growth_kib_per_image",
                                      "ours_vs_plain_oneDNN", "ours_vs_plain_Eigen"}
    assert "| Evaluate 24 test images x 20 classes |" in result.stdout
