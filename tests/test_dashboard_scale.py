"""Evaluate and Embeddings with more classes than a legend or a wide table can hold (AppTest).

A run of 30 small synthetic classes (more than charts.LEGEND_MAX and charts.HEATMAP_MAX_CLASSES)
is trained for one epoch: enough for the pages' layout, which is what is tested here.
"""

from __future__ import annotations

import json
from pathlib import Path

import charts
import pytest
from dashboard_fixtures import DASHBOARD, DashboardData, crashed
from streamlit.testing.v1 import AppTest

import siamese
from helpers import run_cli

N_CLASSES = 30
# A deadline, not a wait: a first open embeds every test image, which takes minutes on a busy machine.
DEADLINE_SECONDS = 600


@pytest.fixture(scope="module")
def many_classes(tmp_path_factory) -> DashboardData:
    """30 identities x 4 images (3 train, 1 test), 2 strangers, and a run trained on them with representatives."""
    from siamese.sample.dataset import write_sample_dataset

    root = tmp_path_factory.mktemp("many")
    data = root / "faces"
    write_sample_dataset(data, identities=N_CLASSES, per_identity=4, unknown_identities=2, unknown_per_identity=3, test_fraction=0.25, seed=5)
    run = root / "runs" / "many"
    run_cli("train", str(data / "train"), "--out", str(run), "--epochs", "1", "--batch-size", "16")
    run_cli("represent", str(run), "--perplexity", "5")
    return DashboardData(data=data, run=run, runs_dir=root / "new_runs")


@pytest.fixture()
def many_env(many_classes: DashboardData, monkeypatch) -> DashboardData:
    for name, value in many_classes.env().items():
        monkeypatch.setenv(name, value)
    return many_classes


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(str(DASHBOARD / "Home.py"), default_timeout=DEADLINE_SECONDS).run()
    at.switch_page(f"views/{page}").run()
    assert not crashed(at), crashed(at)
    return at


def figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_evaluate_with_many_classes_shows_the_unknown_column_per_class(many_env: DashboardData):
    assert N_CLASSES > charts.HEATMAP_MAX_CLASSES
    at = open_page("evaluate.py")
    per_class = at.dataframe[0].value
    # One row per class, with the threshold's column among the first four (never off-screen).
    assert list(per_class.columns)[:4] == ["class", "images", "identified", "unknown"]
    assert sorted(per_class["class"]) == siamese.load_run(many_env.run).class_names
    n_test = int(per_class["images"].sum())
    assert n_test == sum(1 for _ in (many_env.data / "test").rglob("*.png"))
    # Too many classes for a heat map: the most frequent confusions instead.
    assert "Confusion (rows: true class; unknown = rejected)" not in [f["layout"].get("title", {}).get("text") for f in figures(at)]
    top = at.dataframe[1].value
    assert list(top.columns) == ["true class", "taken for", "images"]

    slider = [s for s in at.slider if s.label.startswith("Threshold")][0]
    slider.set_value(0.0).run()
    per_class = at.dataframe[0].value
    assert int(per_class["unknown"].sum()) == n_test  # nothing is closer than 0: every image rejected
    assert int(per_class["identified"].sum()) == 0 and int(per_class["confused"].sum()) == 0

    slider.set_value(slider.max).run()
    per_class = at.dataframe[0].value
    assert int(per_class["unknown"].sum()) == 0
    assert int((per_class["identified"] + per_class["confused"]).sum()) == n_test
    # Errors first: the first row has at least as many errors as any other.
    errors = per_class["confused"] + per_class["unknown"]
    assert errors.iloc[0] == errors.max()


def test_embeddings_with_many_classes_has_a_class_picker_instead_of_a_legend(many_env: DashboardData):
    assert N_CLASSES > charts.LEGEND_MAX
    at = open_page("embeddings.py")
    run_key = f"highlight:{Path(many_env.run).resolve()}"
    picker = at.multiselect(key=run_key)
    assert picker.options == siamese.load_run(many_env.run).class_names
    spec = figures(at)[0]
    assert spec["layout"]["showlegend"] is False
    names = [t.get("name") for t in spec["data"]]
    assert names == ["training images", "representatives"]  # one trace for every class: no 30-entry legend

    chosen = ["person_03", "person_17"]
    picker.set_value(chosen).run()
    assert not crashed(at)
    spec = figures(at)[0]
    assert spec["layout"]["showlegend"] is True
    traces = {t["name"]: t for t in spec["data"]}
    assert list(traces) == ["other classes", *chosen, "representatives"]
    assert traces["other classes"]["marker"]["color"] == charts.MUTED
    assert traces["person_03"]["marker"]["color"] != traces["person_17"]["marker"]["color"]
    # The highlighted classes' representatives only, each point still carrying its global row.
    table = siamese.load_run(many_env.run).training_map()
    reps = traces["representatives"]["customdata"]
    assert sorted(table["class"].iloc[int(r[0])] for r in reps) == chosen
    assert all(table["representative"].iloc[int(r[0])] for r in reps)
    for name in chosen:
        assert {table["class"].iloc[int(r[0])] for r in traces[name]["customdata"]} == {name}


def test_the_class_palette_has_no_near_identical_colours():
    """Smallest CIEDE2000 difference between two of the map's class colours (Dark24 had 8.7)."""
    labs = [_lab(c) for c in charts.CLASS_COLOURS]
    smallest = min(_ciede2000(a, b) for i, a in enumerate(labs) for b in labs[i + 1 :])
    assert len(charts.CLASS_COLOURS) == len(set(charts.CLASS_COLOURS)) == charts.LEGEND_MAX
    assert smallest >= 15, smallest
    assert all(30 <= lab[0] <= 80 for lab in labs)  # neither near the white background nor the black representatives


def _lab(colour: str) -> tuple[float, float, float]:
    """sRGB hex to CIELAB (D65)."""
    import numpy as np

    rgb = np.array([int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def _ciede2000(lab1, lab2) -> float:
    """The CIEDE2000 colour difference (Sharma, Wu and Dalal's formulation)."""
    import math

    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar**7 / (c_bar**7 + 25**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p, h2p = math.degrees(math.atan2(b1, a1p)) % 360, math.degrees(math.atan2(b2, a2p)) % 360
    dh = 0.0 if c1p * c2p == 0 else (h2p - h1p + 180) % 360 - 180
    d_hp = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    l_bar, c_barp = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = 1 - 0.17 * math.cos(math.radians(h_bar - 30)) + 0.24 * math.cos(math.radians(2 * h_bar)) + 0.32 * math.cos(math.radians(3 * h_bar + 6)) - 0.2 * math.cos(math.radians(4 * h_bar - 63))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / math.sqrt(20 + (l_bar - 50) ** 2)
    s_c, s_h = 1 + 0.045 * c_barp, 1 + 0.015 * c_barp * t
    r_t = -math.sin(math.radians(60 * math.exp(-(((h_bar - 275) / 25) ** 2)))) * 2 * math.sqrt(c_barp**7 / (c_barp**7 + 25**7))
    return math.sqrt(((l2 - l1) / s_l) ** 2 + ((c2p - c1p) / s_c) ** 2 + (d_hp / s_h) ** 2 + r_t * (c2p - c1p) / s_c * d_hp / s_h)


def test_ciede2000_matches_a_published_pair():
    # Sharma, Wu and Dalal (2005), test pair 1: L*a*b* (50, 2.6772, -79.7751) and (50, 0, -82.7485): 2.0425.
    assert _ciede2000((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485)) == pytest.approx(2.0425, abs=1e-4)
    assert _ciede2000(_lab("#FC0080"), _lab("#FC0080")) == 0.0

