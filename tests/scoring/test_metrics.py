"""Pure metrics over distances, with hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from siamese.scoring.metrics import (
    cmc,
    confusion,
    decide,
    dir_at_far,
    dir_far_curve,
    shrunk_class_thresholds,
    threshold_at_far,
    threshold_at_frr,
    threshold_sweep,
    unknown_roc,
)


def test_decide_nearest_class_and_strict_threshold():
    dist = np.array([[0.1, 0.5], [0.7, 0.3], [0.2, 0.9]])
    predicted, distance, accepted = decide(dist, threshold=0.2)
    np.testing.assert_array_equal(predicted, [0, 1, 0])
    np.testing.assert_allclose(distance, [0.1, 0.3, 0.2])
    # a distance at the threshold is rejected, as in the original
    np.testing.assert_array_equal(accepted, [True, False, False])


def test_confusion_has_an_unknown_column_for_rejections():
    table = confusion(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), np.array([True, True, False, True]), ["a", "b"])
    assert list(table.columns) == ["a", "b", "unknown"]
    assert table.loc["a"].tolist() == [1, 1, 0]
    assert table.loc["b"].tolist() == [0, 1, 1]


def test_roc_auroc_and_eer_on_a_tiny_example():
    known = np.array([0.1, 0.2, 0.3, 0.6])
    unknown = np.array([0.4, 0.5, 0.7, 0.8])
    roc = unknown_roc(known, unknown)
    # 16 known/unknown pairs, unknown is farther in all but (0.6 vs 0.4) and (0.6 vs 0.5)
    assert roc.auroc == pytest.approx(14 / 16)
    # rejecting at >= 0.5 (or anything in (0.4, 0.5]): known rejected 1/4 (0.6), unknown
    # accepted 1/4 (0.4); the threshold sits in the middle of that gap
    assert roc.eer == pytest.approx(0.25)
    assert roc.eer_threshold == pytest.approx(0.45)


def test_perfect_separation_has_zero_eer():
    roc = unknown_roc(np.array([0.1, 0.2]), np.array([0.8, 0.9]))
    assert roc.auroc == 1.0 and roc.eer == 0.0
    assert roc.eer_threshold == pytest.approx(0.5)  # halfway between 0.2 and 0.8


def test_threshold_sweep_hand_values():
    sweep = threshold_sweep(np.array([0.1, 0.3, 0.5]), np.array([True, True, False]), np.array([0.2, 0.6]), np.array([0.0, 0.35, 1.0]))
    np.testing.assert_allclose(sweep["identified_rate"], [0.0, 2 / 3, 2 / 3])
    np.testing.assert_allclose(sweep["false_reject_rate"], [1.0, 1 / 3, 0.0])
    np.testing.assert_allclose(sweep["rejection_rate"], [1.0, 0.5, 0.0])


def test_decide_with_per_class_thresholds_uses_the_nearest_class_threshold():
    dist = np.array([[0.3, 0.9], [0.9, 0.3]])
    _, _, accepted = decide(dist, threshold=0.1, class_thresholds=np.array([0.4, 0.2]))
    np.testing.assert_array_equal(accepted, [True, False])  # 0.3 < 0.4 for class 0; 0.3 >= 0.2 for class 1


def test_threshold_at_frr_hand_values():
    d = np.array([0.5, 0.1, 0.9, 0.3, 1.0, 0.2, 0.7, 0.4, 0.8, 0.6])  # 0.1 ... 1.0, shuffled
    assert threshold_at_frr(d, 0.1) == pytest.approx(0.95)  # one of ten may be rejected: between 0.9 and 1.0
    assert threshold_at_frr(d, 0.2) == pytest.approx(0.85)
    assert threshold_at_frr(d, 0.25) == pytest.approx(0.85)  # floor(2.5) = 2
    top = threshold_at_frr(d, 0.05)  # none may be rejected: just above the largest
    assert top > 1.0 and top == pytest.approx(1.0)
    for target in (0.0, 0.05, 0.1, 0.2, 0.3):
        assert (d >= threshold_at_frr(d, target)).mean() <= target + 1e-12


def test_threshold_at_frr_accepts_ties_at_the_boundary():
    # two of five may be rejected, but the 3rd and 4th largest are equal: only the largest goes
    assert threshold_at_frr(np.array([0.1, 0.2, 0.5, 0.5, 0.9]), 0.4) == pytest.approx(0.7)
    with pytest.raises(ValueError):
        threshold_at_frr(np.array([0.1]), 1.0)


def test_shrunk_class_thresholds_pull_small_classes_toward_the_global_one():
    own = np.array([0.1, 0.2, 0.3, 0.4, 0.9])
    labels = np.array([0, 0, 0, 0, 1])
    t = shrunk_class_thresholds(own, labels, 3, target_frr=0.0, global_threshold=0.5, prior=4.0)
    # class 0: its own threshold just above 0.4, weight 4 against 4: halfway to 0.5
    assert t[0] == pytest.approx((4 * 0.4 + 4 * 0.5) / 8)
    assert t[1] == pytest.approx((1 * 0.9 + 4 * 0.5) / 5)
    assert t[2] == 0.5  # no held-out image


def test_dir_at_far_hand_values():
    known = np.array([0.1, 0.2, 0.4, 0.6])
    correct = np.array([True, True, False, True])
    unknown = np.array([0.9, 0.3, 0.7, 0.5])
    # FAR 0.25: one of four unknown may be accepted -> threshold 0.5 (0.3 accepted);
    # known below 0.5 and right: 0.1 and 0.2 (0.4 is wrong) -> 2 of 4
    assert threshold_at_far(unknown, 0.25) == pytest.approx(0.5)
    assert dir_at_far(known, correct, unknown, 0.25) == pytest.approx(0.5)
    # FAR 0: threshold 0.3 -> 0.1, 0.2 -> 0.5;  FAR 1: no limit -> accuracy 0.75
    assert dir_at_far(known, correct, unknown, 0.0) == pytest.approx(0.5)
    assert dir_at_far(known, correct, unknown, 1.0) == pytest.approx(0.75)
    far, dir_, thresholds = dir_far_curve(known, correct, unknown)
    np.testing.assert_allclose(far, [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(dir_, [0.5, 0.5, 0.75, 0.75, 0.75])  # at 0.7 the right 0.6 counts too
    np.testing.assert_allclose(thresholds, [0.3, 0.5, 0.7, 0.9, np.inf])


def test_cmc_hand_values():
    dist = np.array([
        [0.1, 0.5, 0.9],  # true 0: rank 1
        [0.2, 0.5, 0.1],  # true 1: two nearer -> rank 3
        [0.4, 0.3, 0.6],  # true 0: rank 2
        [0.3, 0.3, 0.9],  # true 1: tie with class 0 counts in its favour -> rank 1
    ])
    assert cmc(dist, np.array([0, 1, 0, 1])) == pytest.approx([0.5, 0.75, 1.0])  # three classes: three ranks
