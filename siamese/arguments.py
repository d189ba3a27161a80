"""The command line's argument types: each turns a bad value into one line (see --help), never a traceback."""

from __future__ import annotations

import argparse

from siamese.data.folders import parse_shape
from siamese.data.thermal_pixels import parse_window
from siamese.errors import SiameseError
from siamese.limits import check_seed


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad option as one line (no usage block) with status 2."""

    def error(self, message: str):  # type: ignore[override]
        raise SiameseError(f"{self.prog}: {message} (see --help)")


def whole(minimum: int):
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {minimum}")
        return value

    return parse


positive_int, count = whole(1), whole(0)


def seed(text: str) -> int:
    """An argparse type: a seed, a whole number from 0 to 2**32 - 1."""
    try:
        return check_seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    except SiameseError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def shape(text: str):
    try:
        return list(parse_shape(text))
    except SiameseError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def window(text: str) -> list[float]:
    try:
        return list(parse_window(text))
    except SiameseError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
