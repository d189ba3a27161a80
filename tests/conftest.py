"""Shared fixtures: a tiny synthetic dataset and a run trained on it for two epochs."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import rule_variant, run_cli

# The dashboard's and the thermal data's fixtures, shared with every test module from here.
pytest_plugins = ["dashboard_fixtures", "thermal_fixtures"]


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """4 known identities x 8 images (train/test) and 2 unknown ones, made by the generator."""
    from siamese.sample.dataset import write_sample_dataset

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


@pytest.fixture(scope="session")
def tiny_run_medoid(tiny_run: Path, tmp_path_factory) -> Path:
    """``tiny_run``'s network deciding by the nearest of 2 t-SNE medoids per class: a second run to compare with."""
    return rule_variant(tiny_run, tmp_path_factory.mktemp("runs") / "tiny_medoid")
