"""Whether one path lies inside another (siamese.data.paths): the one inside-folder check."""

from __future__ import annotations

import os

from siamese.data.paths import inside


def test_a_folder_is_inside_itself_and_its_parents_only(tmp_path):
    data = tmp_path / "data"
    (data / "alice").mkdir(parents=True)
    assert inside(data, data) and inside(data / "alice" / "1.png", data)
    assert not inside(tmp_path, data) and not inside(tmp_path / "data2", data)  # a shared prefix is not a parent


def test_dots_and_links_are_resolved_first(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    assert inside(data / ".." / "data" / "x", data) and not inside(data / ".." / "x", data)
    os.symlink(data, tmp_path / "link")
    assert inside(tmp_path / "link" / "x", data)  # a link into the dataset is the dataset
