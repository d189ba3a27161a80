"""Outputs: no --csv inside a run folder, and CSV cells never run as spreadsheet formulas."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
import pytest

from helpers import DEMO_RUN, ROOT
from siamese.cli import main
from siamese.runs.output_files import spreadsheet_safe

DATA = ROOT / "sample_data" / "thermal_faces"


@pytest.fixture()
def run_copy(tmp_path: Path) -> Path:
    shutil.copytree(DEMO_RUN, tmp_path / "runs" / "demo_run")
    return tmp_path / "runs" / "demo_run"


@pytest.mark.parametrize("name", ["run.json", "history.csv", "new/table.csv"])
def test_csv_inside_the_run_folder_is_refused_even_with_force(run_copy: Path, capsys, name):
    before = {p.name: p.read_bytes() for p in run_copy.iterdir() if p.is_file()}
    assert main(["evaluate", str(run_copy), str(DATA / "test"), "--csv", str(run_copy / name), "--force"]) == 2
    err = capsys.readouterr().err.strip()
    assert f"lies inside the run folder {run_copy}" in err and "\n" not in err, err
    assert {p.name: p.read_bytes() for p in run_copy.iterdir() if p.is_file()} == before
    assert not (run_copy / "new").exists()


def test_text_cells_that_look_like_formulas_are_quoted_and_numbers_are_not():
    table = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "plain", "a=b"],
                          "distance": [-0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]})
    safe = spreadsheet_safe(table)
    assert safe["name"].tolist() == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "plain", "a=b"]
    assert safe["distance"].tolist() == table["distance"].tolist() and safe["distance"].dtype == float
    assert table["name"][0].startswith("=")  # the caller's table is left as it was


def test_evaluate_csv_quotes_a_class_named_like_a_formula(tmp_path: Path, capsys):
    unknown = tmp_path / "unknown" / "=HYPERLINK(1)"
    unknown.mkdir(parents=True)
    shutil.copy(DATA / "test" / "person_01" / "person_01_025.png", unknown / "face.png")
    out = tmp_path / "out.csv"
    assert main(["evaluate", str(DEMO_RUN), str(DATA / "test"), "--unknown", str(tmp_path / "unknown"), "--csv", str(out), "--json"]) == 0
    capsys.readouterr()
    rows = list(csv.DictReader(out.open(newline="")))
    assert "'=HYPERLINK(1)" in {row["true_class"] for row in rows}
    assert not any(value.startswith(scratch_starts) for row in rows for value in row.values() for scratch_starts in ("=", "+", "@"))
    assert all(float(row["distance"]) >= 0 for row in rows)
