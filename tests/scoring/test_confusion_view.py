"""The per-class confusion frame and the top confusions (siamese.scoring.metrics), checked against hand counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from siamese.scoring.metrics import confusion, per_class_confusion, top_confusions


def table() -> pd.DataFrame:
    """Four classes: a is confused with c twice and b once and rejected once; b is perfect;
    c is rejected three times; d has no test image."""
    rows = {
        "a": {"a": 5, "b": 1, "c": 2, "d": 0, "unknown": 1},
        "b": {"a": 0, "b": 4, "c": 0, "d": 0, "unknown": 0},
        "c": {"a": 0, "b": 0, "c": 2, "d": 0, "unknown": 3},
        "d": {"a": 0, "b": 0, "c": 0, "d": 0, "unknown": 0},
    }
    return pd.DataFrame.from_dict(rows, orient="index")[["a", "b", "c", "d", "unknown"]]


def test_per_class_rows_count_images_identified_confused_and_unknown():
    frame = per_class_confusion(table())
    assert list(frame.columns) == ["class", "images", "identified", "unknown", "confused", "confused with"]
    # Errors first: a has 3 confused + 1 unknown = 4, c has 3, b none; d has no image and is left out.
    assert list(frame["class"]) == ["a", "c", "b"]
    a, c, b = (frame.iloc[i].to_dict() for i in range(3))
    assert a == {"class": "a", "images": 9, "identified": 5, "confused": 3, "confused with": "c (2), b (1)", "unknown": 1}
    assert c == {"class": "c", "images": 5, "identified": 2, "confused": 0, "confused with": "", "unknown": 3}
    assert b == {"class": "b", "images": 4, "identified": 4, "confused": 0, "confused with": "", "unknown": 0}


def test_per_class_names_only_the_top_classes_and_counts_the_rest():
    rows = pd.DataFrame([[1, 4, 3, 2, 1, 0]], index=["a"], columns=["a", "b", "c", "d", "e", "unknown"])
    frame = per_class_confusion(rows, top=2)
    assert frame.loc[0, "confused with"] == "b (4), c (3), 2 more"
    assert frame.loc[0, "confused"] == 10 and frame.loc[0, "images"] == 11


def test_per_class_agrees_with_the_confusion_of_decisions():
    # 3 classes, 6 images: true 0 0 1 1 2 2; predicted 0 1 1 1 0 2; the last one rejected.
    true = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 0, 2])
    accepted = np.array([True, True, True, True, True, False])
    frame = per_class_confusion(confusion(true, predicted, accepted, ["x", "y", "z"])).set_index("class")
    assert frame.loc["x", ["images", "identified", "unknown", "confused"]].tolist() == [2, 1, 0, 1]
    assert frame.loc["x", "confused with"] == "y (1)"
    assert frame.loc["z", ["images", "identified", "unknown", "confused"]].tolist() == [2, 0, 1, 1]
    assert frame.loc["y", ["images", "identified", "unknown", "confused"]].tolist() == [2, 2, 0, 0]
    assert int(frame["images"].sum()) == len(true)


def test_top_confusions_are_the_off_diagonal_cells_most_first():
    top = top_confusions(table())
    assert top.to_dict(orient="records") == [
        {"true class": "a", "taken for": "c", "images": 2},
        {"true class": "a", "taken for": "b", "images": 1},
    ]
    assert len(top_confusions(table(), count=1)) == 1
    perfect = pd.DataFrame([[3, 0, 1], [0, 2, 0]], index=["a", "b"], columns=["a", "b", "unknown"])
    assert top_confusions(perfect).empty and list(top_confusions(perfect).columns) == ["true class", "taken for", "images"]
