"""Splitting a dataset into train/ and test/ copies: stratified, seeded, the dataset untouched."""

from __future__ import annotations

import pytest

from helpers import tree_digest
from siamese.data.split import split_dataset
from siamese.errors import SiameseError


def test_split_copies_stratified_and_leaves_the_dataset_alone(tiny_data, tmp_path):
    before = tree_digest(tiny_data)
    counts = split_dataset(tiny_data / "train", tmp_path / "split", test_fraction=0.5, seed=1)
    assert tree_digest(tiny_data) == before
    assert all(c["test"] == 3 and c["train"] == 3 for c in counts.values())
    again = split_dataset(tiny_data / "train", tmp_path / "split2", test_fraction=0.5, seed=1)
    assert counts == again
    assert tree_digest(tmp_path / "split") == tree_digest(tmp_path / "split2")


def test_split_refuses_to_write_inside_the_dataset(tiny_data):
    with pytest.raises(SiameseError, match="inside the dataset"):
        split_dataset(tiny_data / "train", tiny_data / "train" / "out")
