"""What every WebSocket subprotocol module implements, and the steps they share.

A protocol module translates message shapes only: it validates what the
client sends, calls its :class:`ProtocolConnection` (the consumer) to
initialise the connection and to start and stop operations, and says how
results, errors and completions look on the wire.

The steps both protocols take live in :class:`ProtocolHandler` as template
methods: the ``connection_init`` flow (:meth:`ProtocolHandler.receive_connection_init`),
the checks of an operation's payload (:meth:`ProtocolHandler.payload_problem`) and the
keep-alive loop. A client message of type ``T`` is handled by the method
``receive_T``, as Channels' consumers dispatch on ``get_handler_name``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..engine import has_document_reference
from ..engine.json_kinds import json_kind
from ..exceptions import ConnectionRejectionError
from ..unset import UNSET

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Engine

__all__ = ["MAX_CLOSE_REASON_BYTES", "ProtocolConnection", "ProtocolHandler", "close_reason", "encode_id"]

#: A close frame holds 125 bytes of payload: 2 for the code, 123 for the reason.
MAX_CLOSE_REASON_BYTES = 123


@functools.lru_cache(maxsize=4096)
def _encode_str_id(op_id: str) -> str:
    return json.dumps(op_id, ensure_ascii=False)


def encode_id(op_id: Any) -> str:
    """An operation id as JSON, for splicing into a pre-encoded message (cached: sent once per event)."""
    return _encode_str_id(op_id) if op_id.__class__ is str else json.dumps(op_id, ensure_ascii=False)


def close_reason(reason: str) -> str:
    """``reason`` cut to what a close frame can carry, never inside a UTF-8 sequence."""
    encoded = reason.encode()
    if len(encoded) <= MAX_CLOSE_REASON_BYTES:
        return reason
    return encoded[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")


class ProtocolConnection(Protocol):
    """What a protocol handler needs from its connection (``GraphQLWSConsumer`` provides it)."""

    #: Include exception details in internal-error reasons (unless ``engine.mask_errors``).
    debug: bool
    engine: Engine
    keep_alive: bool
    keep_alive_interval: float
    connection_init_wait_timeout: float

    def decode_json(self, data: str | bytes) -> Any: ...

    def encode_json(self, data: Any) -> str: ...

    #: Names ``encode_json`` for shared results (connections with equal keys encode alike).
    encoder_key: Any

    async def send_text(self, text: str) -> None:
        """Send one pre-encoded text frame (nothing once the socket is closing)."""

    async def send_json(self, message: Any) -> None:
        """Send one message; raises ``ConnectionGone`` when the socket is gone."""

    async def close(self, code: int = 1000, reason: str = "") -> None: ...

    async def init_connection(self, payload: dict[str, Any] | None) -> Any:
        """The ack payload (or ``UNSET``); raises ``ConnectionRejectionError`` to refuse."""

    def has_operation(self, op_id: Any) -> bool: ...

    async def start_operation(self, op_id: Any, query: str | None, variables: dict[str, Any] | None,
                              operation_name: str | None, *, document_id: str | None = None,
                              extensions: dict[str, Any] | None = None) -> None: ...

    async def stop_operation(self, op_id: Any) -> bool:
        """False when no operation runs with that id."""


class ProtocolHandler:
    """One socket's side of a GraphQL-over-WebSocket subprotocol.

    Subclasses set :attr:`subprotocol` and :attr:`keep_alive_message`, define
    a ``receive_<type>`` method per client message type, and say how
    messages look on the wire (``send_*``, :meth:`invalid_message`,
    :meth:`internal_error`, the ``init_*`` refusals).
    """

    #: The ``Sec-WebSocket-Protocol`` value this module speaks.
    subprotocol: ClassVar[str]
    #: Sent every ``keep_alive_interval`` seconds once the connection is acknowledged.
    keep_alive_message: ClassVar[dict[str, Any]]
    #: Also send :attr:`keep_alive_message` at once after the ack (the legacy protocol's habit).
    keep_alive_on_ack: ClassVar[bool] = False
    #: Optional fields of an operation's payload, checked by :meth:`payload_problem`.
    payload_fields: ClassVar[tuple[tuple[str, str, type], ...]] = (
        ("variables", "an object", dict),
        ("operationName", "a string", str),
        ("extensions", "an object", dict),
        ("documentId", "a string", str),
    )

    def __init__(self, consumer: ProtocolConnection) -> None:
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
            # JSONDecodeError, and bytes that are not UTF-8.
            await self.invalid_message(f"Invalid JSON: {exc}")
            return
        except (RecursionError, TypeError):
            # Nesting deeper than the interpreter's stack (``"[" * 5000``), or a
            # decode_json override that chokes: invalid all the same, and the
            # exception text is nothing the client needs.
            await self.invalid_message("Invalid JSON: nested too deeply or undecodable")
            return
        await self.handle(message)

    async def handle(self, message: Any) -> None:
        """One decoded client message: dispatched to ``receive_<type>``."""
        if not isinstance(message, dict):
            await self.invalid_message(f"Message is expected to be an object, but got {json_kind(message)}")
            return
        kind = message.get("type")
        handler = getattr(self, f"receive_{kind}", None) if isinstance(kind, str) else None
        if handler is None:
            await self.unknown_type(kind, message)
            return
        await handler(message)

    # -- steps both protocols take ---------------------------------------------

    async def receive_connection_init(self, message: dict[str, Any]) -> None:
        """Check the payload once, ask the consumer, then acknowledge (and start keep-alive) or refuse."""
        if self.init_received:
            await self.init_repeated()
            return
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.init_invalid(
                f"'connection_init' payload must be an object or null, but got {json_kind(payload)}"
            )
            return
        self.init_received = True
        self.stop_timer(self._init_timer)
        self._init_timer = None  # a finished task holds its coroutine until dropped
        consumer = self.consumer
        try:
            ack_payload = await consumer.init_connection(payload)
        except ConnectionRejectionError as exc:
            await self.init_rejected(exc.payload)
            return
        self.acknowledged = True
        ack: dict[str, Any] = {"type": "connection_ack"}
        if ack_payload is not UNSET:
            ack["payload"] = ack_payload
        await consumer.send_json(ack)
        if consumer.keep_alive:
            if self.keep_alive_on_ack:
                await consumer.send_json(self.keep_alive_message)
            self.start_timer(self._keep_alive_forever(consumer.keep_alive_interval))

    async def _keep_alive_forever(self, interval: float) -> None:
        send_json = self.consumer.send_json
        message = self.keep_alive_message
        while True:
            await asyncio.sleep(interval)
            await send_json(message)

    def payload_problem(self, kind: str, payload: Any) -> str | None:
        """What is wrong with the payload of a ``kind`` (``subscribe``/``start``) message, or None."""
        if not isinstance(payload, dict):
            return f"'{kind}' message expects the 'payload' property to be an object, but got {json_kind(payload)}"
        query = payload.get("query")
        if not isinstance(query, str) and (
            query is not None or not has_document_reference(payload.get("documentId"), payload.get("extensions"))
        ):
            return f"'{kind}' payload expects 'query' to be a string, but got {json_kind(query)}"
        for key, expected, check in self.payload_fields:
            value = payload.get(key)
            if value is not None and not isinstance(value, check):
                return f"'{kind}' payload expects '{key}' to be {expected} or null, but got {json_kind(value)}"
        return None

    async def start(self, op_id: Any, payload: dict[str, Any]) -> None:
        """Start the operation a checked payload describes (by text, or a persisted document's id or hash)."""
        await self.consumer.start_operation(op_id, payload.get("query"), payload.get("variables"),
                                            payload.get("operationName"), document_id=payload.get("documentId"),
                                            extensions=payload.get("extensions"))

    async def init_repeated(self) -> None:  # pragma: no cover - abstract
        """A second ``connection_init``."""
        raise NotImplementedError

    async def init_invalid(self, reason: str) -> None:
        """``connection_init`` with a payload that is not an object."""
        await self.invalid_message(reason)

    async def init_rejected(self, payload: Any) -> None:  # pragma: no cover - abstract
        """``on_ws_connect`` raised ``ConnectionRejectionError(payload)``."""
        raise NotImplementedError

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
