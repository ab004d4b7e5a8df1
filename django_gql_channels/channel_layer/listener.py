"""``ChannelListener``: what ``listen_to_channel`` yields, an async iterator over one bounded queue.

Both the consumer's own channel (:mod:`.consumer`) and the process's shared
group memberships (:mod:`.groups`) put messages into listeners; neither owns
the class, so either can name it without importing the other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["ChannelListener"]

logger = logging.getLogger("django_gql_channels")


class ChannelListener:
    """Async iterator over channel-layer messages of one ``type`` (or several, in arrival order).

    ``timeout`` bounds the wait for each message; when it passes, iteration
    ends quietly. Messages beyond ``max_queued`` waiting ones are dropped with
    a warning, so a stalled client cannot grow memory without bound.
    """

    __slots__ = ("_queue", "dropped", "on_wait", "timeout", "type", "types")

    def __init__(self, type: str | Iterable[str], *, timeout: float | None, max_queued: int) -> None:
        self.types: tuple[str, ...] = (type,) if isinstance(type, str) else tuple(dict.fromkeys(type))
        if not self.types:
            raise ValueError("listen_to_channel needs at least one message type.")
        self.type = self.types[0] if len(self.types) == 1 else "|".join(self.types)
        self.timeout = timeout
        self.dropped = 0
        #: Called once, the first time a reader finds no message waiting.
        self.on_wait: Callable[[], None] | None = None
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=max_queued)

    @property
    def pending(self) -> int:
        """How many messages wait to be read."""
        return self._queue.qsize()

    def put(self, message: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped += 1
            logger.warning("Dropped a %r message: %d already wait for a slow subscriber.",
                           self.type, self._queue.maxsize)

    def __aiter__(self) -> ChannelListener:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self.on_wait is not None and self._queue.empty():
            on_wait, self.on_wait = self.on_wait, None
            on_wait()
        try:
            if self.timeout is None:
                message = await self._queue.get()
            else:
                message = await asyncio.wait_for(self._queue.get(), self.timeout)
        except TimeoutError:
            raise StopAsyncIteration from None
        return message
