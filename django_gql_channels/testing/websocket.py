"""The WebSocket test client: ``GraphQLWebsocketCommunicator`` and the operations it runs.

Documented and imported as ``django_gql_channels.testing``; the results it
gives are ``GraphQLResult`` objects (``results.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import unquote, urlparse

import channels.db
from asgiref.testing import ApplicationCommunicator

from ..exceptions import ConnectionRejectionError
from .results import GraphQLResult

__all__ = ["GraphQLSubscription", "GraphQLWebsocketCommunicator", "WebSocketClosed"]


def _no_op() -> None:
    pass


_waiters_keeping_connections = 0
# channels.db imports Django's close_old_connections, which types-channels leaves out.
_channels_db: Any = channels.db
_close_old_connections = _channels_db.close_old_connections


@contextlib.contextmanager
def keep_test_db_connections() -> Iterator[None]:
    """While any communicator waits, Channels' DB hygiene must not close the test's connections.

    Channels' own communicator wraps each wait in ``mock.patch``; with several
    communicators waiting at once (``asyncio.gather``), those patches unwind
    out of order and leave the no-op installed for good, or the real function
    back in place while others still wait. One count for the whole process
    keeps the patch in place exactly while at least one communicator waits.
    """
    global _waiters_keeping_connections, _close_old_connections
    if _waiters_keeping_connections == 0:
        _close_old_connections = _channels_db.close_old_connections
        _channels_db.close_old_connections = _no_op
    _waiters_keeping_connections += 1
    try:
        yield
    finally:
        _waiters_keeping_connections -= 1
        if _waiters_keeping_connections == 0:
            _channels_db.close_old_connections = _close_old_connections


_DEFAULT_HEADERS = [(b"host", b"testserver"), (b"origin", b"http://testserver")]


class WebSocketClosed(Exception):
    """The server closed the socket (or refused it); ``code`` and ``reason`` say why."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"WebSocket closed with code {code}" + (f": {reason}" if reason else ""))
        self.code = code
        self.reason = reason


class _WebsocketCommunicator(ApplicationCommunicator):
    """The WebSocket half of Channels' ``WebsocketCommunicator``, without importing ``channels.testing``.

    Same scope, same ``send_to`` / ``send_json_to`` / ``receive_from`` /
    ``receive_json_from`` shortcuts; every wait keeps the test's database
    connections, as Channels' does.
    """

    def __init__(self, application: Any, path: str, headers: list[tuple[bytes, bytes]] | None = None,
                 subprotocols: list[str] | None = None, spec_version: str | None = None) -> None:
        if not isinstance(path, str):
            raise TypeError(f"Expected str, got {type(path)}")
        parsed = urlparse(path)
        scope: dict[str, Any] = {
            "type": "websocket",
            "path": unquote(parsed.path),
            "query_string": parsed.query.encode("utf-8"),
            "headers": headers or [],
            "subprotocols": subprotocols or [],
        }
        if spec_version:
            scope["spec_version"] = spec_version
        super().__init__(application, scope)
        self.response_headers: list[tuple[bytes, bytes]] | None = None

    async def send_input(self, message: dict[str, Any]) -> None:
        with keep_test_db_connections():
            await super().send_input(message)

    async def receive_output(self, timeout: float = 1) -> dict[str, Any]:
        with keep_test_db_connections():
            output: dict[str, Any] = await super().receive_output(timeout)
            return output

    async def wait(self, timeout: float = 1) -> None:
        with keep_test_db_connections():
            await super().wait(timeout)

    async def send_to(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Send one frame: exactly one of ``text_data`` and ``bytes_data``."""
        if (text_data is None) == (bytes_data is None):
            raise ValueError("Pass exactly one of text_data and bytes_data.")
        if text_data is not None:
            await self.send_input({"type": "websocket.receive", "text": text_data})
        else:
            await self.send_input({"type": "websocket.receive", "bytes": bytes_data})

    async def send_json_to(self, data: Any) -> None:
        await self.send_to(text_data=json.dumps(data))

    async def receive_from(self, timeout: float = 1) -> str | bytes:
        """The next frame's text or bytes; an ``AssertionError`` if the app sent something else."""
        message = await self.receive_output(timeout)
        assert message["type"] == "websocket.send", f"expected a websocket.send, got {message!r}"
        text = message.get("text")
        frame: str | bytes = text if text is not None else message["bytes"]
        return frame

    async def receive_json_from(self, timeout: float = 1) -> Any:
        return json.loads(await self.receive_from(timeout))

    async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
        """Tell the app the client went away and wait for it to finish."""
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(timeout)


class GraphQLWebsocketCommunicator(_WebsocketCommunicator):
    """A GraphQL client for an ASGI app, speaking either subprotocol.

    ``protocol`` is ``"graphql-transport-ws"`` (default) or ``"graphql-ws"``
    (legacy); ``None`` offers no subprotocol. ``connection_params`` become the
    ``connection_init`` payload. ``timeout`` (settable at any time) bounds
    every wait for the server; a wait that runs out raises ``TimeoutError``
    and leaves the app running. ``headers`` default to a ``testserver`` Host
    and Origin, which Channels' origin check accepts under Django's test
    runner.

    As an async context manager it connects and initialises on entry and
    disconnects on exit.
    """

    def __init__(
        self,
        application: Any,
        path: str,
        connection_params: dict[str, Any] | None = None,
        protocol: str | None = "graphql-transport-ws",
        *,
        headers: Sequence[tuple[bytes, bytes]] | None = None,
        subprotocols: Sequence[str] | None = None,
        timeout: float = 5.0,
    ) -> None:
        if subprotocols is None:
            subprotocols = [protocol] if protocol else []
        super().__init__(application, path, headers=list(_DEFAULT_HEADERS if headers is None else headers),
                         subprotocols=list(subprotocols))
        self.protocol = protocol
        self.connection_params = connection_params
        self.timeout = timeout
        self.connected = False
        self.subprotocol: str | None = None
        self.close_code: int | None = None
        self.close_reason = ""
        #: ``connection_ack`` arrived.
        self.acknowledged = False
        #: The ``connection_ack`` payload, if the server sent one.
        self.ack_payload: Any = None
        #: Messages without an operation id (``ka``, ``ping``, ``pong``...), in order.
        self.control_messages: deque[dict[str, Any]] = deque()
        self._ids = itertools.count(1)
        self._inboxes: dict[Any, deque[dict[str, Any]]] = {}
        self._finished: set[Any] = set()
        self._read_lock = asyncio.Lock()

    # -- connecting ----------------------------------------------------------

    async def connect(self, timeout: float | None = None) -> tuple[bool, Any]:
        """Open the socket: ``(True, subprotocol)`` or ``(False, close_code)``."""
        await self.send_input({"type": "websocket.connect"})
        message = await self._next_output(timeout)
        if message["type"] == "websocket.close":
            self.close_code = message.get("code", 1000)
            return False, self.close_code
        assert message["type"] == "websocket.accept", f"unexpected ASGI message {message!r}"
        self.response_headers = message.get("headers", [])
        self.connected = True
        self.subprotocol = message.get("subprotocol")
        return True, self.subprotocol

    async def gql_init(self) -> Any:
        """Connect if needed, send ``connection_init``, and return the ack payload.

        Once acknowledged, later calls only return the payload again.

        Raises ``ConnectionRejectionError`` when the server refuses the
        connection (4403 or ``connection_error``), ``WebSocketClosed`` when it
        closes for another reason.
        """
        if self.acknowledged:  # already done, e.g. by ``async with``
            return self.ack_payload
        if not self.connected:
            accepted, detail = await self.connect()
            if not accepted:
                raise WebSocketClosed(detail)
        init: dict[str, Any] = {"type": "connection_init"}
        if self.connection_params is not None:
            init["payload"] = self.connection_params
        await self.send_json_to(init)
        while True:
            try:
                message = await self._read_control()
            except WebSocketClosed as exc:
                if exc.code == 4403:
                    raise ConnectionRejectionError(exc.reason) from exc
                raise
            kind = message.get("type")
            if kind == "connection_ack":
                self.acknowledged = True
                self.ack_payload = message.get("payload")
                return self.ack_payload
            if kind == "connection_error":
                raise ConnectionRejectionError(message.get("payload"))
            self.control_messages.append(message)

    async def disconnect(self, code: int = 1000, timeout: float | None = None) -> None:
        """Close the socket from the client's side and wait for the app to finish."""
        self.connected = False
        await super().disconnect(code, self.timeout if timeout is None else timeout)

    async def __aenter__(self) -> GraphQLWebsocketCommunicator:
        await self.gql_init()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.disconnect()

    # -- operations ----------------------------------------------------------

    def subscribe(self, query: str, variables: dict[str, Any] | None = None,
                  operation_name: str | None = None) -> GraphQLSubscription:
        """An operation on this socket, as an async iterator of results.

        Each result is a :class:`GraphQLResult` (``.data``, ``.errors``,
        ``.extensions``, and ``result["data"]``) made from the ``payload`` of
        a ``next``/``data`` message; an ``error`` message gives one with
        ``data`` ``None`` and its ``errors``, and ends the iteration, as does
        ``complete``. A subscription that confirms with a leading ``None``
        gives that ``null`` as its first result. Works for queries and
        mutations too.
        """
        return GraphQLSubscription(self, query, variables, operation_name)

    async def execute(self, query: str, variables: dict[str, Any] | None = None,
                      operation_name: str | None = None) -> GraphQLResult:
        """Run a query or mutation over the socket and return its one result."""
        results = [result async for result in self.subscribe(query, variables, operation_name)]
        assert len(results) == 1, f"expected one result, got {results!r}"
        return results[0]

    async def round_trip(self) -> None:
        """Return once the server has handled every message sent before this call.

        On ``graphql-transport-ws`` this is a ``ping``/``pong``; on the legacy
        protocol, which has no client ping, a ``{ __typename }`` query.
        """
        if self.subprotocol == "graphql-ws" or (self.subprotocol is None and self.protocol == "graphql-ws"):
            await self.execute("{ __typename }")
            return
        await self.send_json_to({"type": "ping", "payload": {"round_trip": True}})
        while True:
            message = await self._read_control()
            if message.get("type") == "pong":
                return
            self.control_messages.append(message)

    def next_id(self) -> str:
        return str(next(self._ids))

    # -- reading -------------------------------------------------------------

    async def _next_output(self, timeout: float | None = None) -> dict[str, Any]:
        """The app's next ASGI message; the app's own exception if it crashed instead."""
        timeout = self.timeout if timeout is None else timeout
        queue = self.output_queue
        if not queue.empty():
            message: dict[str, Any] = queue.get_nowait()
            return message
        getter = asyncio.ensure_future(queue.get())
        try:
            # As Channels' communicator does: the app runs while we wait, and
            # must not close the test's database connections.
            with keep_test_db_connections():
                done, _ = await asyncio.wait({getter, self.future}, timeout=timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not getter.done():
                getter.cancel()
        if getter in done:
            received: dict[str, Any] = getter.result()
            return received
        if self.future.done():
            self.future.result()  # the app raised: show its exception
            raise WebSocketClosed(self.close_code, "the application ended")
        raise TimeoutError(f"the server sent nothing within {timeout}s")

    async def receive_json(self, timeout: float | None = None) -> Any:
        """The next frame from the server, decoded; ``WebSocketClosed`` if it closed instead."""
        message = await self._next_output(timeout)
        kind = message["type"]
        if kind == "websocket.close":
            self.connected = False
            self.close_code = message.get("code", 1000)
            self.close_reason = message.get("reason") or ""
            raise WebSocketClosed(self.close_code, self.close_reason)
        assert kind == "websocket.send", f"unexpected ASGI message {message!r}"
        text = message.get("text")
        return json.loads(text if text is not None else message["bytes"])

    async def _read_one(self) -> None:
        """Read one frame and file it under its operation id (or as a control message)."""
        message = await self.receive_json()
        if not isinstance(message, dict):
            raise AssertionError(f"the server sent a non-object frame: {message!r}")
        op_id = message.get("id")
        if op_id is not None and message.get("type") not in ("connection_error",):
            if op_id not in self._finished:
                self._inboxes.setdefault(op_id, deque()).append(message)
            return
        if message.get("type") == "ping" and self.subprotocol != "graphql-ws":
            await self.send_json_to({"type": "pong"})
        self.control_messages.append(message)

    async def _read_control(self) -> dict[str, Any]:
        while not self.control_messages:
            async with self._read_lock:
                if not self.control_messages:
                    await self._read_one()
        return self.control_messages.popleft()

    async def next_message_for(self, op_id: Any) -> dict[str, Any]:
        """The next message the server sent for operation ``op_id``, as received.

        Internal use: what :class:`GraphQLSubscription` iterates over; a test
        reads results through the subscription instead.
        """
        inbox = self._inboxes.setdefault(op_id, deque())
        while not inbox:
            async with self._read_lock:
                if not inbox:
                    await self._read_one()
        return inbox.popleft()

    def end_operation(self, op_id: Any) -> None:
        """Drop what is queued for ``op_id`` and ignore whatever the server still sends for it.

        Internal use: :class:`GraphQLSubscription` calls it once its operation is over.
        """
        self._finished.add(op_id)
        self._inboxes.pop(op_id, None)


class GraphQLSubscription:
    """One operation on a :class:`GraphQLWebsocketCommunicator`; see ``subscribe()``."""

    def __init__(self, communicator: GraphQLWebsocketCommunicator, query: str,
                 variables: dict[str, Any] | None, operation_name: str | None) -> None:
        self.communicator = communicator
        self.id = communicator.next_id()
        self.payload: dict[str, Any] = {"query": query}
        if variables is not None:
            self.payload["variables"] = variables
        if operation_name is not None:
            self.payload["operationName"] = operation_name
        self.sent = False
        self.done = False

    @property
    def _legacy(self) -> bool:
        return self.communicator.subprotocol == "graphql-ws"

    async def send(self) -> None:
        """Send the ``subscribe``/``start`` message (once)."""
        if not self.sent:
            self.sent = True
            kind = "start" if self._legacy else "subscribe"
            await self.communicator.send_json_to({"id": self.id, "type": kind, "payload": self.payload})

    async def start(self) -> GraphQLSubscription:
        """Send the operation and return once the server has started it.

        For a subscription that means its first result was sent (a
        confirming ``null`` included: it is the first result the iterator
        gives), it waits inside ``listen_to_channel``, or it ended.
        """
        await self.send()
        await self.communicator.round_trip()
        return self

    def __aiter__(self) -> GraphQLSubscription:
        return self

    async def __anext__(self) -> GraphQLResult:
        if self.done:
            raise StopAsyncIteration
        await self.send()
        message = await self.communicator.next_message_for(self.id)
        kind = message.get("type")
        if kind in ("next", "data"):
            return GraphQLResult(message["payload"])
        self.done = True
        self.communicator.end_operation(self.id)
        if kind == "error":
            payload = message.get("payload")
            if isinstance(payload, dict):
                errors = payload.get("errors") or [payload]
            else:
                errors = payload
            return GraphQLResult({"data": None, "errors": errors})
        if kind == "complete":
            raise StopAsyncIteration
        raise AssertionError(f"unexpected message for operation {self.id}: {message!r}")

    async def complete(self) -> None:
        """Stop the operation from the client's side (``complete`` / ``stop``)."""
        if self.sent and not self.done:
            self.done = True
            self.communicator.end_operation(self.id)
            kind = "stop" if self._legacy else "complete"
            await self.communicator.send_json_to({"id": self.id, "type": kind})

    aclose = complete

    async def __aenter__(self) -> GraphQLSubscription:
        return await self.start()

    async def __aexit__(self, *exc_info: Any) -> None:
        if self.communicator.connected:
            await self.complete()
