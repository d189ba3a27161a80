"""Atomic file writes (siamese.runs.atomic_files): a reader sees the old file or the new one, never a part."""

from __future__ import annotations

import json
import os

import pytest

from siamese.errors import SiameseError
from siamese.runs.atomic_files import atomic_write, write_json, write_text


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "run.json"
    write_text(target, "old")

    def half(tmp):
        tmp.write_text("ne")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, half)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["run.json"]


def test_json_and_text_replace_a_regular_file(tmp_path):
    write_json(tmp_path / "a.json", {"x": [1, 2]})
    write_json(tmp_path / "a.json", {"x": 3})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 3}


def test_a_link_is_never_replaced(tmp_path):
    (tmp_path / "precious.txt").write_text("mine")
    os.symlink(tmp_path / "precious.txt", tmp_path / "out.txt")
    with pytest.raises(SiameseError, match="not a regular file"):
        write_text(tmp_path / "out.txt", "theirs")
    assert (tmp_path / "precious.txt").read_text() == "mine" and (tmp_path / "out.txt").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt", "precious.txt"]
