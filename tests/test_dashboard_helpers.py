"""The dashboard's helper modules on their own: the map's selection state, the one cache key,
the named thresholds and the remembered palette (no trained run needed)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import loaders
import map_selection
import pandas as pd
import pytest
import widgets
from map_selection import MapSelection
from streamlit.testing.v1 import AppTest

import siamese
from helpers import DEMO_RUN

MAP = ("run-a", "tsne-medoid", 30.0, 0, "None")


# The map's selection ------------------------------------------------------------------
def event(*rows: int) -> dict:
    """A chart selection event as Streamlit reports it: per-trace indices, our row in customdata[0]."""
    return {"selection": {"points": [{"curve_number": 1, "point_index": i, "customdata": [row, "f.png"]} for i, row in enumerate(rows)]}}


def test_event_rows_reads_customdata_sorted_once():
    assert map_selection.event_rows(event(7, 3, 7)) == (3, 7)
    assert map_selection.event_rows({"selection": {"points": [{"point_index": 0}]}}) == ()  # a point without our row
    assert map_selection.event_rows(None) == map_selection.event_rows({}) == ()


def test_a_new_selection_on_the_same_map_replaces_the_rows():
    first = map_selection.update(None, "run-a", MAP, (3, 7))
    assert first == MapSelection("run-a", MAP, rows=(3, 7), last=(3, 7))
    assert map_selection.update(first, "run-a", MAP, (5,)).rows == (5,)
    assert map_selection.update(first, "run-a", MAP, ()).rows == ()  # deselected in the chart


def test_a_changed_figure_keeps_the_rows_until_a_new_selection():
    first = map_selection.update(None, "run-a", MAP, (3, 7))
    other_map = (*MAP[:2], 10.0, *MAP[3:])
    moved = map_selection.update(first, "run-a", other_map, ())  # Streamlit cleared the chart's selection
    assert moved.rows == (3, 7) and moved.identity == other_map
    assert map_selection.update(moved, "run-a", other_map, ()).rows == (3, 7)  # rerun, nothing new
    assert map_selection.update(moved, "run-a", other_map, (1,)).rows == (1,)
    assert map_selection.update(first, "run-a", other_map, (2,)).rows == (2,)  # a selection that came with the change


def test_clear_holds_while_the_chart_still_reports_the_old_selection():
    first = map_selection.update(None, "run-a", MAP, (3, 7))
    cleared = map_selection.cleared(first)
    assert cleared.rows == ()
    assert map_selection.update(cleared, "run-a", MAP, (3, 7)).rows == ()  # the same report again
    assert map_selection.update(cleared, "run-a", MAP, (4,)).rows == (4,)


def test_another_run_starts_afresh():
    first = map_selection.update(None, "run-a", MAP, (3, 7))
    assert map_selection.update(first, "run-b", ("run-b", *MAP[1:]), ()).rows == ()


def test_visible_rows_drop_rows_beyond_the_current_map():
    selection = MapSelection("run-a", MAP, rows=(1, 4, 6))
    table, overlay = pd.DataFrame({"x": range(5)}), pd.DataFrame({"x": range(2)})
    assert map_selection.visible_rows(selection, table, None) == [1, 4]
    assert map_selection.visible_rows(selection, table, overlay) == [1, 4, 6]


def test_selected_images_name_training_and_test_images():
    if not (DEMO_RUN / "run.json").exists():
        pytest.skip("sample_data/demo_run is not committed")
    run = siamese.load_run(DEMO_RUN)
    table = run.training_map()
    overlay = pd.DataFrame({"file": ["/data/test/person_01/a.png"], "class": ["person_01"], "x": [0.0], "y": [0.0]})
    paths, captions = map_selection.selected_images(run, table, overlay, [2, len(table)])
    row = table.iloc[2]
    assert paths[0] == str(siamese.maps.training_maps.image_path(run, row["file"])) and Path(paths[0]).exists()
    assert captions[0] == f"{row['class']} · {Path(row['file']).name} · {row['distance_to_representative']:.3g}"
    assert (paths[1], captions[1]) == ("/data/test/person_01/a.png", "test person_01 · a.png")
    assert len(map_selection.selected_images(run, table, None, list(range(40)))[0]) == map_selection.SHOWN


# The cache key --------------------------------------------------------------------------
@pytest.fixture()
def fake_run(tmp_path: Path) -> SimpleNamespace:
    (tmp_path / "run.json").write_text("{}")
    return SimpleNamespace(path=tmp_path)


def test_cache_key_is_the_run_its_state_and_the_folders(fake_run, tmp_path: Path):
    key = loaders.cache_key(fake_run, tmp_path / "test", None)
    assert key == (str(tmp_path.resolve()), loaders.run_stamp(tmp_path), str(tmp_path / "test"), None)
    assert loaders.cache_key(fake_run, tmp_path / "test", None) == key
    stat = (tmp_path / "run.json").stat()
    os.utime(tmp_path / "run.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # trained further
    assert loaders.cache_key(fake_run, tmp_path / "test", None) != key
    (tmp_path / "representatives.json").write_text("{}")  # new representatives
    assert loaders.cache_key(fake_run)[1][1] != 0.0


@pytest.mark.parametrize("wrapper, cached, args, folders", [
    ("evaluation", "_evaluation", ("T", "U"), 2),
    ("suggestions_and_roc", "_suggestions", ("T", "U"), 2),
    ("distance_groups", "_distance_groups", ("T", "U"), 2),
    ("dir_far", "_dir_far", ("T", None), 2),
    ("probe", "_probe", (b"png", 0.5), 0),
    ("training_map", "_training_map", ("medoid", 5.0, 1), 0),
    ("placed_folder", "_placed_folder", ("T", "medoid", 5.0, 1), 1),
])
def test_every_cached_loader_is_keyed_by_cache_key(fake_run, monkeypatch, wrapper: str, cached: str, args: tuple, folders: int):
    calls = []
    monkeypatch.setattr(loaders, cached, lambda *key: calls.append(key))
    getattr(loaders, wrapper)(fake_run, *args)
    assert calls == [(*loaders.cache_key(fake_run, *args[:folders]), *args[folders:])]


# Thresholds and palette -----------------------------------------------------------------
def test_named_thresholds_for_a_calibrated_and_an_uncalibrated_run():
    calibrated = {"threshold": 0.3, "source": "calibration", "criterion": "5% of held-out faces rejected", "training_threshold": 0.5}
    suggestions = {"eer": {"threshold": 0.4, "criterion": "equal error"}, "custom": {"threshold": 0.2, "criterion": "mine"}}
    named = widgets.named_thresholds(calibrated, suggestions)
    assert list(named) == ["run", "training", "eer", "custom"]
    assert named["run"][:2] == ("Run's", 0.3) and named["training"][:2] == ("Training", 0.5)
    assert named["eer"] == ("Equal error", 0.4, "equal error") and named["custom"] == ("custom", 0.2, "mine")
    uncalibrated = {**calibrated, "source": "training"}
    assert list(widgets.named_thresholds(uncalibrated, {})) == ["run"]


@pytest.mark.parametrize("top, step, decimals", [(1.0, 0.005, 3), (0.35, 0.001, 3), (0.1236, 0.0005, 4), (0.004, 2e-5, 5), (250.0, 1.0, 0)])
def test_threshold_step_is_a_round_two_hundredth_of_the_range(top: float, step: float, decimals: int):
    # About 1/200 of the range, rounded down to 1, 2 or 5 x 10^k: an arrow key moves the threshold visibly (it moved 0.0001 of 0.35).
    assert widgets.threshold_step(top) == (pytest.approx(step), decimals)
    assert 200 <= top / widgets.threshold_step(top)[0] * (1 + 1e-9) < 500


@pytest.mark.parametrize("value, written", [(0.256, "0.256"), (0.0888, "0.0888"), (0.1015483, "0.1015"), (1.23456, "1.235")])
def test_a_threshold_is_written_to_four_significant_digits(value: float, written: str):
    assert widgets.format_threshold(value) == written
    assert widgets.SLIDER_FORMAT == "%.4g"  # the browser's sprintf writes the slider's label the same way


def palette_script() -> None:
    import streamlit as st
    import widgets

    st.markdown(f"before: {widgets.palette_choice()}")
    widgets.palette_select()


def test_palette_choice_is_gray_until_one_is_chosen_then_remembered():
    at = AppTest.from_function(palette_script).run()
    assert at.markdown[0].value == "before: gray"
    at.segmented_control(key="palette").set_value("ironbow").run()
    assert at.markdown[0].value == "before: ironbow"  # what every other page reads
    assert at.session_state[widgets.PALETTE_KEY] == "ironbow"


def test_datasets_beside_a_folder_of_loose_images_are_found(tmp_path):
    import roots

    def faces(folder, n=2):
        folder.mkdir(parents=True)
        for i in range(n):
            (folder / f"{i}.png").write_bytes(b"\x89PNG")

    root = tmp_path / "own"
    for split in ("train", "test"):
        for person in ("ana", "ben"):
            faces(root / "lab_faces" / split / person)
    faces(root / "newcomers" / "zoe")
    faces(root / "probes")  # loose images: makes the root itself a dataset of one class
    (root / "lab_faces" / "train" / "ana" / "nested").mkdir()
    found = [Path(p).relative_to(tmp_path).as_posix() for p in roots.find_datasets.__wrapped__((str(root),))]
    # the root, and the datasets beside its class folder; class folders are never searched
    assert found == ["own", "own/lab_faces/test", "own/lab_faces/train", "own/newcomers"]
