"""The Gallery page: enroll a person from uploaded images, then the Probe page identifies another
image of them without training or a restart; remove them again with a confirmation."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from dashboard_fixtures import DashboardData, crashed, image_captions, open_page, texts

import siamese
from helpers import tree_digest


def private_copy(dashboard_data: DashboardData, tmp_path: Path, monkeypatch) -> DashboardData:
    """A copy of the dashboard's data and run for this test alone (enrolling changes the run)."""
    common = Path(os.path.commonpath([dashboard_data.data.resolve(), dashboard_data.run.resolve()]))
    data, run = tmp_path / dashboard_data.data.resolve().relative_to(common), tmp_path / dashboard_data.run.resolve().relative_to(common)
    shutil.copytree(dashboard_data.data, data)
    shutil.copytree(dashboard_data.run, run)
    copy = DashboardData(data=data, run=run, runs_dir=tmp_path / "new_runs")
    for name, value in copy.env().items():
        monkeypatch.setenv(name, value)
    return copy


def map_traces(at) -> list[dict]:
    """The traces of the Embeddings page's map, as the browser receives them."""
    return [trace for chart in at.get("plotly_chart") for trace in json.loads(chart.proto.spec)["data"]]


def enrolled_traces(at) -> list[dict]:
    return [t for t in map_traces(at) if str(t.get("name", "")).startswith("enrolled people")]


def test_enroll_from_uploads_then_probe_identifies_them_then_remove(dashboard_data: DashboardData, tmp_path: Path, monkeypatch):
    env = private_copy(dashboard_data, tmp_path, monkeypatch)
    images = sorted((env.data / "unknown" / "stranger_01").iterdir())
    data_before = tree_digest(env.data)
    at = open_page("gallery.py")
    assert "0 enrolled afterwards" in texts(at)
    at.text_input[0].input("Eve").run()
    at.file_uploader[0].set_value([(p.name, p.read_bytes(), "image/png") for p in images[:3]]).run()
    at.button(key=f"gallery_enroll:{env.run}").click().run(timeout=600)
    assert not crashed(at), crashed(at)
    assert "Enrolled Eve from 3 images" in texts(at), texts(at)
    assert "1 enrolled afterwards" in texts(at)
    assert siamese.load_run(env.run).identities[-1] == "Eve"
    assert tree_digest(env.data) == data_before  # the uploads went into the run folder only
    assert sorted(p.name for p in (env.run / "gallery" / "Eve").iterdir()) == ["001.png", "002.png", "003.png"]

    at.switch_page("views/probe.py").run()
    at.file_uploader[0].upload(images[-1].name, images[-1].read_bytes(), "image/png").run(timeout=600)
    assert not crashed(at), crashed(at)
    verdict = [str(e.value) for e in [*at.success, *at.warning, *at.error]]
    assert any(v.startswith("Identified as **Eve**") for v in verdict), verdict

    at.switch_page("views/embeddings.py").run(timeout=600)
    assert not crashed(at), crashed(at)
    traces = enrolled_traces(at)
    assert len(traces) == 1, [t.get("name") for t in map_traces(at)]
    n_training = len(siamese.load_run(env.run).training_map())
    assert traces[0]["marker"]["symbol"] == "hexagram" and "(enrolled)" in traces[0]["hovertemplate"]
    # global rows after the training images (no test images shown), the person's name, their copies' names
    assert [c[0] for c in traces[0]["customdata"]] == [n_training, n_training + 1, n_training + 2]
    assert {c[3] for c in traces[0]["customdata"]} == {"Eve"} and [c[1] for c in traces[0]["customdata"]] == ["001.png", "002.png", "003.png"]
    assert "People enrolled afterwards (1, 3 images) are hexagrams" in texts(at)
    # a click on Eve's second image (what the browser sends: per-trace index, our customdata)
    at.session_state["embedding_map"] = {"selection": {"points": [{"curve_number": 5, "point_number": 1, "point_index": 1, "customdata": traces[0]["customdata"][1]}],
                                                       "point_indices": [1], "box": [], "lasso": []}}
    at.run(timeout=600)
    assert not crashed(at), crashed(at)
    assert "Eve (enrolled) · 002.png" in image_captions(at), image_captions(at)
    assert "**Nearest training images** of 002.png" in texts(at)  # its neighbours, from the copy in the run folder

    at.switch_page("views/gallery.py").run()
    remove = at.button(key=f"gallery_remove_button:{env.run}")
    assert remove.disabled  # not before the confirmation
    at.checkbox(key=f"gallery_sure:{env.run}:Eve").check().run()
    at.button(key=f"gallery_remove_button:{env.run}").click().run()
    assert "Removed Eve" in texts(at) and siamese.load_run(env.run).identities == siamese.load_run(env.run).class_names
    at.switch_page("views/embeddings.py").run(timeout=600)
    assert map_traces(at) and not enrolled_traces(at)  # off the map again


def test_a_clashing_name_is_refused_in_one_sentence(dashboard_data: DashboardData, tmp_path: Path, monkeypatch):
    env = private_copy(dashboard_data, tmp_path, monkeypatch)
    trained = siamese.load_run(env.run).class_names[0]
    image = sorted((env.data / "unknown" / "stranger_01").iterdir())[0]
    before = tree_digest(env.run)
    at = open_page("gallery.py")
    at.text_input[0].input(trained).run()
    at.file_uploader[0].set_value([(image.name, image.read_bytes(), "image/png")]).run()
    at.button(key=f"gallery_enroll:{env.run}").click().run(timeout=600)
    assert not crashed(at), crashed(at)
    errors = [str(e.value) for e in at.error]
    assert len(errors) == 1 and "is a class the run was trained on" in errors[0] and "--" not in errors[0], errors
    assert tree_digest(env.run) == before


def test_enroll_everyone_in_a_folder_under_the_data_roots(dashboard_data: DashboardData, tmp_path: Path, monkeypatch):
    env = private_copy(dashboard_data, tmp_path, monkeypatch)
    folder = env.data / "unknown"
    strangers = sorted(p.name for p in folder.iterdir())
    data_before = tree_digest(env.data)
    at = open_page("gallery.py")
    picker = at.selectbox(key=f"gallery_folder:{env.run}")
    # the data roots' dataset folders (shown relative to their root), never the run folder or a free path
    assert "faces/unknown" in picker.options and not any(env.run.name in o for o in picker.options), picker.options
    assert at.button(key=f"gallery_enroll_folder:{env.run}").disabled  # nothing chosen yet
    picker.set_value(str(folder)).run()
    assert f"{len(strangers)} people, {4 * len(strangers)} images" in texts(at), texts(at)
    at.button(key=f"gallery_enroll_folder:{env.run}").click().run(timeout=600)
    assert not crashed(at), crashed(at)
    assert f"Enrolled {', '.join(strangers)} from" in texts(at), texts(at)
    assert str(env.data) not in texts(at)  # paths relative to their root
    run = siamese.load_run(env.run)
    assert run.identities == [*run.class_names, *strangers]
    assert [len(p.copies) for p in run.enrolled().people] == [4] * len(strangers)
    assert tree_digest(env.data) == data_before  # the folder was only read


def test_a_folder_of_trained_classes_is_refused_naming_the_folder(dashboard_data: DashboardData, tmp_path: Path, monkeypatch):
    env = private_copy(dashboard_data, tmp_path, monkeypatch)
    trained = siamese.load_run(env.run).class_names
    before = tree_digest(env.run)
    at = open_page("gallery.py")
    at.selectbox(key=f"gallery_folder:{env.run}").set_value(str(env.data / "train")).run()
    at.button(key=f"gallery_enroll_folder:{env.run}").click().run(timeout=600)
    assert not crashed(at), crashed(at)
    errors = [str(e.value) for e in at.error]
    assert len(errors) == 1, errors
    assert errors[0].startswith("Nobody was enrolled: ") and "is a class the run was trained on" in errors[0], errors
    assert f"(the sub-folder faces/train/{trained[0]}); rename that sub-folder" in errors[0], errors
    assert "--" not in errors[0] and str(env.data) not in errors[0], errors
    assert tree_digest(env.run) == before  # nothing written
