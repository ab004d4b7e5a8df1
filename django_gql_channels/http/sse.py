"""GraphQL over Server-Sent Events: the graphql-sse protocol, at the GraphQL URL.

Both modes of the protocol (the ``graphql-sse`` library's PROTOCOL.md) are
served at the URL of :class:`~django_gql_channels.http.GraphQLHTTPConsumer`
when ``SSE_ENABLED`` is on. This module holds the wire: event streams,
reservations and :class:`SSEHost`, what the SSE side needs from the
consumer; :mod:`.sse_requests` answers the requests.

**Distinct connections mode.** A ``POST`` (or ``GET``) whose ``Accept`` names
``text/event-stream`` gets one event stream for its one operation: ``next``
events (``data:`` the result), then ``complete``. Queries and mutations give
one ``next``; request errors (syntax, validation) are streamed as a ``next``
with ``errors``, since a client reading an event stream cannot read a 400's
body. When ``Accept`` also admits JSON, only subscriptions are streamed.

**Single connection mode.** ``PUT`` reserves a stream and answers 201 with a
token (``text/plain``). ``GET`` with that token (the
``X-GraphQL-Event-Stream-Token`` header; no query parameter, which would
leak it into access logs and ``Referer``), from the client that reserved it,
and ``Accept: text/event-stream`` opens the stream; requests carrying the
token and ``extensions.operationId`` start operations on it (answered 202;
for subscriptions once they listen), whose events carry the id:
``{"id": ..., "payload": result}`` and ``{"id": ...}`` for ``complete``.
``DELETE ?operationId=`` stops one (200, also when it had already ended).
A reservation whose stream is not opened within ``SSE_RESERVATION_TIMEOUT``
seconds expires; a stream's operations stop when the client goes away. A
reservation lives in the process that made it: behind a load balancer,
route a client's requests to one process (sticky sessions) or use distinct
connections mode.

=====================================================  ======
refusal                                                status
=====================================================  ======
token unknown (never reserved, expired or closed)      404
token reserved by another client (user/session/IP)     404
``PUT`` past ``SSE_MAX_RESERVATIONS_PER_CLIENT``       429
``PUT`` with a token already reserved                  409
``PUT`` whose ``Accept`` rules out ``text/plain``      406
a second stream on one token                           409
no ``operationId`` (``extensions`` or ``DELETE`` URL)  400
``operationId`` of an operation still running          409
more than ``MAX_OPERATIONS_PER_CONNECTION`` at once    429
=====================================================  ======

**Operations** are admitted through an
:class:`~django_gql_channels.operations.Admission` and run in its
:class:`~django_gql_channels.operations.Operations`, the door and lifecycle
WebSockets use: a subscription's generator starts when its request arrives,
its confirming ``null`` is streamed like any result, and it is cancelled
(its groups left) as soon as the server reports the client gone. Their
context is the HTTP consumer's (``get_context``) plus ``"ws"``: the
consumer that owns the stream (``listen_to_channel``, ``channel_layer``,
``channel_name``), so subscription resolvers written for WebSockets run
unchanged. In single connection mode that is the consumer of the ``PUT``
(its scope: the user who reserved the stream).

**Keep-alive.** An idle stream gets a comment line (``:``) every
``SSE_KEEP_ALIVE_INTERVAL`` seconds, so proxies do not cut it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
from collections.abc import Awaitable, Callable
from inspect import isawaitable
from typing import TYPE_CHECKING, Any, Protocol

from ..channel_layer.loops import PerLoop
from ..exceptions import ChannelLayerUnavailable
from ..observability import watch_connection
from ..operations import Admission, ConnectionGone, Operations
from ..operations.shared_results import SharedResult
from ..unset import UNSET
from .held_stream import StreamedResponse
from .sse_owners import Owner
from .types import TemporalResponse

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Engine, Operation
    from ..observability.watches import OperationWatch
    from .params import GraphQLParams
    from .types import ChannelsRequest

__all__ = [
    "EVENT_STREAM", "TOKEN_HEADER", "TOKEN_QUERY_KEY", "DistinctSink", "EventStream", "HeldStream", "Reservation",
    "SSEHost",
    "accepts_event_stream", "accepts_text_plain", "format_event", "open_subscription_channel", "reservations",
    "answer_once", "serve", "serve_operation", "stream_admission",
]

EVENT_STREAM = b"text/event-stream"
TOKEN_HEADER = b"x-graphql-event-stream-token"
TOKEN_QUERY_KEY = "token"

_STREAM_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    # nginx buffers responses unless told not to; a buffered stream delivers nothing.
    (b"x-accel-buffering", b"no"),
]
_KEEP_ALIVE = b":\n\n"


def accepts_event_stream(accept: bytes | None) -> bool:
    """Whether ``Accept`` names ``text/event-stream`` (with a non-zero q)."""
    if not accept or EVENT_STREAM not in accept.lower():
        return False
    for part in accept.lower().split(b","):
        media_range, _, params = part.partition(b";")
        if media_range.strip() != EVENT_STREAM:
            continue
        for param in params.split(b";"):
            name, _, value = param.partition(b"=")
            if name.strip() == b"q":
                try:
                    return float(value.strip()) > 0
                except ValueError:
                    return False
        return True
    return False


def accepts_text_plain(accept: bytes | None) -> bool:
    """Whether ``Accept`` admits ``text/plain`` (the reservation token); no header admits anything."""
    if not accept:
        return True
    for part in accept.lower().split(b","):
        media_range, _, params = part.partition(b";")
        if media_range.strip() not in (b"text/plain", b"text/*", b"*/*"):
            continue
        q = 1.0
        for param in params.split(b";"):
            name, _, value = param.partition(b"=")
            if name.strip() == b"q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if q > 0:
            return True
    return False


class SSEHost(Protocol):
    """What the SSE side needs from the consumer of a request (``GraphQLHTTPConsumer`` provides it).

    A reservation's host is the consumer of its ``PUT``: ``"ws"`` in its
    operations' context, the owner of their layer channel.
    """

    engine: Engine
    #: CORS headers every response to this request carries.
    cors_headers: list[tuple[bytes, bytes]]
    #: Set once this request's response has started: a failure can no longer be answered with an error.
    response_started: bool

    @property
    def confirm_timeout(self) -> float:
        """Longest wait, in seconds, for a new subscription to start before its request is answered anyway."""

    @property
    def cleanup_timeout(self) -> float:
        """Longest wait, in seconds, for a stopped operation's clean-up."""

    @property
    def scope(self) -> Any: ...

    @property
    def raw_channel_layer(self) -> Any: ...

    def encode_json(self, data: Any) -> str | bytes: ...

    async def ensure_channel_name(self) -> str: ...

    async def close_channel_layer(self) -> None: ...

    async def prepare_operation(self, params: GraphQLParams, request: ChannelsRequest) -> Operation:
        """Raises ``GraphQLRequestError`` for a document that cannot run."""

    async def execute(self, send: Callable[..., Any], request: ChannelsRequest, params: GraphQLParams,
                      media_type: bytes, *, event_stream: bool = False) -> None:
        """Answer the request as GraphQL over HTTP does."""

    async def operation_context(self, request: ChannelsRequest, host: SSEHost,
                                response: TemporalResponse) -> tuple[Any, Any]:
        """Context and root value of an operation ``host``'s stream runs."""

    async def send_response(self, send: Callable[..., Any], status: int, body: bytes,
                            headers: list[tuple[bytes, bytes]]) -> None: ...


async def open_subscription_channel(host: SSEHost, operation: Operation) -> None:
    """A subscription gets its host's layer channel, so resolvers can use ``ws.channel_name``
    as in the Channels tutorial; other operations make none."""
    if operation.kind == "subscription" and host.raw_channel_layer is not None:
        # Unreachable layer: the subscription runs anyway and its resolver's use of the
        # layer fails it with SERVICE_UNAVAILABLE in the stream, as on a WebSocket.
        with contextlib.suppress(ChannelLayerUnavailable):
            await host.ensure_channel_name()


def stream_admission(host: SSEHost, sink: Any, *, max_operations: Any) -> Admission:
    """The door to one SSE stream's operations, with ``host``'s timeouts and channel."""
    return Admission(host.engine, sink, transport="an SSE stream", confirm_timeout=host.confirm_timeout,
                     cleanup_timeout=host.cleanup_timeout,
                     open_channel=functools.partial(open_subscription_channel, host), max_operations=max_operations)


def format_event(name: bytes, data: str | bytes | None) -> bytes:
    """One event, ``event: name`` then ``data``: a field per line, none for ``None``."""
    if data is None:
        return b"event: " + name + b"\ndata:\n\n"
    if isinstance(data, str):
        data = data.encode()
    if b"\n" in data or b"\r" in data:
        # Every line of a multi-line value needs its own "data:" field.
        lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        return b"event: " + name + b"\n" + b"".join(b"data: " + line + b"\n" for line in lines) + b"\n"
    return b"event: " + name + b"\ndata: " + data + b"\n\n"


class EventStream(StreamedResponse):
    """One ``text/event-stream`` response: started on first write, ended once."""

    __slots__ = ()

    stream_headers = _STREAM_HEADERS
    # A comment line: starts the response without an event.
    open_chunk = _KEEP_ALIVE
    heartbeat = _KEEP_ALIVE
    description = "event stream"


class _Encoder:
    """The consumer's ``encode_json`` hook, sync or async."""

    __slots__ = ("_encode",)

    def __init__(self, encode: Callable[[Any], Any]) -> None:
        self._encode = encode

    async def __call__(self, data: Any) -> str | bytes:
        encoded = self._encode(data)
        if isawaitable(encoded):
            encoded = await encoded
        return encoded


class DistinctSink:
    """Where the one operation of a distinct-mode stream sends: its events carry no id."""

    __slots__ = ("_encode", "_shared_key", "stream")

    def __init__(self, stream: EventStream, encode: Callable[[Any], Any]) -> None:
        self.stream = stream
        self._encode = _Encoder(encode)
        # Streams whose consumers encode alike send the very same event bytes.
        self._shared_key = ("sse-next", getattr(encode, "__func__", encode))

    async def send_next(self, op_id: Any, payload: dict[str, Any]) -> None:
        await self.stream.write(format_event(b"next", await self._encode(payload)))

    async def send_next_shared(self, op_id: Any, result: SharedResult) -> None:
        chunk = result.cached(self._shared_key)
        if chunk is None:
            chunk = result.store(self._shared_key, format_event(b"next", await self._encode(result.payload)))
        await self.stream.write(chunk)

    async def send_complete(self, op_id: Any) -> None:
        await self.stream.write(format_event(b"complete", None))

    async def send_errors(self, op_id: Any, errors: list[dict[str, Any]]) -> None:
        await self.send_next(op_id, {"errors": errors})
        await self.send_complete(op_id)


class Reservation:
    """A single-connection-mode stream: reserved by ``PUT``, opened by ``GET``, fed by token requests.

    Its events wait (and so its operations pause) until the stream is opened.
    """

    def __init__(self, token: str, host: SSEHost, timeout: float, owner: Owner, quota: Owner) -> None:
        self.token = token
        #: Who reserved it (:func:`~.sse_owners.reservation_owner`): only they may use the token.
        self.owner = owner
        #: Whose reservation cap it counts against (:func:`~.sse_owners.quota_owner`).
        self.quota = quota
        #: The consumer of the ``PUT``: ``"ws"`` in every operation's context.
        self.host = host
        #: ``MAX_OPERATIONS_PER_CONNECTION`` counts the operations of one stream.
        self.admission = stream_admission(host, self, max_operations=UNSET)
        self.operations = self.admission.operations
        self.stream: EventStream | None = None
        self.opened = asyncio.Event()
        self.closed = False
        self._encode = _Encoder(host.encode_json)
        self._closing: asyncio.Task[None] | None = None
        self._expiry = asyncio.get_running_loop().call_later(timeout, self._expire)

    # -- the registry --------------------------------------------------------

    @classmethod
    def reserve(cls, host: SSEHost, timeout: float, owner: Owner, quota: Owner) -> Reservation:
        registry = _reservations()
        token = secrets.token_urlsafe(24)
        reservation = registry[token] = cls(token, host, timeout, owner, quota)
        counts = _held()
        counts[quota] = counts.get(quota, 0) + 1
        return reservation

    @staticmethod
    def find(token: str, owner: Owner | None = None) -> Reservation | None:
        """The reservation of ``token``; with ``owner``, only when they reserved it."""
        reservation = _reservations().get(token)
        if reservation is not None and owner is not None and reservation.owner != owner:
            return None
        return reservation

    @staticmethod
    def held_by(quota: Owner) -> int:
        """How many reservations count against ``quota`` in this event loop."""
        return _held().get(quota, 0)

    def _expire(self) -> None:
        if self.stream is None and not self.closed:
            # Kept: the loop holds tasks only weakly.
            self._closing = asyncio.get_running_loop().create_task(self.close())

    async def close(self) -> None:
        """Forget the token, stop every operation, leave every group the stream's consumer joined."""
        if self.closed:
            return
        self.closed = True
        self._expiry.cancel()
        registry = _reservations()
        if registry.get(self.token) is self:
            del registry[self.token]
            counts = _held()
            left = counts.get(self.quota, 1) - 1
            if left > 0:
                counts[self.quota] = left
            else:
                counts.pop(self.quota, None)
        self.opened.set()  # wake operations waiting to send: they find the stream closed
        await self.operations.stop_all()
        await self.host.close_channel_layer()

    # -- the stream ------------------------------------------------------------

    def open(self, stream: EventStream) -> None:
        self._expiry.cancel()
        self.stream = stream
        self.opened.set()

    async def _write(self, chunk: bytes) -> None:
        if not self.opened.is_set():
            await self.opened.wait()
        if self.stream is None:
            raise ConnectionGone("the reservation expired before its stream was opened")
        await self.stream.write(chunk)

    # -- OperationSink ---------------------------------------------------------

    async def send_next(self, op_id: Any, payload: dict[str, Any]) -> None:
        await self._write(format_event(b"next", await self._encode({"id": op_id, "payload": payload})))

    async def send_complete(self, op_id: Any) -> None:
        await self._write(format_event(b"complete", await self._encode({"id": op_id})))

    async def send_errors(self, op_id: Any, errors: list[dict[str, Any]]) -> None:
        await self.send_next(op_id, {"errors": errors})
        await self.send_complete(op_id)


#: event loop -> {token: reservation}
_reservations_by_loop: PerLoop[str, Reservation] = PerLoop()
_reservations = _reservations_by_loop.get
#: event loop -> {quota owner: reservations held}
_held_by_loop: PerLoop[Owner, int] = PerLoop()
_held = _held_by_loop.get


def reservations() -> dict[str, Reservation]:
    """This event loop's reservations by token, open or waiting (a copy, to inspect)."""
    return dict(_reservations())


async def _wait_disconnect(receive: Callable[..., Any]) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class HeldStream(Protocol):
    """A streamed response :func:`serve` holds open: an event stream, or a multipart one."""

    #: The client went away, or the stream was ended.
    closed: bool

    async def keep_alive(self) -> None:
        """Tell proxies the idle stream is alive."""

    async def end(self) -> None:
        """End the response (once)."""


async def serve(stream: HeldStream, receive: Callable[..., Any], operations: Operations | None,
                keep_alive_interval: float | None) -> None:
    """Hold ``stream`` open until the client goes away (or ``operations`` have all ended).

    Whatever ends it, the operations are stopped and their clean-up awaited
    before this returns: no generator outlives its stream.
    """
    disconnect = asyncio.ensure_future(_wait_disconnect(receive))
    finished = asyncio.ensure_future(operations.wait_all()) if operations is not None else None
    waiting = {disconnect} if finished is None else {disconnect, finished}
    gone = False
    try:
        while True:
            done, _ = await asyncio.wait(waiting, timeout=keep_alive_interval,
                                         return_when=asyncio.FIRST_COMPLETED)
            if done:
                gone = disconnect in done
                break
            await stream.keep_alive()
    finally:
        if gone:
            stream.closed = True  # nothing more is sent: operations stop at their next event
        for task in waiting:
            task.cancel()
        if disconnect.done() and not disconnect.cancelled():
            disconnect.exception()  # retrieved: a failing receive means the client is gone too
        if operations is not None:
            await operations.stop_all()
        if not gone:
            await stream.end()


async def serve_operation(host: SSEHost, stream: StreamedResponse, admission: Admission,
                          receive: Callable[..., Any] | None, request: ChannelsRequest, params: GraphQLParams,
                          operation: Operation, *,
                          watch: OperationWatch | None, transport: str, hand_over_to: str | None,
                          keep_alive_interval: float | None) -> None:
    """Run a stream's one operation (distinct connections: SSE, multipart subscriptions) until it
    ends or the client goes; ``stream.response`` collects the headers its resolvers set.

    The connection counts as one of ``transport`` from before the operation starts (its first
    result may reach the client before ``start()`` returns) until the stream is done.
    """
    assert stream.response is not None
    context, root_value = await host.operation_context(request, host, stream.response)
    await admission.open_channel(operation)
    host.response_started = True
    connection = None
    if watch is not None:  # from here the stream's own operation task finishes it
        watch.hand_over(hand_over_to)
        connection = watch_connection(transport, host.scope)
    try:
        await admission.start(None, operation, params.variables, context, root_value, watch=watch)
        if operation.kind == "subscription":
            with contextlib.suppress(ConnectionGone):
                await stream.open()  # listening: let the client know
        assert receive is not None
        await serve(stream, receive, admission.operations, keep_alive_interval)
    finally:
        if connection is not None:
            connection.close()


async def answer_once(host: SSEHost, stream: StreamedResponse, message: Awaitable[None]) -> None:
    """A stream whose only message (a request error) is ``message``, written to ``stream``; then its end."""
    host.response_started = True
    with contextlib.suppress(ConnectionGone):
        await message
    await stream.end()
