"""Shared fixtures: a tiny synthetic dataset and a run trained on it for two epochs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m siamese ARGS`` as a user would, from the repository root."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-m", "siamese", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"siamese {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def tree_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder``, by relative path (to prove nothing changed)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """4 known identities x 8 images (train/test) and 2 unknown ones, made by the generator."""
    from siamese.synthetic import write_sample_dataset

    out = tmp_path_factory.mktemp("data") / "faces"
    write_sample_dataset(out, identities=4, per_identity=8, unknown_identities=2, unknown_per_identity=4, test_fraction=0.25, seed=3)
    return out


@pytest.fixture(scope="session")
def tiny_run(tiny_data: Path, tmp_path_factory) -> Path:
    """A run trained for two epochs on ``tiny_data`` with representatives recorded."""
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    run_cli("train", str(tiny_data / "train"), "--out", str(run_dir), "--epochs", "2", "--batch-size", "8")
    run_cli("represent", str(run_dir), "--perplexity", "5")
    return run_dir
