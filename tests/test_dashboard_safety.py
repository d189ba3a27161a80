"""The dashboard stays inside its roots and leaves every dataset byte-identical."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import roots  # the dashboard's own helper module, imported as its pages do (pytest's pythonpath has dashboard/)
from dashboard_fixtures import DashboardData, crashed, open_page, png_bytes, texts

from helpers import tree_digest, wait_until
from siamese.runs.jobs import ACTIVE_STATES, list_jobs


@pytest.mark.parametrize(
    "candidate, inside",
    [
        ("{root}/train", True),
        ("{root}", True),
        ("{root}/../", False),
        ("{root}/train/../../..", False),
        ("/etc", False),
        ("/", False),
        ("{root}/escape", False),  # a symbolic link inside the root that points outside it
        ("{root}-sibling", False),  # a name that merely starts like the root
    ],
    ids=["inside", "the-root", "parent", "dot-dot-out", "absolute-etc", "filesystem-root", "symlink-out", "prefix-sibling"],
)
def test_within_roots_resolves_dot_dot_and_links(tmp_path: Path, candidate: str, inside: bool):
    root = tmp_path / "root"
    (root / "train").mkdir(parents=True)
    (tmp_path / "root-sibling").mkdir()
    os.symlink("/etc", root / "escape")
    assert roots.within_roots(candidate.format(root=root), [root]) is inside


def test_roots_from_the_config_file(tmp_path: Path, monkeypatch):
    config = tmp_path / "conf" / "dashboard.toml"
    config.parent.mkdir()
    config.write_text('data_roots = ["../thermal", "/srv/faces"]\nrun_roots = ["../models"]\n')
    monkeypatch.setenv("SIAMESE_DASHBOARD_CONFIG", str(config))
    assert (tmp_path / "thermal").resolve() in roots.data_roots()
    assert Path("/srv/faces") in roots.data_roots()
    assert (tmp_path / "models").resolve() in roots.run_roots()


@pytest.mark.parametrize("outside", ["/etc", "{data}/../../..", "/"], ids=["absolute", "dot-dot", "filesystem-root"])
def test_a_session_cannot_point_pages_outside_the_roots(dashboard_env: DashboardData, outside: str):
    path = outside.format(data=dashboard_env.data)
    at = open_page()
    # The remembered choices (a browser can only send an index into the pickers' options).
    for key in ("run", "dataset"):
        at.session_state[key] = path
    for page in ("views/home.py", "views/data.py", "views/embeddings.py", "views/evaluate.py"):
        at.switch_page(page).run()
        assert not crashed(at), page
        assert at.session_state["run"] == str(dashboard_env.run.resolve())
        assert roots.within_roots(at.session_state["dataset"], [dashboard_env.data, dashboard_env.runs_dir])
        assert "/etc" not in texts(at)


def test_every_dashboard_action_leaves_the_dataset_byte_identical(dashboard_env: DashboardData):
    before = tree_digest(dashboard_env.data)
    at = open_page("data.py")
    at.segmented_control(key="palette").set_value("inferno").run()
    at.button[0].click().run()  # seeded train/test split (copies)
    assert not crashed(at) and at.success, texts(at)

    at.switch_page("views/embeddings.py").run()
    at.slider(key=f"perplexity:{dashboard_env.run.resolve()}").set_value(4.0).run()
    at.checkbox[0].check().run()  # show test images on the map
    assert not crashed(at), texts(at)

    at.switch_page("views/evaluate.py").run()
    at.slider[0].set_value(0.0).run()
    at.selectbox(key="eval_cell").select_index(0).run()
    assert not crashed(at), texts(at)

    at.switch_page("views/probe.py").run()
    image = sorted((dashboard_env.data / "unknown").rglob("*.png"))[0]
    at.file_uploader[0].upload(image.name, image.read_bytes(), "image/png").run()
    at.file_uploader[0].upload("grey.png", png_bytes(), "image/png").run()
    assert not crashed(at), texts(at)

    at.switch_page("views/train.py").run()
    at.selectbox(key="train_data").set_value(str((dashboard_env.data / "train").resolve()))
    at.number_input[0].set_value(1)
    at.number_input[1].set_value(8)
    at.button[0].click().run()
    # Wait for the training's state in its folder (seconds alone, minutes on a busy machine).
    wait_until(lambda: not any(job.state in ACTIVE_STATES for job in list_jobs(dashboard_env.runs_dir)), 600, "the training did not finish")
    assert all(job.state == "complete" for job in list_jobs(dashboard_env.runs_dir))

    assert tree_digest(dashboard_env.data) == before  # same files, same bytes, nothing added
