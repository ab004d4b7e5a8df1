"""``ChannelListener``: what ``listen_to_channel`` yields, an async iterator over one bounded queue.

Both the consumer's own channel (:mod:`.consumer`) and the process's shared
group memberships (:mod:`.groups`) put messages into listeners; neither owns
the class, so either can name it without importing the other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from ..observability import count_dropped

__all__ = ["ChannelListener"]

logger = logging.getLogger("django_gql_channels")


class ChannelListener:
    """Async iterator over channel-layer messages of one ``type`` (or several, in arrival order).

    ``timeout`` bounds the wait for each message; when it passes, iteration
    ends quietly. Messages beyond ``max_queued`` waiting ones are dropped, so
    a stalled client cannot grow memory without bound. Drops are logged at
    most once per listener per :attr:`drop_warning_interval` seconds, with the
    count since the last line: a stalled client must not flood the log either.

    The queue is a plain list and the readers' futures, not an
    ``asyncio.Queue``: one listener per subscription, and an idle
    ``asyncio.Queue`` holds four deques (about 3 KiB) where an empty list
    holds 56 bytes. A put wakes every waiting reader; each takes a message
    only once it runs, so a reader cancelled (or timed out) after waking
    leaves its message queued, as ``asyncio.Queue.get`` does.
    """

    __slots__ = ("_items", "_max_queued", "_unreported", "_waiters", "_warned_at", "dropped", "on_wait", "timeout",
                 "type", "types")

    #: Seconds between two "Dropped" warnings of one listener.
    drop_warning_interval: float = 10.0

    def __init__(self, type: str | Iterable[str], *, timeout: float | None, max_queued: int) -> None:
        self.types: tuple[str, ...] = (type,) if isinstance(type, str) else tuple(dict.fromkeys(type))
        if not self.types:
            raise ValueError("listen_to_channel needs at least one message type.")
        self.type = self.types[0] if len(self.types) == 1 else "|".join(self.types)
        self.timeout = timeout
        self.dropped = 0
        #: drops not yet in a log line, and when the last line was written (monotonic)
        self._unreported = 0
        self._warned_at: float | None = None
        #: Called once, the first time a reader finds no message waiting.
        self.on_wait: Callable[[], None] | None = None
        #: messages waiting to be read, oldest first; at most ``max_queued`` (0: no bound)
        self._items: list[dict[str, Any]] = []
        self._max_queued = max_queued
        #: futures of the readers waiting for a message (usually none or one)
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def pending(self) -> int:
        """How many messages wait to be read."""
        return len(self._items)

    def put(self, message: dict[str, Any]) -> None:
        items = self._items
        if 0 < self._max_queued <= len(items):
            self.dropped += 1
            count_dropped()
            self._unreported += 1
            now = time.monotonic()
            if self._warned_at is None or now - self._warned_at >= self.drop_warning_interval:
                self._report_drops(now)
            return
        items.append(message)
        waiters = self._waiters
        if waiters:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
            waiters.clear()

    def _report_drops(self, now: float) -> None:
        first = self._warned_at is None
        self._warned_at = now
        count, self._unreported = self._unreported, 0
        if first:
            logger.warning("Dropped a %r message: %d already wait for a slow subscriber (further drops of "
                           "this subscription are counted, one line per %g s).",
                           self.type, self._max_queued, self.drop_warning_interval)
        else:
            logger.warning("Dropped %d %r message(s) in the last %g s: %d already wait for a slow subscriber "
                           "(%d dropped in all).", count, self.type, self.drop_warning_interval,
                           self._max_queued, self.dropped)

    def close(self) -> None:
        """Log the drops no line has told yet (the listener ends)."""
        if self._unreported:
            self._report_drops(time.monotonic())

    def __aiter__(self) -> ChannelListener:
        return self

    async def __anext__(self) -> dict[str, Any]:
        items = self._items
        if items:
            return items.pop(0)
        if self.on_wait is not None:
            on_wait, self.on_wait = self.on_wait, None
            on_wait()
        try:
            if self.timeout is None:
                return await self._get()
            return await asyncio.wait_for(self._get(), self.timeout)
        except TimeoutError:
            raise StopAsyncIteration from None

    async def _get(self) -> dict[str, Any]:
        items = self._items
        while not items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                raise
        return items.pop(0)
