"""Training on tf.distribute: MirroredStrategy over two logical CPU devices gives a normal, usable run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import siamese
from helpers import ROOT

# Logical devices must be configured before TensorFlow initializes its devices, so the
# training runs in a fresh interpreter that splits the CPU in two and then calls the CLI.
SCRIPT = """
import sys
from siamese.model.backend import tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from siamese.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow  # trains a network for two epochs under MirroredStrategy
def test_mirrored_training_on_two_cpus_gives_a_complete_run(tiny_data: Path, tmp_path: Path):
    run_dir = tmp_path / "mirrored"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    # 6 images per class, none held out for calibration: 2 go to validation, which then has same-class pairs to score
    args = ["train", str(tiny_data / "train"), "--out", str(run_dir), "--epochs", "2", "--batch-size", "8", "--validation-split", "0.34", "--calibration-split", "0", "--strategy", "mirrored"]
    result = subprocess.run([sys.executable, "-c", SCRIPT, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr

    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "complete"
    assert info["epochs_done"] == 2
    assert info["distribution"] == {"strategy": "MirroredStrategy", "replicas": 2}
    assert info["config"]["n_validation"] > 0
    run = siamese.load_run(run_dir)
    assert len(run.history()) == 2 and "val_loss" in run.history().columns
    record = siamese.represent(run, perplexity=5)
    assert len(record["items"]) == len(run.class_names)
    result = siamese.evaluate(run, tiny_data / "test")
    assert result.metrics()["n_test"] == sum(1 for _ in (tiny_data / "test").rglob("*.png"))
