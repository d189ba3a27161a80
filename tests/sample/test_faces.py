"""Tests for the synthetic people: make_identity and make_near_twin."""

from __future__ import annotations

import numpy as np
import pytest

from siamese.errors import SiameseError
from siamese.sample.faces import NEAR_TWIN_BLEND, FaceIdentity, make_identity, make_near_twin
from siamese.sample.rendering import render_face


def _rms(a: np.ndarray, b: np.ndarray) -> float:
    """Root-mean-square gray-level difference of two equally shaped arrays."""
    return float(np.sqrt(np.mean((a - b) ** 2)))


def _twin_distances(blend: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw-pixel distances of twins and strangers to eight known people.

    Twins are made with ``blend``, or with make_near_twin's default when it is None.

    Everyone is rendered in the same six poses and conditions (the same variation
    stream), so a distance measures only how two people differ: it is 0 for an exact
    copy. The distance of two people is the RMS gray-level difference over the six
    images.

    Returns:
        For each twin, its distance to its source and to the nearest other known
        person; and for each ordinary stranger, the distance to the nearest known one.
    """
    seed, people, images = 0, 8, 6

    def rendered(identity: FaceIdentity) -> np.ndarray:
        return np.array([render_face(identity, np.random.default_rng([seed, 3, k])).astype(np.float64) for k in range(images)])

    known = [make_identity(np.random.default_rng([seed, 0, i])) for i in range(1, people + 1)]
    options = {} if blend is None else {"blend": blend}
    twins = [make_near_twin(person, np.random.default_rng([seed, 2, i]), **options) for i, person in enumerate(known, start=1)]
    strangers = [make_identity(np.random.default_rng([seed, 1, i])) for i in range(1, people + 1)]
    known_images = [rendered(person) for person in known]
    twin_images = [rendered(twin) for twin in twins]

    to_source = np.array([_rms(image, known_images[i]) for i, image in enumerate(twin_images)])
    to_other = np.array([min(_rms(image, other) for j, other in enumerate(known_images) if j != i) for i, image in enumerate(twin_images)])
    stranger_to_known = np.array([min(_rms(rendered(stranger), person) for person in known_images) for stranger in strangers])
    return to_source, to_other, stranger_to_known


def _looks_like_near_twins(to_source: np.ndarray, to_other: np.ndarray, stranger_to_known: np.ndarray) -> bool:
    """Whether every twin is a different person who resembles its source most."""
    different = bool(np.all(to_source > 0.25 * np.median(stranger_to_known)))
    nearest_is_source = bool(np.all(to_source < to_other))
    nearer_than_strangers = bool(to_source.max() < stranger_to_known.min())
    return different and nearest_is_source and nearer_than_strangers


def test_near_twin_resembles_its_source_more_than_strangers_resemble_anyone() -> None:
    to_source, to_other, stranger_to_known = _twin_distances()

    # Measured: twins 6.4 to 10.4 gray levels from their source, at least 12.5 from
    # any other known person; strangers at least 11.3 (median 19) from the nearest.
    assert np.all(to_source > 0.25 * np.median(stranger_to_known))
    assert np.all(to_source < to_other)
    assert to_source.max() < stranger_to_known.min()


@pytest.mark.parametrize("blend", [0.0, 0.05, 0.5, 1.0], ids=["copy", "barely-changed", "halfway", "stranger"])
def test_near_twin_checks_reject_copies_and_strangers(blend: float) -> None:
    # The check above has teeth: too small a perturbation (a copy) or too large (a
    # stranger) fails it.
    assert not _looks_like_near_twins(*_twin_distances(blend))


def test_near_twin_keeps_traits_and_ranges() -> None:
    source = make_identity(np.random.default_rng(11))

    copy = make_near_twin(source, np.random.default_rng(12), blend=0.0)
    halfway = make_near_twin(source, np.random.default_rng(12), blend=2 * NEAR_TWIN_BLEND)
    twin = make_near_twin(source, np.random.default_rng(12))
    again = make_near_twin(source, np.random.default_rng(12))

    assert copy == source
    assert twin == again
    assert twin != source
    # The perturbation grows with the blend.
    assert 0 < abs(twin.skin_temp - source.skin_temp) < abs(halfway.skin_temp - source.skin_temp)
    assert (twin.bald, twin.glasses, twin.beard) == (source.bald, source.glasses, source.beard)
    # Scaled features stay the same share of the head as make_identity allows.
    assert 0.32 <= twin.eye_spacing / twin.head_width <= 0.44
    assert 0.21 <= twin.head_width <= 0.34


@pytest.mark.parametrize("blend", [-0.1, 1.5, float("nan"), True], ids=["negative", "above-one", "nan", "bool"])
def test_near_twin_rejects_bad_blend(blend: float) -> None:
    rng = np.random.default_rng(0)

    with pytest.raises(SiameseError, match="blend must be a number from 0 to 1"):
        make_near_twin(make_identity(rng), rng, blend=blend)
