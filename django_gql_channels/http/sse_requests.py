"""The Server-Sent Events side of a request to the GraphQL URL: what each SSE request gets.

The HTTP consumer hands a request here once it knows the request is one
(``PUT``, a token, an event stream it accepts); :class:`SSERequests` talks
back to the consumer only through :class:`~.sse.SSEHost`. The protocol,
its modes and its refusals are described in :mod:`.sse`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..conf import gql_settings
from ..exceptions import GraphQLRequestError
from ..observability import watch_connection
from ..operations import ConnectionGone, TooManyOperations
from . import sse
from .errors import HTTPError
from .params import query_params
from .types import TemporalResponse, encode_headers

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Operation
    from ..observability.watches import OperationWatch
    from .params import GraphQLParams
    from .types import ChannelsRequest

from .sse_owners import quota_owner, reservation_owner

__all__ = ["SSERequests", "find_reservation"]

_TEXT_HEADER = (b"content-type", b"text/plain; charset=utf-8")


def find_reservation(token: bytes | None, scope: dict[str, Any]) -> sse.Reservation:
    """The reservation ``token`` names, made by this request's client; else 404.

    Another client's token is answered as an unknown one: whether a token
    exists is nothing to tell a client that does not hold it.
    """
    reservation = None if token is None else sse.Reservation.find(token.decode("latin-1"), reservation_owner(scope))
    if reservation is None:
        raise HTTPError(404, "Stream not found: reserve one with PUT and send its token in the "
                             "X-GraphQL-Event-Stream-Token header, from the client that reserved it.")
    return reservation


class SSERequests:
    """Answers one request's SSE part: ``host`` is its consumer, ``send``/``receive`` its ASGI channel."""

    __slots__ = ("host", "receive", "send")

    def __init__(self, host: sse.SSEHost, send: Callable[..., Any], receive: Callable[..., Any] | None) -> None:
        self.host = host
        self.send = send
        self.receive = receive

    # -- distinct connections mode -----------------------------------------------

    async def stream_operation(self, request: ChannelsRequest, params: GraphQLParams, operation: Operation, *,
                               watch: OperationWatch | None = None) -> None:
        """Run one operation, streaming its results until it ends or the client goes."""
        host = self.host
        stream = sse.EventStream(self.send, TemporalResponse(), host.cors_headers)
        # One operation per stream: no room to check.
        admission = sse.stream_admission(host, sse.DistinctSink(stream, host.encode_json), max_operations=None)
        await sse.serve_operation(host, stream, admission, self.receive, request, params, operation, watch=watch,
                                  transport="sse", hand_over_to="sse",
                                  keep_alive_interval=gql_settings.SSE_KEEP_ALIVE_INTERVAL)

    async def stream_errors(self, errors: list[dict[str, Any]]) -> None:
        """A request error, as the stream's only result."""
        host = self.host
        stream = sse.EventStream(self.send, headers=host.cors_headers)
        await sse.answer_once(host, stream, sse.DistinctSink(stream, host.encode_json).send_errors(None, errors))

    # -- single connection mode --------------------------------------------------

    async def reserve(self, accept: bytes | None, token: bytes | None) -> None:
        """``PUT``: reserve a stream; the reply is its token."""
        if token is not None and sse.Reservation.find(token.decode("latin-1")) is not None:
            raise HTTPError(409, "Stream already registered: this token is taken; PUT without it for a new one.")
        if not sse.accepts_text_plain(accept):
            raise HTTPError(406, "A stream reservation is answered with its token as text/plain: accept it.")
        scope = self.host.scope
        quota = quota_owner(scope)
        if sse.Reservation.held_by(quota) >= gql_settings.SSE_MAX_RESERVATIONS_PER_CLIENT:
            raise HTTPError(429, "Too many stream reservations: this client already holds "
                                 "SSE_MAX_RESERVATIONS_PER_CLIENT; open or let one expire first.")
        reservation = sse.Reservation.reserve(self.host, gql_settings.SSE_RESERVATION_TIMEOUT,
                                              reservation_owner(scope), quota)
        await self.host.send_response(self.send, 201, reservation.token.encode(), [_TEXT_HEADER])

    async def open(self, reservation: sse.Reservation) -> None:
        """``GET`` with the token: the reserved stream, until the client goes."""
        if reservation.stream is not None:
            raise HTTPError(409, "Stream already open: one token admits one event stream at a time.")
        stream = sse.EventStream(self.send, headers=self.host.cors_headers)
        reservation.open(stream)
        self.host.response_started = True
        connection = watch_connection("sse", self.host.scope)
        try:
            with contextlib.suppress(ConnectionGone):
                await stream.open()
            assert self.receive is not None
            await sse.serve(stream, self.receive, None, gql_settings.SSE_KEEP_ALIVE_INTERVAL)
        finally:
            if connection is not None:
                connection.close()
            await reservation.close()

    async def start(self, request: ChannelsRequest, params: GraphQLParams, reservation: sse.Reservation,
                    media_type: bytes, *, watch: OperationWatch | None = None) -> None:
        """A request with the token: start an operation whose events go to the reserved stream (202)."""
        host = self.host
        op_id = (params.extensions or {}).get("operationId")
        if not isinstance(op_id, str) or not op_id:
            raise HTTPError(400, "Operation ID is missing: send a unique string as extensions.operationId.")
        admission = reservation.admission
        operations = admission.operations
        if op_id in operations:
            raise HTTPError(409, f"Operation with ID {op_id!r} already exists on this stream.")
        try:
            admission.check_room()
        except TooManyOperations as refusal:
            raise HTTPError(429, f"Too many operations: this stream already runs {refusal.limit}, the most "
                                 "MAX_OPERATIONS_PER_CONNECTION allows at once. Stop one first.") from None
        try:
            operation = await host.prepare_operation(params, request)
        except GraphQLRequestError:
            # Refused as GraphQL over HTTP refuses it, in the reply to this request.
            await host.execute(self.send, request, params, media_type)
            return
        if operation.kind == "mutation" and request.method == "GET":
            if watch is not None:
                watch.refuse(operation=operation)
            raise HTTPError(405, "Mutations cannot be sent over GET: POST them.", {"Allow": "POST"})
        response = TemporalResponse()
        context, root_value = await host.operation_context(request, reservation.host, response)
        await admission.open_channel(operation)
        # Both can change while the operation was being prepared.
        if reservation.closed:
            raise HTTPError(404, "Stream not found: it closed while the operation was being prepared.")
        if op_id in operations:
            raise HTTPError(409, f"Operation with ID {op_id!r} already exists on this stream.")
        if watch is not None:  # the stream's operation task finishes it
            watch.hand_over()
        await admission.start(op_id, operation, params.variables, context, root_value, watch=watch)
        await host.send_response(self.send, 202, b"", encode_headers(response.headers))

    async def stop(self, reservation: sse.Reservation) -> None:
        """``DELETE ?operationId=``: stop one operation (200 also if it had ended)."""
        op_id = query_params(self.host.scope.get("query_string", b"")).get("operationId")
        if not op_id:
            raise HTTPError(400, "Operation ID is missing: DELETE with ?operationId=<the operation's id>.")
        await reservation.operations.stop(op_id)
        await self.host.send_response(self.send, 200, b"", [])
