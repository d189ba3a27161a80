"""Structured errors (siamese.errors): what went wrong plus a machine-readable remedy, worded by each surface."""

from __future__ import annotations

import pickle

import pytest

from siamese.errors import CLI_WORDS, REPRESENT, SET, TRAIN, Remedy, SiameseError, refusal


def test_the_command_line_words_the_remedy_after_the_problem():
    error = SiameseError("run folder /data/r does not exist", Remedy(TRAIN, value="/data/r"))
    assert str(error) == "run folder /data/r does not exist; train one with `python -m siamese train DATA --out /data/r`"
    assert error.problem == "run folder /data/r does not exist" and error.remedy.action == TRAIN


def test_shared_words_around_a_remedy_stay_on_every_surface():
    remedy = Remedy(SET, "out", before="wait for it to finish or ", after=" so no run is overwritten")
    assert remedy.worded(CLI_WORDS) == "wait for it to finish or choose another --out so no run is overwritten"
    assert remedy.worded({**CLI_WORDS, (SET, "out"): "choose another run name"}) == "wait for it to finish or choose another run name so no run is overwritten"


def test_a_remedy_without_a_value_has_words_of_its_own():
    assert str(SiameseError("r/representatives.json is missing", Remedy(REPRESENT))) == \
        "r/representatives.json is missing; run `python -m siamese represent` first"


def test_an_unknown_remedy_is_a_programming_error():
    with pytest.raises(ValueError):
        Remedy("reboot")
    with pytest.raises(ValueError):
        Remedy(SET, "colour")


def test_an_error_keeps_its_remedy_across_processes():
    error = pickle.loads(pickle.dumps(SiameseError("a t-SNE map needs at least 4 images, got 3", Remedy(SET, "method", "medoid"))))
    assert error.remedy == Remedy(SET, "method", "medoid") and str(error).endswith("; use --method medoid")


def test_a_refusal_takes_words_or_a_remedy():
    assert str(refusal("x is busy", "wait")) == "x is busy; wait" and refusal("x is busy", "wait").remedy is None
    assert refusal("x is busy", Remedy(SET, "out")).remedy == Remedy(SET, "out")
