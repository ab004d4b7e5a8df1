"""Small command-line pieces the management commands share."""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["FAILED", "INTERRUPTED", "USAGE_ERROR", "Stopper", "non_negative_float", "plain", "plural",
           "positive_float", "positive_int"]

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


class Stopper:
    """Turns SIGINT/SIGTERM into a clean stop of a coroutine running on any loop.

    ``signal.signal`` (not ``loop.add_signal_handler``) because ``async_to_sync``
    may run the loop in another thread; handlers only install in the main thread,
    so under ``call_command`` from a worker thread the command simply has none.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signal: int | None = None
        self._callback: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def bind(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        """Call ``callback`` on ``loop`` when a signal arrives (at once if one already did)."""
        self._loop, self._callback = loop, callback
        if self.signal is not None:
            loop.call_soon_threadsafe(callback)

    def _handle(self, signum: int, _frame: Any) -> None:
        first = self.signal is None
        self.signal = signum
        if first and self._loop is not None and self._callback is not None:
            self._loop.call_soon_threadsafe(self._callback)
