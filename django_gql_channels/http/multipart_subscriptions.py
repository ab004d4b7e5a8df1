"""Apollo's multipart HTTP subscriptions: a subscription answered by one ``multipart/mixed`` response.

Apollo Client's ``HttpLink`` sends a subscription as it sends a query, with
``Accept: multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json``
(Apollo's "Multipart HTTP protocol for GraphQL subscriptions"). With
``MULTIPART_SUBSCRIPTIONS_ENABLED`` on, such a request is answered ``200``
with ``Content-Type: multipart/mixed;boundary="graphql";subscriptionSpec="1.0"``
and one ``application/json`` part per message:

=======================================  =============================================
part                                     when
=======================================  =============================================
``{"payload": <result>}``                each result (the confirming ``null`` one too)
``{}``                                   heartbeat: every ``MULTIPART_HEARTBEAT_INTERVAL``
                                         seconds the stream is idle
``{"payload": null, "errors": [...]}``   the subscription failed outside GraphQL
                                         execution (e.g. the channel layer is
                                         unreachable: ``SERVICE_UNAVAILABLE``); last part
=======================================  =============================================

then the closing ``--graphql--`` when the subscription ends on the server's
side. Each part is sent with the delimiter that follows it, so a client
(which splits on delimiters) reads it at once rather than at the next part.

Anything else that request carries is answered as GraphQL over HTTP
answers it: queries and mutations (Apollo Client sends them with a JSON
``Accept``) and request errors are plain JSON when ``Accept`` admits JSON.
Only when it admits nothing but these multipart subscriptions is every
outcome streamed: one part, then the end. A subscription whose ``Accept``
names ``multipart/mixed`` without ``subscriptionSpec`` is not one of them.

The operation runs in the lifecycle every streaming transport shares
(:class:`~django_gql_channels.operations.Operations`, through an
:class:`~django_gql_channels.operations.Admission`), like an SSE stream in
distinct connections mode: its context is the HTTP consumer's plus
``"ws"``, and when the client goes away the subscription is cancelled and
its groups left before the request ends.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..conf import gql_settings
from ..operations import Admission
from ..operations.shared_results import SharedResult
from . import sse
from .held_stream import StreamedResponse
from .hooks import hook_result
from .negotiation import cached_by_value, parse_accept, weight
from .types import TemporalResponse

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Operation
    from ..observability.watches import OperationWatch
    from .params import GraphQLParams
    from .types import ChannelsRequest

__all__ = ["MULTIPART_SUBSCRIPTION", "MultipartSink", "MultipartSubscriptions", "PartStream",
           "accepts_multipart_subscriptions", "format_part"]

#: The reply's content type; also the negotiated media type when nothing else is acceptable.
MULTIPART_SUBSCRIPTION = b'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"'
_SPEC_VERSION = "1.0"

_STREAM_HEADERS = [
    (b"content-type", MULTIPART_SUBSCRIPTION),
    (b"cache-control", b"no-cache"),
    # nginx buffers responses unless told not to; a buffered stream delivers nothing.
    (b"x-accel-buffering", b"no"),
]
#: The (empty) preamble's end: the first delimiter, whose line break each part brings.
_OPENING = b"\r\n--graphql"
_PART_HEAD = b"\r\ncontent-type: application/json; charset=utf-8\r\n\r\n"
_DELIMITER = b"\r\n--graphql"
#: After the last part's delimiter: ``--`` makes it the close delimiter.
_CLOSING = b"--\r\n"


def format_part(body: str | bytes) -> bytes:
    """One JSON part with the delimiter that ends it."""
    if isinstance(body, str):
        body = body.encode()
    return _PART_HEAD + body + _DELIMITER


_HEARTBEAT = format_part(b"{}")


def _accepts(accept: str) -> bool:
    for media_range in parse_accept(accept):
        if media_range.kind != "multipart" or media_range.subtype != "mixed":
            continue
        spec = None
        q = 1.0
        for name, value in media_range.params:
            value = value.strip("\"'")
            if name == "subscriptionspec":
                spec = value
            elif name == "q":
                q = weight(value)
        if spec == _SPEC_VERSION and q > 0:
            return True
    return False


_accepts_value = cached_by_value(_accepts, 64)


def accepts_multipart_subscriptions(accept: bytes | None) -> bool:
    """Whether ``Accept`` names ``multipart/mixed`` with ``subscriptionSpec`` 1.0 (and a non-zero q)."""
    if not accept or b"subscriptionspec" not in accept.lower():
        return False
    return _accepts_value(accept)


class PartStream(StreamedResponse):
    """One ``multipart/mixed`` response: started on first write, ended once (with the close delimiter)."""

    __slots__ = ()

    stream_headers = _STREAM_HEADERS
    opening = _OPENING
    closing = _CLOSING
    heartbeat = _HEARTBEAT
    description = "multipart response"


class MultipartSink:
    """Where the one operation of a multipart response sends: each message a part."""

    __slots__ = ("_encode", "_shared_key", "stream")

    def __init__(self, stream: PartStream, encode: Callable[[Any], Any]) -> None:
        self.stream = stream
        self._encode = encode
        # Responses whose consumers encode alike send the very same part bytes.
        self._shared_key = ("multipart-payload", getattr(encode, "__func__", encode))

    async def _part(self, message: dict[str, Any]) -> bytes:
        return format_part(await hook_result(self._encode(message)))

    async def send_next(self, op_id: Any, payload: dict[str, Any]) -> None:
        await self.stream.write(await self._part({"payload": payload}))

    async def send_next_shared(self, op_id: Any, result: SharedResult) -> None:
        chunk = result.cached(self._shared_key)
        if chunk is None:
            chunk = result.store(self._shared_key, await self._part({"payload": result.payload}))
        await self.stream.write(chunk)

    async def send_complete(self, op_id: Any) -> None:
        """Nothing to send: the close delimiter follows once the operation is over."""

    async def send_errors(self, op_id: Any, errors: list[dict[str, Any]]) -> None:
        # Apollo's transport-level error: no payload, and the stream ends after it.
        await self.stream.write(await self._part({"payload": None, "errors": errors}))


class MultipartSubscriptions:
    """Answers one request as a multipart subscription: ``host`` is its consumer, ``send``/``receive``
    its ASGI channel."""

    __slots__ = ("host", "receive", "send")

    def __init__(self, host: sse.SSEHost, send: Callable[..., Any], receive: Callable[..., Any] | None) -> None:
        self.host = host
        self.send = send
        self.receive = receive

    def admission(self, sink: MultipartSink) -> Admission:
        """The door to the response's one operation, with the host's timeouts and layer channel."""
        host = self.host
        return Admission(host.engine, sink, transport="a multipart subscription",
                         confirm_timeout=host.confirm_timeout, cleanup_timeout=host.cleanup_timeout,
                         open_channel=functools.partial(sse.open_subscription_channel, host),
                         max_operations=None)

    async def stream_operation(self, request: ChannelsRequest, params: GraphQLParams,
                               operation: Operation, *, watch: OperationWatch | None = None) -> None:
        """Run one operation, a part per result, until it ends or the client goes."""
        host = self.host
        stream = PartStream(self.send, TemporalResponse(), host.cors_headers)
        admission = self.admission(MultipartSink(stream, host.encode_json))
        # An HTTP connection held open for as long as the stream: counted as one of "http".
        await sse.serve_operation(host, stream, admission, self.receive, request, params, operation, watch=watch,
                                  transport="http", hand_over_to=None,
                                  keep_alive_interval=gql_settings.MULTIPART_HEARTBEAT_INTERVAL)

    async def stream_errors(self, errors: list[dict[str, Any]]) -> None:
        """A request error, as the response's only part."""
        host = self.host
        stream = PartStream(self.send, headers=host.cors_headers)
        await sse.answer_once(host, stream, MultipartSink(stream, host.encode_json).send_next(None, {"errors": errors}))
