"""What every WebSocket subprotocol module implements, and helpers they share.

A protocol module translates message shapes only: it validates what the
client sends, calls the consumer's operation lifecycle
(:meth:`~.consumer.GraphQLWSConsumer.init_connection`,
:meth:`~.consumer.GraphQLWSConsumer.start_operation`,
:meth:`~.consumer.GraphQLWSConsumer.stop_operation`) and says how results,
errors and completions look on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, ClassVar

from ..json_kinds import json_kind

if TYPE_CHECKING:  # pragma: no cover
    from .consumer import GraphQLWSConsumer

__all__ = ["MAX_CLOSE_REASON_BYTES", "ProtocolHandler", "close_reason"]

#: A close frame holds 125 bytes of payload: 2 for the code, 123 for the reason.
MAX_CLOSE_REASON_BYTES = 123


def close_reason(reason: str) -> str:
    """``reason`` cut to what a close frame can carry, never inside a UTF-8 sequence."""
    encoded = reason.encode()
    if len(encoded) <= MAX_CLOSE_REASON_BYTES:
        return reason
    return encoded[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")



class ProtocolHandler:
    """One socket's side of a GraphQL-over-WebSocket subprotocol."""

    #: The ``Sec-WebSocket-Protocol`` value this module speaks.
    subprotocol: ClassVar[str]
    #: Client message ``type`` -> the method handling it.
    handlers: ClassVar[dict[str, Callable[[Any, dict[str, Any]], Awaitable[None]]]]

    def __init__(self, consumer: GraphQLWSConsumer) -> None:
        self.consumer = consumer
        #: ``connection_init`` arrived (whatever came of it).
        self.init_received = False
        #: The connection was acknowledged: operations may start.
        self.acknowledged = False
        self._timers: set[asyncio.Task[None]] = set()
        self._init_timer: asyncio.Task[None] | None = None

    # -- lifecycle -----------------------------------------------------------

    def on_accept(self) -> None:
        """The socket was accepted with this protocol: ``connection_init`` is due."""
        self._init_timer = self.start_timer(self.init_timeout(self.consumer.connection_init_wait_timeout))

    def on_close(self) -> None:
        """The socket is gone: stop every timer this protocol started."""
        for task in self._timers:
            task.cancel()
        self._timers.clear()

    def start_timer(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coroutine`` beside the socket; cancelled when the socket closes."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)
        return task

    async def init_timeout(self, seconds: float) -> None:
        """Close 4408 unless ``connection_init`` arrives within ``seconds``."""
        await asyncio.sleep(seconds)
        if not self.init_received:
            await self.consumer.close(4408, "Connection initialisation timeout")

    @staticmethod
    def stop_timer(task: asyncio.Task[None] | None) -> None:
        if task is not None and task is not asyncio.current_task():
            with contextlib.suppress(RuntimeError):
                task.cancel()

    # -- client to server ----------------------------------------------------

    async def handle_text(self, text: str) -> None:
        """One text frame from the client."""
        try:
            message = self.consumer.decode_json(text)
        except ValueError as exc:
            await self.invalid_message(f"Invalid JSON: {exc}")
            return
        await self.handle(message)

    async def handle(self, message: Any) -> None:
        """One decoded client message: dispatched on its ``type``."""
        if not isinstance(message, dict):
            await self.invalid_message(f"Message is expected to be an object, but got {json_kind(message)}")
            return
        kind = message.get("type")
        handler = self.handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            await self.unknown_type(kind, message)
            return
        await handler(self, message)

    async def unknown_type(self, kind: Any, message: dict[str, Any]) -> None:
        """A message whose ``type`` this protocol does not take from clients."""
        await self.invalid_message(f"Invalid message type {kind!r}", message)

    async def invalid_message(self, reason: str, message: Any = None) -> None:  # pragma: no cover
        """The client sent something this protocol does not allow."""
        raise NotImplementedError

    async def internal_error(self, exc: BaseException) -> None:  # pragma: no cover - abstract
        """Handling a client message failed on the server's side."""
        raise NotImplementedError

    # -- server to client ----------------------------------------------------

    async def send_next(self, op_id: Any, payload: dict[str, Any]) -> None:  # pragma: no cover
        """One result (``data`` and maybe ``errors``) of an operation."""
        raise NotImplementedError

    async def send_complete(self, op_id: Any) -> None:  # pragma: no cover - abstract
        """The operation finished on the server's side."""
        raise NotImplementedError

    async def send_errors(self, op_id: Any, errors: list[dict[str, Any]]) -> None:  # pragma: no cover
        """The operation failed (refused before running, or its stream raised); it is over."""
        raise NotImplementedError
