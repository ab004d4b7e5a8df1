"""Small command-line pieces the management commands share."""

from __future__ import annotations

import argparse
import math

__all__ = ["FAILED", "INTERRUPTED", "USAGE_ERROR", "non_negative_float", "plain", "plural", "positive_float",
           "positive_int"]

FAILED = 1  # the command ran and found something wrong
USAGE_ERROR = 2  # the arguments cannot be used (argparse exits with 2 too)
INTERRUPTED = 130  # stopped by SIGINT/SIGTERM before finishing, as shells report Ctrl-C


def plain(text: str) -> str:
    """A ``style_func`` that leaves text as it is (data and progress must not be coloured)."""
    return text


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, not {text!r}")
    return value


def positive_float(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, not {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, not {text!r}")
    return value
