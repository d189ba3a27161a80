"""The command line's argument types (siamese.arguments): a bad value is one line, never a traceback."""

from __future__ import annotations

import argparse

import pytest

from siamese import arguments
from siamese.errors import SiameseError


@pytest.mark.parametrize("parse, text, words", [
    (arguments.positive_int, "0", "'0' must be at least 1"),
    (arguments.count, "x", "'x' is not a whole number"),
    (arguments.seed, "-1", "seed -1 is not valid"),
    (arguments.seed, "1.5", "'1.5' is not a whole number"),
    (arguments.number, "nan", "'nan' is not a finite number"),
    (arguments.number, "abc", "'abc' is not a number"),
    (arguments.shape, "60,80", "input shape"),
    (arguments.window, "38:28", "38:28"),
])
def test_a_bad_value_is_one_sentence(parse, text, words):
    with pytest.raises(argparse.ArgumentTypeError, match=words) as raised:
        parse(text)
    assert "\n" not in str(raised.value)


def test_good_values_come_back_typed():
    assert arguments.positive_int("3") == 3 and arguments.count("0") == 0 and arguments.seed("4294967295") == 2**32 - 1
    assert arguments.number("0.25") == 0.25 and arguments.shape("60,80,3") == [60, 80, 3] and arguments.window("28:38") == [28.0, 38.0]


def test_the_parser_refuses_with_a_siamese_error_that_points_to_help():
    parser = arguments.Parser(prog="python -m siamese")
    parser.add_argument("--epochs", type=arguments.positive_int)
    with pytest.raises(SiameseError, match=r"^python -m siamese: argument --epochs: '0' must be at least 1 \(see --help\)$"):
        parser.parse_args(["--epochs", "0"])
