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
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # pragma: no cover
    from .consumer import GraphQLWSConsumer

__all__ = ["MAX_CLOSE_REASON_BYTES", "ProtocolHandler", "close_reason", "describe"]

#: A close frame holds 125 bytes of payload: 2 for the code, 123 for the reason.
MAX_CLOSE_REASON_BYTES = 123


def close_reason(reason: str) -> str:
    """``reason`` cut to what a close frame can carry, never inside a UTF-8 sequence."""
    encoded = reason.encode()
    if len(encoded) <= MAX_CLOSE_REASON_BYTES:
        return reason
    return encoded[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")


def describe(value: Any) -> str:
    """A short JSON-ish name for the type of ``value``, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class ProtocolHandler:
    """One socket's side of a GraphQL-over-WebSocket subprotocol."""

    #: The ``Sec-WebSocket-Protocol`` value this module speaks.
    subprotocol: ClassVar[str]

    def __init__(self, consumer: GraphQLWSConsumer) -> None:
        self.consumer = consumer
        #: ``connection_init`` arrived (whatever came of it).
        self.init_received = False
        #: The connection was acknowledged: operations may start.
        self.acknowledged = False
        self._timers: set[asyncio.Task[None]] = set()

    # -- lifecycle -----------------------------------------------------------

    def on_accept(self) -> None:
        """The socket was accepted with this protocol."""

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

    async def handle(self, message: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

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
