"""State kept per event loop: :class:`PerLoop`.

What the process shares between connections (group memberships, shared
operations, SSE reservations) holds tasks and futures, and those belong to one
event loop. A test runner or a thread running its own loop must not see
another loop's state, and a closed loop's state must go with it.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Generic, TypeVar, cast

__all__ = ["PerLoop"]

K = TypeVar("K")
V = TypeVar("V")


class PerLoop(Generic[K, V]):
    """A dict per event loop, created on first use and dropped when its loop is garbage-collected."""

    __slots__ = ("_by_loop",)

    def __init__(self) -> None:
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[K, V]] = weakref.WeakKeyDictionary()

    def get(self) -> dict[K, V]:
        """The running loop's dict (the caller's to change); a ``RuntimeError`` outside a running loop."""
        loop = asyncio.get_running_loop()
        found = self._by_loop.get(loop)
        if found is None:
            found = self._by_loop[loop] = {}
        return found

    def loops(self) -> list[asyncio.AbstractEventLoop]:
        """The loops that have a dict (empty or not); safe to call from any thread."""
        # Copying the weak references is atomic under the GIL, iterating the
        # WeakKeyDictionary itself is not (typeshed leaves its ``data`` out).
        refs = list(cast(Any, self._by_loop).data)
        return [loop for loop in (ref() for ref in refs) if loop is not None]
