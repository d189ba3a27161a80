"""The run folder: a new one is created empty and outside the dataset; cancel requests; run files read."""

from __future__ import annotations

import pytest

from siamese.errors import SiameseError
from siamese.runs.layout import CANCEL_FILE, cancel_requested, clear_cancel_request, read_json, request_cancel
from siamese.runs.locks import claim_run_dir


def test_a_new_run_folder_is_created_with_its_parents(tmp_path):
    run_dir = tmp_path / "runs" / "first"
    with claim_run_dir(run_dir, [tmp_path / "data"]):
        assert run_dir.is_dir()
        (run_dir / "run.json").write_text("{}")
    assert [p.name for p in run_dir.iterdir()] == ["run.json"]  # the lock is gone
    (run_dir / "run.json").unlink()
    with claim_run_dir(run_dir, [tmp_path / "data"]):  # an empty folder may be reused
        pass


def test_a_run_folder_inside_the_dataset_or_holding_files_is_refused(tmp_path):
    data = tmp_path / "data"
    (data / "alice").mkdir(parents=True)
    for inside in (data, data / "runs" / "r"):
        with pytest.raises(SiameseError, match="lies inside the dataset"):
            with claim_run_dir(inside, [data]):
                pass
    assert not (data / "runs").exists()
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "run.json").write_text("{}")
    with pytest.raises(SiameseError, match="not empty"):
        with claim_run_dir(tmp_path / "old", [data]):
            pass


def test_cancel_request_is_a_file_until_cleared(tmp_path):
    assert not cancel_requested(tmp_path)
    request_cancel(tmp_path)
    assert cancel_requested(tmp_path) and (tmp_path / CANCEL_FILE).exists()
    clear_cancel_request(tmp_path)
    clear_cancel_request(tmp_path)  # clearing twice is fine
    assert not cancel_requested(tmp_path)


@pytest.mark.parametrize(
    "content, words",
    [(None, "is missing; train one"), ("{oops", "not valid JSON"), ("[1]", "does not hold a JSON object")],
    ids=["missing", "malformed", "not-an-object"],
)
def test_read_json_says_what_is_wrong(tmp_path, content, words):
    path = tmp_path / "run.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SiameseError, match=words):
        read_json(path, "train one")
