"""Fixtures for the dashboard tests: a private copy of the tiny dataset and run, and the env that points the dashboard at them.

The copy keeps the run and its data at the same relative places (run.json stores the
data path relative to the run folder), so the dashboard may write into the run
(representatives, cached maps) without touching the session's shared tiny run.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "dashboard"


@dataclass(frozen=True)
class DashboardData:
    """Where the dashboard under test finds its data.

    Attributes:
        data: the dataset root with train/, test/ and unknown/.
        run: a trained run with representatives.
        runs_dir: where the dashboard puts new runs and splits.
    """

    data: Path
    run: Path
    runs_dir: Path

    def env(self) -> dict[str, str]:
        """Environment variables that point the dashboard at this data only."""
        return {"SIAMESE_RUN_ROOTS": str(self.run), "SIAMESE_DATA_ROOTS": str(self.data), "SIAMESE_RUNS_DIR": str(self.runs_dir)}


@pytest.fixture(scope="session")
def dashboard_data(tiny_data: Path, tiny_run: Path, tmp_path_factory) -> DashboardData:
    """A copy of the tiny dataset and run, with the same layout relative to each other."""
    common = Path(os.path.commonpath([tiny_data.resolve(), tiny_run.resolve()]))
    dest = tmp_path_factory.mktemp("dashboard")
    data = dest / tiny_data.resolve().relative_to(common)
    run = dest / tiny_run.resolve().relative_to(common)
    shutil.copytree(tiny_data, data)
    shutil.copytree(tiny_run, run)
    return DashboardData(data=data, run=run, runs_dir=dest / "new_runs")


@pytest.fixture()
def dashboard_env(dashboard_data: DashboardData, monkeypatch) -> DashboardData:
    """Point an in-process dashboard (AppTest) at the copied data."""
    for name, value in dashboard_data.env().items():
        monkeypatch.setenv(name, value)
    return dashboard_data
