"""The Compare page with Streamlit's AppTest: two runs of the tiny data side by side."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from dashboard_fixtures import DashboardData, crashed, open_page, texts

from helpers import copy_run, rule_variant
from siamese.scoring.compare_runs import SETTINGS, compare_runs


@pytest.fixture(scope="module")
def other_runs(dashboard_data: DashboardData, tmp_path_factory) -> dict[str, Path]:
    """Beside the dashboard's run: its network deciding by another rule, and a copy without representatives."""
    folder = tmp_path_factory.mktemp("compare")
    return {"medoid": rule_variant(dashboard_data.run, folder / "tiny_medoid"), "bare": copy_run(dashboard_data.run, folder / "bare")}


def with_runs(monkeypatch, env: DashboardData, *runs: Path) -> None:
    monkeypatch.setenv("SIAMESE_RUN_ROOTS", os.pathsep.join(str(r) for r in [env.run, *runs]))


def test_two_runs_side_by_side(dashboard_env: DashboardData, other_runs: dict[str, Path], monkeypatch):
    with_runs(monkeypatch, dashboard_env, other_runs["medoid"], other_runs["bare"])
    at = open_page("compare.py")
    # By default: the sidebar's run, then a finished run of the same classes with representatives.
    runs = [dashboard_env.run.resolve(), other_runs["medoid"].resolve()]
    assert at.multiselect[0].value == [str(r) for r in runs]
    assert at.selectbox(key=f"compare_test:{runs[0]}").value == str((dashboard_env.data / "test").resolve())
    assert not at.error and not at.warning, texts(at)

    expected = compare_runs(runs, dashboard_env.data / "test", dashboard_env.data / "unknown")
    numbers, settings = at.table[0].value, at.table[1].value
    assert list(numbers.index) == ["tiny", "tiny_medoid"]
    text, _ = expected.display_metrics()
    assert numbers.to_dict() == text.to_dict()  # the package's numbers, each run at its own threshold
    assert numbers.loc["tiny_medoid", "rule"] == "medoid" and "(" in numbers.loc["tiny_medoid", "accuracy"]
    assert list(settings.columns) == ["tiny", "tiny_medoid"] and len(settings) == len(SETTINGS)
    assert f"{len(expected.differing_settings())} of {len(SETTINGS)} settings differ" in texts(at)
    differing = [name for key, name in SETTINGS if key in expected.differing_settings()]
    assert f"**Settings that differ:** {', '.join(differing)} (" in texts(at)  # named under the numbers, before the curves
    curves = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {trace["name"] for trace in curves["data"]} == {"tiny", "tiny_medoid"}  # one colour per run

    at.toggle(key="compare_only_differing").set_value(True).run()
    assert list(at.table[1].value.index) == [name for key, name in SETTINGS if key in expected.differing_settings()]

    # A run without representatives: its settings and curves, and a sentence naming the button, no numbers.
    at.multiselect[0].set_value([*map(str, runs), str(other_runs["bare"].resolve())]).run()
    assert not crashed(at) and not at.error
    assert any('press "Choose representatives" on the Evaluate page' in i.value and "bare" in i.value for i in at.info), texts(at)
    assert list(at.table[0].value.index) == ["tiny", "tiny_medoid"]
    assert list(at.table[1].value.columns) == ["tiny", "tiny_medoid", "bare"]

    at.multiselect[0].set_value([str(runs[0])]).run()
    assert "Choose two or more runs" in texts(at) and not at.table


def test_the_choice_survives_navigation(dashboard_env: DashboardData, other_runs: dict[str, Path], monkeypatch):
    with_runs(monkeypatch, dashboard_env, other_runs["medoid"], other_runs["bare"])
    at = open_page("compare.py")
    chosen = [str(other_runs["medoid"].resolve()), str(dashboard_env.run.resolve())]
    at.multiselect[0].set_value(chosen).run()
    at.switch_page("views/evaluate.py").run()
    at.switch_page("views/compare.py").run()
    assert at.multiselect[0].value == chosen
    assert list(at.table[0].value.index) == ["tiny_medoid", "tiny"]  # the first chosen is the reference


def test_a_test_set_of_other_classes_is_a_sentence_not_an_error(dashboard_env: DashboardData, other_runs: dict[str, Path], monkeypatch):
    with_runs(monkeypatch, dashboard_env, other_runs["medoid"])
    at = open_page("compare.py")
    at.selectbox(key=f"compare_test:{dashboard_env.run.resolve()}").set_value(str((dashboard_env.data / "unknown").resolve())).run()
    assert not crashed(at) and not at.error
    assert sum("was not trained on stranger_01, stranger_02 of the test set" in i.value for i in at.info) == 2, texts(at)
    assert "None of the chosen runs can be measured yet" in texts(at)


def test_a_run_whose_data_is_outside_the_folders_is_measured_on_a_test_set_the_page_sees(
        dashboard_env: DashboardData, other_runs: dict[str, Path], tmp_path, monkeypatch):
    elsewhere = copy_run(dashboard_env.run, tmp_path / "elsewhere")  # trained on a folder the dashboard does not list
    info = json.loads((elsewhere / "run.json").read_text())
    info["config"]["train_dir"] = str(tmp_path / "faces_ck" / "train")
    (elsewhere / "run.json").write_text(json.dumps(info))
    with_runs(monkeypatch, dashboard_env, other_runs["medoid"], elsewhere)
    at = open_page("compare.py")
    at.multiselect[0].set_value([str(elsewhere.resolve()), str(other_runs["medoid"].resolve())]).run()
    assert at.selectbox(key=f"compare_test:{elsewhere.resolve()}").value == str((dashboard_env.data / "test").resolve())
    assert not crashed(at) and not at.error and "No dataset found" not in texts(at), texts(at)
