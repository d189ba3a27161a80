"""The gallery files: written and read back, checked on load, never unpickled."""

from __future__ import annotations

import json

import numpy as np
import pytest

from siamese.errors import SiameseError
from siamese.gallery.store import Enrolled, EnrolledPerson, name_problem, read_enrolled, stamp, write_enrolled

TRAINED = ["alice", "bob"]


def person(name: str, n: int) -> EnrolledPerson:
    return EnrolledPerson(name, "2026-01-01T00:00:00+00:00", tuple(f"../data/{name}/{i}.png" for i in range(n)),
                          tuple(f"gallery/{name}/{i:03d}.png" for i in range(n)))


def two_people() -> Enrolled:
    rng = np.random.default_rng(0)
    return Enrolled().plus([person("carol", 2), person("dave", 3)], [rng.normal(size=(2, 4)), rng.normal(size=(3, 4))])


def test_no_gallery_file_means_nobody_enrolled(tmp_path):
    assert read_enrolled(tmp_path, TRAINED).names == [] and stamp(tmp_path) is None


def test_written_gallery_reads_back_and_removing_renumbers(tmp_path):
    gallery = two_people()
    write_enrolled(tmp_path, TRAINED, gallery)
    back = read_enrolled(tmp_path, TRAINED, 4)
    assert back.names == ["carol", "dave"] and back.people == gallery.people
    np.testing.assert_allclose(back.embeddings, gallery.embeddings)
    assert back.labels.tolist() == [0, 0, 1, 1, 1]
    without = back.without("carol")
    assert without.names == ["dave"] and without.labels.tolist() == [0, 0, 0]
    np.testing.assert_allclose(without.embeddings, gallery.embeddings[2:])
    write_enrolled(tmp_path, TRAINED, without.without("dave"))
    assert read_enrolled(tmp_path, TRAINED).names == []


@pytest.mark.parametrize("name, reason", [
    ("", "empty"), ("alice", "trained on"), ("carol", "already enrolled"), ("Unknown", "rejected probe"),
    ("a/b", "slash"), (".hidden", "leading dot"), (" eve", "space"), ("x" * 101, "more than 100"),
])
def test_unusable_names_are_refused_with_a_reason(name, reason):
    assert reason in name_problem(name, TRAINED, ["carol"])


def test_usable_name():
    assert name_problem("Eve Smith-Jones", TRAINED, ["carol"]) is None


def damage(tmp_path, change):
    write_enrolled(tmp_path, TRAINED, two_people())
    record = json.loads((tmp_path / "gallery.json").read_text())
    change(record)
    (tmp_path / "gallery.json").write_text(json.dumps(record))


@pytest.mark.parametrize("change, field", [
    (lambda r: r.update(trained=["zed"]), "field trained"),
    (lambda r: r.update(format_version=9), "field format_version"),
    (lambda r: r["people"][1].update(name="alice"), "field people[1].name"),
    (lambda r: r["people"][1].update(name="carol"), "field people[1].name"),
    (lambda r: r["people"][0]["images"][0].update(copy="../../etc/passwd"), "field people[0].images[0].copy"),
    (lambda r: r["people"][0].update(images=[]), "field people[0].images"),
    (lambda r: r["people"][0]["images"].pop(), "field embeddings"),  # counts no longer match the arrays
])
def test_damaged_json_names_the_file_and_field(tmp_path, change, field):
    damage(tmp_path, change)
    with pytest.raises(SiameseError, match="gallery") as caught:
        read_enrolled(tmp_path, TRAINED, 4)
    assert field in str(caught.value) and "\n" not in str(caught.value)


def test_wrong_dimension_and_pickled_arrays_are_refused(tmp_path):
    write_enrolled(tmp_path, TRAINED, two_people())
    with pytest.raises(SiameseError, match="4 values per row, not 8"):
        read_enrolled(tmp_path, TRAINED, 8)
    np.savez(tmp_path / "gallery.npz", embeddings=np.array([object()] * 5, dtype=object), labels=np.zeros(5, np.int64))
    with pytest.raises(SiameseError, match="cannot be read as plain arrays"):
        read_enrolled(tmp_path, TRAINED, 4)
    np.savez(tmp_path / "gallery.npz", embeddings=np.full((5, 4), np.nan), labels=np.array([0, 0, 1, 1, 1]))
    with pytest.raises(SiameseError, match="NaN"):
        read_enrolled(tmp_path, TRAINED, 4)
