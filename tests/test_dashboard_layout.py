"""The rough edges of the pages at 1280x800 (issue 19 item 4): labels that fit, charts that say
something, marks that do not hide each other, and Home's numbers without the wait."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import charts  # the dashboard's own helper modules, imported as its pages do
import headline
import pandas as pd
import pytest
from dashboard_fixtures import DashboardData, crashed, open_page, texts
from test_dashboard_scale import _lab

import siamese


# Train ------------------------------------------------------------------------------------
def test_train_form_placeholders_and_choices_fit_their_fields(dashboard_env: DashboardData):
    """A fifth of the form holds about 16 characters: "auto (bfloat16 where the CPU has it)" was cut
    to "auto (bfloat16 w"; what no longer fits is in the help."""
    at = open_page("train.py")
    for field in at.text_input:
        assert len(field.placeholder) <= 20, field.placeholder
    for box in at.selectbox:
        if box.label in ("Objective", "Precision"):
            assert all(len(o) <= 16 for o in box.options), box.options  # options as shown (formatted)
    precision = next(b for b in at.selectbox if b.label == "Precision")
    assert "bfloat16 where the CPU has" in precision.help and "Blank: the first image's shape" in at.text_input[0].help


# Data -------------------------------------------------------------------------------------
def test_the_class_count_chart_shows_only_when_counts_differ(dashboard_env: DashboardData, tmp_path: Path, monkeypatch):
    at = open_page("data.py")  # the tiny data: 6 training images in every class
    assert not any(json.loads(c.proto.spec)["layout"].get("title", {}).get("text") == "Images per class" for c in at.get("plotly_chart"))
    assert "Every class has 6 images." in texts(at)

    uneven = tmp_path / "own" / "uneven"
    for i, class_dir in enumerate(sorted((dashboard_env.data / "train").iterdir())[:2]):
        shutil.copytree(class_dir, uneven / class_dir.name)
        for extra in sorted((uneven / class_dir.name).iterdir())[: 2 * i]:
            extra.unlink()
    monkeypatch.setenv("SIAMESE_DATA_ROOTS", f"{dashboard_env.data}:{tmp_path / 'own'}")
    at = open_page("data.py")
    at.sidebar.selectbox(key="_dataset_picker").set_value(str(uneven.resolve())).run()
    assert not crashed(at)
    titles = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text") for c in at.get("plotly_chart")]
    assert "Images per class" in titles and "Every class has" not in texts(at)


# Probe and Embeddings charts --------------------------------------------------------------
def test_the_probes_threshold_label_sits_beside_the_bars():
    fig = charts.class_distance_bars({"a": 0.05, "b": 0.5, "c": 1.5}, 0.1, "a", threshold_text="0.1")
    (label,) = fig.layout.annotations
    assert label.text == "threshold 0.1" and label.xref == "paper" and label.x == 1.0 and label.xanchor == "left"
    assert label.y == 0.1 and fig.layout.margin.r >= 100  # in the right margin, level with the line


def map_table(n_classes: int = 3, per_class: int = 4) -> pd.DataFrame:
    rows = [{"file": f"c{c}/{i}.png", "class": f"c{c}", "x": c * 10 + i * 0.1, "y": i * 0.1, "distance_to_representative": 0.1, "representative": i == 0}
            for c in range(n_classes) for i in range(per_class)]
    return pd.DataFrame(rows)


def test_the_probes_star_has_a_legend_entry_and_lets_its_class_show():
    fig = charts.embedding_map(map_table(), ["c0", "c1", "c2"], probe_xy=(0.1, 0.1), legend=False)
    traces = {t.name: t for t in fig.data}
    assert fig.layout.showlegend is True
    assert traces["probe (approximate place)"].showlegend is True and traces["probe (approximate place)"].marker.symbol == "star-open"
    assert traces["representatives"].showlegend is True
    assert all(traces[c].showlegend is False for c in ("c0", "c1", "c2"))  # no class legend on the Probe page
    assert charts.embedding_map(map_table(), ["c0", "c1", "c2"]).layout.showlegend is True


def test_a_tight_cluster_shows_its_points_and_the_map_fills_its_column():
    fig = charts.embedding_map(map_table(), ["c0", "c1", "c2"])
    traces = {t.name: t for t in fig.data}
    point, diamond = traces["c0"].marker, traces["representatives"].marker
    assert point.size <= 6 and point.line.color == "#fff" and point.line.width > 0  # each point ringed apart from its neighbours
    assert diamond.symbol == "diamond-open" and diamond.size >= 2.5 * point.size  # a frame around the cluster, not a lid
    assert fig.layout.yaxis.scaleanchor is None  # an equal aspect left the map a square in the left half of its column


def test_a_map_of_16_classes_has_one_dark_purple():
    """#990099 and #D626FF were two classes alike on the 16-class sample map."""
    def dark_purple(colour: str) -> bool:
        lightness, a, b = _lab(colour)
        return 285 <= math.degrees(math.atan2(b, a)) % 360 <= 340 and lightness < 70
    assert sum(dark_purple(c) for c in charts.CLASS_COLOURS[:16]) == 1


# Home -------------------------------------------------------------------------------------
def test_home_shows_recorded_numbers_while_run_and_images_are_unchanged(dashboard_env: DashboardData):
    cache = Path(os.environ["SIAMESE_DASHBOARD_CACHE"])
    shutil.rmtree(cache, ignore_errors=True)
    at = open_page()
    first = [m.value for m in at.metric]
    assert first and "Recorded at an earlier visit" not in texts(at)
    (record,) = cache.glob("headline-*.json")

    at = open_page()
    assert [m.value for m in at.metric] == first and "Recorded at an earlier visit" in texts(at)

    # A damaged or hostile record is not shown: the numbers are computed again.
    record.write_text(json.dumps({**json.loads(record.read_text()), "accuracy": "![b](http://127.0.0.1:9/x.png)"}))
    at = open_page()
    assert [m.value for m in at.metric] == first and "Recorded at an earlier visit" not in texts(at)

    # A test image touched since: computed again.
    image = sorted((dashboard_env.data / "test").rglob("*.png"))[0]
    stat = image.stat()
    run = siamese.load_run(dashboard_env.run)
    before = headline.record_key(run, dashboard_env.data / "test", dashboard_env.data / "unknown")
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    try:
        assert headline.record_key(run, dashboard_env.data / "test", dashboard_env.data / "unknown") != before
    finally:
        os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.parametrize("record, usable", [
    ({"accuracy": 0.5, "identified_rate": 0.4, "threshold": 0.1, "n_test": 8, "threshold_source": "calibration"}, True),
    ({"accuracy": float("nan"), "identified_rate": 0.4, "threshold": 0.1, "n_test": 8, "threshold_source": "calibration"}, False),
    ({"accuracy": 0.5, "identified_rate": 0.4, "threshold": 0.1, "n_test": -1, "threshold_source": "calibration"}, False),
    ({"accuracy": 0.5, "identified_rate": 0.4, "threshold": 0.1, "n_test": 8}, False),
    ([1, 2], False),
])
def test_a_headline_record_is_used_only_when_it_holds_numbers(record, usable: bool):
    assert headline.valid(record) is usable
