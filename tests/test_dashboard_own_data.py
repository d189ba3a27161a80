"""Own data first: the dataset picker follows the run, a run's own test set is the default, a folder of
other classes is offered as the unknown set, and messages speak of the dashboard with relative paths."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dashboard_fixtures import DASHBOARD, DashboardData, crashed, open_page, texts

import siamese
from helpers import DEMO_RUN
from siamese.errors import CLI_WORDS, REPRESENT, SET, Remedy
from siamese.limits import check_input_shape
from siamese.maps.tsne import project_tsne

# A command-line option in a message (--unknown, --out ...), and a server path shown as it is.
CLI_FLAG = re.compile(r"(?<![\w-])--[a-z][\w-]*")


@pytest.fixture()
def dashboard_modules(monkeypatch):
    """The dashboard's helper modules importable as the pages import them (dashboard/ on the path)."""
    monkeypatch.syspath_prepend(str(DASHBOARD))
    for name in ("roots", "messages"):
        sys.modules.pop(name, None)
    import messages
    import roots

    return roots, messages


def copy_run(source: Path, dest: Path, train_dir: Path) -> Path:
    """A copy of a trained run whose run.json says it was trained on ``train_dir``."""
    shutil.copytree(source, dest)
    info = json.loads((dest / "run.json").read_text())
    info["config"]["train_dir"] = str(train_dir.resolve())
    (dest / "run.json").write_text(json.dumps(info))
    return dest


@pytest.fixture()
def two_datasets(dashboard_env: DashboardData, tmp_path: Path, monkeypatch) -> dict[str, Path]:
    """Besides the tiny run and its data: a run trained on another dataset ("mine", under a second
    data root) and a run whose data lies outside every root ("lost")."""
    mine = tmp_path / "own" / "mine"
    for part in ("train", "test"):
        for class_dir in sorted((dashboard_env.data / part).iterdir())[:2]:
            shutil.copytree(class_dir, mine / part / f"my_{class_dir.name}")
    runs = tmp_path / "runs"
    other = copy_run(dashboard_env.run, runs / "other", mine / "train")
    lost = copy_run(dashboard_env.run, runs / "lost", tmp_path / "elsewhere" / "train")
    monkeypatch.setenv("SIAMESE_RUN_ROOTS", f"{dashboard_env.run}:{runs}")
    monkeypatch.setenv("SIAMESE_DATA_ROOTS", f"{dashboard_env.data}:{tmp_path / 'own'}")
    return {"mine": mine, "other": other, "lost": lost}


def test_the_dataset_picker_follows_the_chosen_run(dashboard_env: DashboardData, two_datasets: dict[str, Path]):
    at = open_page()
    dataset = at.sidebar.selectbox(key="_dataset_picker")
    assert dataset.value == str((dashboard_env.data / "train").resolve())  # the tiny run's own data

    at.sidebar.selectbox(key="_run_picker").set_value(str(two_datasets["other"].resolve())).run()
    assert at.sidebar.selectbox(key="_dataset_picker").value == str((two_datasets["mine"] / "train").resolve())
    assert "mine/train" in texts(at) and str(two_datasets["mine"]) not in texts(at)  # relative to its root

    # A run whose data is under no root: the picker shows none, never an unrelated dataset.
    at.sidebar.selectbox(key="_run_picker").set_value(str(two_datasets["lost"].resolve())).run()
    assert at.sidebar.selectbox(key="_dataset_picker").value is None
    at.switch_page("views/data.py").run()
    assert not crashed(at) and not at.error
    assert "Choose one in the sidebar's Dataset picker" in texts(at)


def test_evaluate_opens_on_the_runs_own_test_set_or_on_none(dashboard_env: DashboardData, two_datasets: dict[str, Path]):
    at = open_page("evaluate.py")
    run = dashboard_env.run.resolve()
    assert at.selectbox(key=f"eval_test:{run}").value == str((dashboard_env.data / "test").resolve())
    assert at.selectbox(key=f"eval_unknown:{run}").value == str((dashboard_env.data / "unknown").resolve())

    # The lost run has no test set beside its data: nothing is preselected, and the page says what to choose.
    lost = two_datasets["lost"].resolve()
    at.sidebar.selectbox(key="_run_picker").set_value(str(lost)).run()
    assert not crashed(at) and not at.error, texts(at)
    assert at.selectbox(key=f"eval_test:{lost}").value is None
    assert "choose a test set with its classes in the Test set picker" in texts(at)
    assert not CLI_FLAG.search(texts(at)) and str(two_datasets["lost"].parent) not in texts(at)


def test_a_folder_of_other_classes_is_offered_as_the_unknown_set(dashboard_env: DashboardData):
    at = open_page("evaluate.py")
    run = dashboard_env.run.resolve()
    strangers = (dashboard_env.data / "unknown").resolve()
    at.selectbox(key=f"eval_unknown:{run}").set_value(None)
    at.selectbox(key=f"eval_test:{run}").set_value(str(strangers)).run()
    assert not crashed(at) and not at.error, texts(at)
    offer = at.info[0].value
    assert "classes this run was not trained on" in offer and "As the unknown set" in offer
    assert not CLI_FLAG.search(texts(at)) and str(strangers) not in texts(at)

    [b for b in at.button if b.key == "use_as_unknown"][0].click().run()
    assert not crashed(at) and not at.error, texts(at)
    assert at.selectbox(key=f"eval_unknown:{run}").value == str(strangers)
    assert at.selectbox(key=f"eval_test:{run}").value == str((dashboard_env.data / "test").resolve())
    assert {"Strangers rejected", "Identified rate"} <= {m.label for m in at.metric}


def test_a_split_appears_in_the_pickers_at_once(dashboard_env: DashboardData):
    at = open_page()
    at.sidebar.selectbox(key="_dataset_picker").set_value(str((dashboard_env.data / "test").resolve()))
    at.switch_page("views/data.py").run()
    before = set(at.sidebar.selectbox(key="_dataset_picker").options)
    at.number_input[1].set_value(0.5)
    [b for b in at.button if b.label.startswith("Copy into")][0].click().run()
    assert not crashed(at) and not at.error, texts(at)
    message = at.success[0].value
    assert "reload" not in message.lower() and "sidebar's Dataset picker" in message
    split = next(dashboard_env.runs_dir.glob("test-split-*"))
    added = set(at.sidebar.selectbox(key="_dataset_picker").options) - before
    assert added == {f"{dashboard_env.runs_dir.name}/{split.name}/train", f"{dashboard_env.runs_dir.name}/{split.name}/test"}


def test_the_map_caption_shows_a_date_people_read(dashboard_env: DashboardData, dashboard_modules):
    at = open_page("embeddings.py")
    created = siamese.load_run(dashboard_env.run).representatives()["created"]
    caption = next(c.value for c in at.caption if "representatives:" in c.value)
    assert created not in caption and not re.search(r"\d{4}-\d\d-\d\dT", caption)
    assert re.search(r"chosen \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d", caption), caption


def test_package_errors_are_told_in_the_dashboards_words(dashboard_env: DashboardData, dashboard_modules):
    roots, messages = dashboard_modules
    run = siamese.load_run(dashboard_env.run)
    with pytest.raises(siamese.SiameseError) as raised:
        siamese.scan_folder(dashboard_env.data / "unknown", run.class_names)
    assert "(--unknown)" in str(raised.value) and str(dashboard_env.data) in str(raised.value)  # the CLI's wording
    shown = messages.user_message(raised.value)
    assert not CLI_FLAG.search(shown), shown
    assert str(dashboard_env.data) not in shown and f"{dashboard_env.data.name}/unknown" in shown
    assert "Unknown set" in shown

    with pytest.raises(siamese.SiameseError) as too_few:
        project_tsne(np.zeros((3, 4), np.float32))
    with pytest.raises(siamese.SiameseError) as huge:
        check_input_shape((4000, 4000, 3), "the first readable image", Remedy(SET, "input_shape", "60,80,3"))
    for error in (too_few.value, huge.value):
        assert CLI_FLAG.search(str(error)), str(error)  # the command line's words
        assert not CLI_FLAG.search(messages.user_message(error)), messages.user_message(error)
    assert "Representative method" in messages.user_message(too_few.value) and "Input shape" in messages.user_message(huge.value)
    no_reps = messages.user_message(siamese.SiameseError(f"run {dashboard_env.run} has no representatives yet", Remedy(REPRESENT, value=str(dashboard_env.run))))
    assert "python -m" not in no_reps and "Choose representatives" in no_reps and str(dashboard_env.run.parent) not in no_reps
    assert messages.DASHBOARD_WORDS.keys() == CLI_WORDS.keys()  # every remedy has the dashboard's words


def test_paths_are_shown_relative_to_their_root_in_pages_and_csv(dashboard_env: DashboardData, dashboard_modules):
    roots, _ = dashboard_modules
    data = dashboard_env.data.resolve()
    assert roots.display_path(data / "train") == f"{data.name}/train"
    assert roots.display_path(DEMO_RUN) == "sample_data/demo_run"
    assert not roots.display_path("/somewhere/else/entirely/train").startswith("/")  # outside every root: no server path
    table = pd.DataFrame({"file": [str(data / "test" / "a" / "1.png")], "distance": [0.1]})
    assert roots.relative_files(table)["file"].tolist() == [f"{data.name}/test/a/1.png"]
    assert table["file"].iloc[0].startswith("/")  # the original table is left as it was


@pytest.mark.parametrize("page", ["", "data.py", "evaluate.py", "embeddings.py", "probe.py"], ids=["home", "data", "evaluate", "embeddings", "probe"])
def test_no_page_speaks_of_flags_or_server_paths(dashboard_env: DashboardData, page: str):
    at = open_page(page or None)
    shown = texts(at)
    assert not at.error, shown
    assert not CLI_FLAG.search(shown) and "python -m" not in shown, shown
    for folder in (dashboard_env.data, dashboard_env.run, dashboard_env.runs_dir):
        assert str(folder.resolve()) not in shown, shown
