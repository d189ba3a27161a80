"""Every dashboard page driven in-process with Streamlit's AppTest, on a tiny trained run."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dashboard_fixtures import DASHBOARD, ROOT, DashboardData, crashed, image_captions, open_page, texts
from PIL import Image

import siamese
from helpers import DEMO_RUN, wait_until
from siamese.maps import training_maps as maps
from siamese.runs.jobs import ACTIVE_STATES, list_jobs

# A one-epoch training on the tiny data takes seconds alone, minutes on a busy machine: wait for its state.
TRAINING_DEADLINE = 600


def test_home_shows_run_dataset_numbers_and_links(dashboard_env: DashboardData):
    at = open_page()
    assert at.title[0].value == "Siamese thermal faces"
    run = siamese.load_run(dashboard_env.run)
    assert at.sidebar.selectbox(key="_run_picker").value == str(dashboard_env.run.resolve())
    assert run.name in texts(at)
    labels = {m.label for m in at.metric}
    assert {"Accuracy (nearest class)", "Identified rate", "AUROC known vs unknown", "Strangers rejected"} <= labels
    links = {link.proto.label for link in at.get("page_link")}
    assert links == {"Data", "Train", "Embeddings", "Evaluate", "Probe", "Compare"}


def test_fresh_clone_opens_on_the_committed_demo_run(tmp_path: Path, monkeypatch):
    demo, data = DEMO_RUN, ROOT / "sample_data" / "thermal_faces"
    if not (demo / "run.json").exists():
        pytest.skip("sample_data/demo_run is not committed yet")
    for name in ("SIAMESE_RUN_ROOTS", "SIAMESE_DATA_ROOTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIAMESE_RUNS_DIR", str(tmp_path / "runs"))  # as on a fresh clone: no runs of our own
    at = open_page()
    assert at.sidebar.selectbox(key="_run_picker").value == str(demo.resolve())
    run = siamese.load_run(demo)
    assert run.class_names == siamese.scan_folder(data / "train").class_names == siamese.scan_folder(data / "test").class_names
    assert run.status == "complete" and run.has_representatives
    assert at.sidebar.selectbox(key="_dataset_picker").value == str((data / "train").resolve())
    assert len(at.metric) == 4


def test_home_first_paint_imports_no_tensorflow():
    # The modules Home needs to draw (everything but the headline numbers) must not
    # pull in TensorFlow, or the first paint waits for its import. Run from dashboard/,
    # which Python puts first on the path for `-c`, as `streamlit run` does for the pages.
    helpers = sorted(p.stem for p in DASHBOARD.glob("*.py") if p.stem != "Home")
    assert {"charts", "loaders", "map_selection", "patches", "pickers", "roots", "widgets"} <= set(helpers)
    code = f"import sys; import {', '.join(helpers)}; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=DASHBOARD, capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False False", out.stderr


def test_run_choice_is_remembered_across_pages(dashboard_env: DashboardData):
    at = open_page("data.py")
    at.switch_page("views/evaluate.py").run()
    assert at.sidebar.selectbox(key="_run_picker").value == str(dashboard_env.run.resolve())
    assert at.session_state["run"] == str(dashboard_env.run.resolve())


def test_data_gallery_skipped_files_palette_and_split(dashboard_env: DashboardData, tmp_path: Path, monkeypatch):
    dataset = tmp_path / "faces"
    for class_dir in sorted((dashboard_env.data / "train").iterdir())[:2]:
        (dataset / class_dir.name).mkdir(parents=True)
        for image in sorted(class_dir.iterdir())[:3]:
            (dataset / class_dir.name / image.name).write_bytes(image.read_bytes())
    (dataset / class_dir.name / "notes.txt").write_text("not an image")
    before = sorted(p.relative_to(dataset) for p in dataset.rglob("*"))
    monkeypatch.setenv("SIAMESE_DATA_ROOTS", str(tmp_path))

    at = open_page("data.py")
    # The run's own data is not under these roots: the sidebar chooses none, never another folder.
    assert at.sidebar.selectbox(key="_dataset_picker").value is None
    at.sidebar.selectbox(key="_dataset_picker").set_value(str(dataset.resolve())).run()
    assert "6 images" in texts(at) and "2 classes" in texts(at)
    assert len(image_captions(at)) == 6
    skipped = at.table[0].value
    assert list(skipped["file"].str.endswith("notes.txt")) == [True]
    assert "not an image file" in skipped["reason"].iloc[0]

    at.segmented_control(key="palette").set_value("ironbow").run()
    assert not crashed(at)

    at.number_input[1].set_value(0.5)
    at.button[0].click().run()  # the split form's submit button
    assert not crashed(at) and at.success, texts(at)
    splits = list(dashboard_env.runs_dir.glob("faces-split-*"))
    assert len(splits) == 1
    assert sorted(p.name for p in (splits[0] / "test").iterdir()) == sorted(p.name for p in dataset.iterdir() if p.is_dir())
    assert sorted(p.relative_to(dataset) for p in dataset.rglob("*")) == before  # copies: the source is unchanged


def test_empty_dataset_folder_says_what_is_missing(dashboard_env: DashboardData, tmp_path: Path, monkeypatch):
    (tmp_path / "empty" / "person_a").mkdir(parents=True)
    (tmp_path / "empty" / "person_a" / "readme.txt").write_text("no images here")
    (tmp_path / "empty" / "person_b").mkdir()
    (tmp_path / "empty" / "person_b" / "face.png").write_bytes(b"not really a png")
    monkeypatch.setenv("SIAMESE_DATA_ROOTS", str(tmp_path))
    at = open_page("data.py")
    at.sidebar.selectbox(key="_dataset_picker").set_value(str((tmp_path / "empty").resolve())).run()
    assert not crashed(at)
    # The one "image" is unreadable: the gallery names the file and why, no traceback.
    assert any("face.png" in c.value and "cannot be read" in c.value for c in at.caption), texts(at)


def test_train_starts_a_background_run_that_finishes_and_is_listed(dashboard_env: DashboardData):
    at = open_page("train.py")
    at.selectbox(key="train_data").set_value(str((dashboard_env.data / "train").resolve()))
    at.number_input[0].set_value(1)  # epochs
    at.number_input[1].set_value(8)  # batch size
    # The data fixture is shared by the session: other tests may have trained into the same folder.
    before = {job.name for job in list_jobs(dashboard_env.runs_dir)}
    at.button[0].click().run()
    assert not crashed(at) and not at.error, texts(at)
    jobs = [job for job in list_jobs(dashboard_env.runs_dir) if job.name not in before]
    assert len(jobs) == 1 and jobs[0].state in ("starting", "running", "complete")
    name = jobs[0].name

    def this_job():
        return next(job for job in list_jobs(dashboard_env.runs_dir) if job.name == name)

    wait_until(lambda: this_job().state not in ACTIVE_STATES, TRAINING_DEADLINE, "the training did not finish")
    job = this_job()
    assert job.state == "complete", job.log_tail()

    at = open_page("train.py")  # a new session (a browser reload) still shows it
    assert "Finished 1 epochs" in texts(at)
    # "Choose representatives when training ends" is on by default: the run is ready for Evaluate and Probe.
    assert job.run().has_representatives and f"**{job.name}** is ready" in texts(at)
    # Listed by its place under its root, never by the server's absolute path.
    assert any(option.startswith(f"{dashboard_env.runs_dir.name}/{job.run_dir.name} ") for option in at.sidebar.selectbox(key="_run_picker").options)


def test_the_train_form_trains_with_the_chosen_objective(dashboard_env: DashboardData):
    at = open_page("train.py")
    at.selectbox(key="train_data").set_value(str((dashboard_env.data / "train").resolve()))
    at.number_input[0].set_value(1)  # epochs
    at.number_input[1].set_value(8)  # batch size
    picker = next(box for box in at.selectbox if box.label == "Objective")
    assert picker.value == siamese.TrainConfig(train_dir="").loss  # the CLI's default
    assert set(picker.options) >= {"contrastive", "triplet", "pairs + triplets", "SupCon", "CosFace", "ArcFace"}
    picker.set_value("contrastive-triplet")
    before = {job.name for job in list_jobs(dashboard_env.runs_dir)}
    at.button[0].click().run()
    assert not crashed(at) and not at.error, texts(at)
    job = next(job for job in list_jobs(dashboard_env.runs_dir) if job.name not in before)
    assert job.info["command"][job.info["command"].index("--loss") + 1] == "contrastive-triplet"
    wait_until(lambda: next(j for j in list_jobs(dashboard_env.runs_dir) if j.name == job.name).state not in ACTIVE_STATES,
               TRAINING_DEADLINE, "the training did not finish")
    run = next(j for j in list_jobs(dashboard_env.runs_dir) if j.name == job.name).run()
    assert run.status == "complete" and run.config.loss == "contrastive-triplet", job.log_tail()


def test_supcon_in_mixed_bfloat16_is_refused_on_the_form_and_nothing_starts(dashboard_env: DashboardData):
    at = open_page("train.py")
    at.selectbox(key="train_data").set_value(str((dashboard_env.data / "train").resolve()))
    next(box for box in at.selectbox if box.label == "Objective").set_value("supcon")
    next(box for box in at.selectbox if box.label == "Precision").set_value("mixed_bfloat16")
    before = {job.name for job in list_jobs(dashboard_env.runs_dir)}
    at.button[0].click().run()
    assert not crashed(at) and [e.value for e in at.error] == [
        "precision 'mixed_bfloat16' is not valid; use float32 or auto with the supcon loss (in mixed bfloat16 its training collapsed)"]
    assert {job.name for job in list_jobs(dashboard_env.runs_dir)} == before


def test_embeddings_injected_selection_shows_images_and_a_map_is_cached(dashboard_env: DashboardData, monkeypatch):
    at = open_page("embeddings.py")
    table = siamese.load_run(dashboard_env.run).training_map()
    row = int(table.index[~table["representative"]][2])
    file_name = Path(table["file"].iloc[row]).name
    # What the browser sends when a point is clicked: per-trace indices, plus our customdata.
    at.session_state["embedding_map"] = {
        "selection": {"points": [{"curve_number": 1, "point_number": 0, "point_index": 0, "customdata": [row, file_name, 0.1, table["class"].iloc[row]]}], "point_indices": [0], "box": [], "lasso": []},
    }
    at.run()
    assert not crashed(at)
    captions = [c for c in image_captions(at) if file_name in c]
    assert captions and captions[0].startswith(table["class"].iloc[row])

    # Representative gallery: one cell per class.
    assert sum("both methods" in c or c.startswith("t-SNE:") for c in image_captions(at)) == len(siamese.load_run(dashboard_env.run).class_names)

    map_dir = dashboard_env.run / "maps"
    at.slider(key=f"perplexity:{dashboard_env.run.resolve()}").set_value(3.0).run()
    assert not crashed(at)
    assert "Preview" in texts(at)
    cached = list(map_dir.glob("tsne-medoid-p3-*.csv"))
    assert len(cached) == 1
    # Reopening the same map reads the cached file instead of running t-SNE again
    # (bench/ measures how fast; here any new computation fails).
    def no_tsne(*args, **kwargs):
        raise AssertionError("the cached map was computed again")

    monkeypatch.setattr(maps, "compute_map", no_tsne)
    assert maps.training_map(siamese.load_run(dashboard_env.run), "tsne-medoid", 3.0, 0).equals(pd.read_csv(cached[0]))


def test_run_without_representatives_offers_to_choose_them(dashboard_env: DashboardData, tmp_path: Path, monkeypatch):
    bare = dashboard_env.run.parent / "bare"
    if not bare.exists():
        bare.mkdir()
        for name in ("run.json", "history.csv", "model.keras"):
            (bare / name).write_bytes((dashboard_env.run / name).read_bytes())
    monkeypatch.setenv("SIAMESE_RUN_ROOTS", str(bare))
    at = open_page()
    at.sidebar.selectbox(key="_run_picker").set_value(str(bare.resolve())).run()
    at.switch_page("views/evaluate.py").run()
    assert "no class representatives" in texts(at)
    at.button[0].click().run()  # "Choose representatives"
    assert not crashed(at), texts(at)
    assert siamese.load_run(bare).has_representatives
    assert at.table, texts(at)  # the page now evaluates


def test_evaluate_slider_changes_the_confusion_table(dashboard_env: DashboardData):
    at = open_page("evaluate.py")
    run = siamese.load_run(dashboard_env.run)
    slider = at.slider[0]
    assert slider.value == pytest.approx(run.suggested_threshold(), rel=0.02)  # within a slider step
    n_test = int(at.dataframe[0].value["images"].sum())  # the per-class table: one row per class

    slider.set_value(0.0).run()
    table = at.dataframe[0].value
    assert int(table["unknown"].sum()) == n_test  # nothing is closer than 0: all rejected
    assert at.metric[0].value == "0.0%"  # identified rate

    slider.set_value(slider.max).run()
    table = at.dataframe[0].value
    assert int(table["unknown"].sum()) == 0  # everything is accepted
    assert int((table["identified"] + table["confused"]).sum()) == n_test

    # A suggested threshold button moves the slider there.
    suggestion = [b for b in at.button if b.key == "suggest-eer"][0]
    suggestion.click().run()
    expected = siamese.evaluate(run, dashboard_env.data / "test", dashboard_env.data / "unknown").suggestions()["eer"]["threshold"]
    assert at.slider[0].value == pytest.approx(expected, rel=0.02)

    # Choosing a confusion cell shows exactly its images.
    cell = at.selectbox(key="eval_cell")
    first = cell.options[0]
    cell.select_index(0).run()
    count = int(first.rsplit("(", 1)[1].split()[0])
    assert len([c for c in image_captions(at) if ".png" in c]) == count
    assert any(b.proto.label.startswith("Download") for b in at.get("download_button"))


def test_evaluate_shows_the_threshold_origin_open_set_curves_and_every_rule(dashboard_env: DashboardData):
    at = open_page("evaluate.py")
    run = siamese.load_run(dashboard_env.run)
    record = run.threshold_record()
    assert record["source"] == "calibration"
    assert "is calibrated" in texts(at) and f"{record['target_frr']:.0%}" in texts(at)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert "Identified vs strangers accepted (DIR / FAR)" in titles and "Identification by rank (CMC)" in titles
    rules = at.table[-1].value
    names = [r.split(" ")[0] for r in rules["rule"]]
    assert names == ["medoid", "centroid", "knn", "mahalanobis"]
    # The run's own rule (the default one for the tiny run) is marked, and only it.
    assert [r for r in rules["rule"] if r.endswith("(this run's)")] == [f"{run.rule} (this run's)"]

    at.slider[0].set_value(0.0).run()
    [b for b in at.button if b.key == "suggest-run"][0].click().run()
    assert at.slider[0].value == pytest.approx(record["threshold"], rel=0.02)

    # Per-class thresholds: the slider gives way to the table, and verdicts follow the recorded thresholds.
    at.toggle[0].set_value(True).run()
    assert not crashed(at) and not at.slider
    expected = siamese.evaluate(run, dashboard_env.data / "test", dashboard_env.data / "unknown")
    limits = np.array([run.recorded_class_thresholds()[c] for c in run.class_names])
    identified = expected.at(record["threshold"], limits).metrics()["identified_rate"]
    assert at.metric[0].value == f"{identified:.1%}"


@pytest.mark.parametrize("folder", ["test", "unknown"])
def test_probe_upload_shows_the_packages_verdict_bars_and_map(dashboard_env: DashboardData, folder: str):
    run = siamese.load_run(dashboard_env.run)
    # An image whose distance is not within a slider step of the threshold, so the page's
    # slider (the run's threshold rounded to its step) gives the package's verdict.
    images = sorted((dashboard_env.data / folder).rglob("*.png"))
    image, expected = next((i, r) for i, r in ((i, siamese.probe(run, i)) for i in images) if abs(r.margin) > 0.01 * r.threshold)

    at = open_page("probe.py")
    assert at.info  # asks for an upload
    at.file_uploader[0].upload(image.name, image.read_bytes(), "image/png").run()
    assert not crashed(at) and not at.error, texts(at)
    assert at.slider[0].value == pytest.approx(expected.threshold, abs=float(at.slider[0].proto.step))
    if expected.accepted:
        assert not at.warning and at.success[0].value.startswith(f"Identified as **{expected.predicted_class}**"), texts(at)
    else:
        assert not at.success and at.warning[0].value.startswith(f"**Unknown person**: the nearest class is {expected.predicted_class} at"), texts(at)
    assert any(c.startswith("probe: ") for c in image_captions(at))
    nearest = sorted(expected.distances, key=expected.distances.get)[:3]
    assert [c.split(" · ")[0] for c in image_captions(at) if " · distance " in c] == nearest  # their representatives
    assert len(at.get("plotly_chart")) == 2  # distance per class, place on the map



@pytest.mark.parametrize("name, data, message", [
    ("notes.png", b"this is text, not a picture", "notes.png is not an image the dashboard can read (PNG, JPEG, BMP or TIFF); choose another file."),
    ("huge.png", None, "decompression bomb"),
    ("big.png", b"\0" * (5 * 1024 * 1024 + 1), "more than the 5 MB limit"),
], ids=["not-an-image", "decompression-bomb", "too-large"])
def test_probe_bad_upload_gets_a_clear_message(dashboard_env: DashboardData, name: str, data: bytes | None, message: str):
    if data is None:
        buffer = io.BytesIO()
        Image.new("1", (9000, 9000)).save(buffer, format="PNG")  # 81 megapixels in a few kilobytes
        data = buffer.getvalue()
    at = open_page("probe.py")
    at.file_uploader[0].upload(name, data, "image/png").run()
    assert not crashed(at)
    assert at.error and message in at.error[0].value, texts(at)
    assert not at.success


def test_train_form_starts_from_the_command_line_defaults(dashboard_env: DashboardData):
    at = open_page("train.py")
    defaults = siamese.TrainConfig(train_dir="")
    values = [n.value for n in at.number_input]
    # The learning rate is blank: the chosen objective's own, as the command line's without --lr.
    assert values[:4] == [defaults.epochs, defaults.batch_size, defaults.margin, None]
    assert "0.004" in at.number_input[3].help and "SupCon: 0.001" in at.number_input[3].help
    assert any(s.label == "Precision" and s.value == "auto" for s in at.selectbox)


def test_the_rule_table_gives_thresholds_to_four_significant_digits(dashboard_env: DashboardData):
    at = open_page("evaluate.py")
    assert not crashed(at), texts(at)
    table = next(t for t in at.table if "its threshold" in t.value.columns)
    html = str(table.proto)
    for value in table.value["its threshold"].dropna():
        assert f"{value:.4g}" in html, html[:500]
