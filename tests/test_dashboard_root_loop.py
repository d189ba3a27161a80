"""A dashboard root that is a symbolic link loop is skipped with one sentence on the page, naming
the folder but never the server's absolute path; every page still opens."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import roots  # the dashboard's own helper module, imported as its pages do (pytest's pythonpath has dashboard/)
from dashboard_fixtures import DashboardData, crashed, open_page, texts

from siamese.data.paths import inside


@pytest.fixture()
def loop(tmp_path: Path) -> Path:
    folder = tmp_path / "server-secret-place"
    folder.mkdir()
    os.symlink(folder / "faces-loop", folder / "faces-loop")  # a link to itself
    return folder / "faces-loop"


def test_a_looping_root_is_skipped_by_the_helpers(loop: Path, monkeypatch):
    monkeypatch.setenv("SIAMESE_DATA_ROOTS", str(loop))
    monkeypatch.setenv("SIAMESE_RUN_ROOTS", str(loop))
    monkeypatch.setenv("SIAMESE_RUNS_DIR", str(loop))
    assert loop not in roots.data_roots() and roots.runs_root() == roots.REPO_ROOT / "runs"
    assert not roots.within_roots(loop, roots.data_roots()) and not inside(loop / "x", loop)
    assert len(roots.root_problems()) == 3 and all("faces-loop set in the SIAMESE_" in p for p in roots.root_problems())
    assert not any(str(loop.parent) in p for p in roots.root_problems())


def test_every_page_opens_with_a_looping_root(dashboard_env: DashboardData, loop: Path, monkeypatch):
    monkeypatch.setenv("SIAMESE_DATA_ROOTS", os.pathsep.join([str(dashboard_env.data), str(loop)]))
    at = open_page()
    for page in ("views/home.py", "views/data.py", "views/embeddings.py", "views/evaluate.py", "views/train.py"):
        at.switch_page(page).run()
        assert not crashed(at), (page, crashed(at))
        shown = texts(at)
        said = "faces-loop set in the SIAMESE_DATA_ROOTS setting is a symbolic link that leads back to itself"
        assert shown.count(said) == 1, page  # once per page, however often the roots are read
        assert str(loop.parent) not in shown and "server-secret-place" not in shown
