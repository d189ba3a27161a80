"""A radiometric dataset (16-bit centikelvin PNGs) and a run trained on it with a temperature window,
laid out for the dashboard tests like dashboard_fixtures.DashboardData."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboard_fixtures import DashboardData

from helpers import run_cli


@pytest.fixture(scope="session")
def thermal_dashboard_data(tmp_path_factory) -> DashboardData:
    """4 identities of centikelvin frames (a cup of tea in some test frames) and a 2-epoch run read through the window 28:38."""
    root = tmp_path_factory.mktemp("thermal_dashboard")
    data = root / "faces"
    run_cli("sample-data", str(data), "--format", "centikelvin-png", "--identities", "4", "--per-identity", "8",
            "--unknown-identities", "2", "--unknown-per-identity", "4", "--test-fraction", "0.25", "--seed", "3", "--hot-objects", "0.5")
    run = root / "runs" / "radiometric"
    run_cli("train", str(data / "train"), "--out", str(run), "--unit", "centikelvin", "--window", "28:38", "--epochs", "2", "--batch-size", "8")
    run_cli("represent", str(run), "--perplexity", "5")
    return DashboardData(data=data, run=run, runs_dir=root / "new_runs")


def a_test_frame(data: Path) -> Path:
    return sorted((data / "test").rglob("*.png"))[0]
