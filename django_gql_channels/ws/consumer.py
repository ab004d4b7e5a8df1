"""``GraphQLWSConsumer``: GraphQL over WebSockets.

One socket is one consumer instance. Its own receive loop reads the ASGI
``receive`` directly (no Channels ``dispatch``, so no thread hop per frame)
and hands each text frame to the protocol module picked at connect
(:mod:`.transport_ws` or :mod:`.legacy_ws`). Those modules only translate
message shapes; the consumer is the :class:`~.protocol.ProtocolConnection`
they talk to. Operations are admitted through an
:class:`~django_gql_channels.operations.Admission` and run in its
:class:`~django_gql_channels.operations.Operations`: the door and the
lifecycle Server-Sent Events streams share.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ..channel_layer.consumer import ChannelsConsumer
from ..channel_layer.outage import layer_failed, layer_is_down
from ..conf import gql_settings
from ..context import GrapheneContext, wants_request_attributes
from ..engine import Engine, Operation, get_engine
from ..exceptions import GraphQLRequestError
from ..hook_values import READY_NONE, MaybeAwaitable, ReadyDict, ReadyGrapheneContext
from ..observability import watch_connection
from ..operations import Admission, ConfirmingListener, ConnectionGone, Operations, TooManyOperations
from ..unset import UNSET
from .backpressure import SendGate, send_gate
from .legacy_ws import LegacyWSProtocol
from .protocol import ProtocolHandler, close_reason
from .transport_ws import TransportWSProtocol

if TYPE_CHECKING:  # pragma: no cover
    from ..observability.watches import ConnectionWatch

__all__ = ["GraphQLWSConsumer"]

logger = logging.getLogger("django_gql_channels")

_encode_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _too_big(frame: str | bytes | None, limit: int) -> bool:
    """Whether ``frame`` is over ``limit`` bytes (UTF-8), encoding text only when its length cannot tell."""
    if frame is None:
        return False
    size = len(frame)
    if isinstance(frame, bytes) or size > limit:
        return size > limit
    # A character takes one to four bytes in UTF-8.
    return size * 4 > limit and len(frame.encode("utf-8", "surrogatepass")) > limit


class GraphQLWSConsumer(ConfirmingListener, ChannelsConsumer):
    """GraphQL queries, mutations and subscriptions over one WebSocket.

    Use ``GraphQLWSConsumer.as_asgi(schema=..., ...)``; every argument left
    ``None`` comes from ``GQL_CHANNELS``.

    **Subprotocols.** The client's ``Sec-WebSocket-Protocol`` offer is matched
    against ``subscription_protocols`` in *that* list's order (the server's
    preference): ``graphql-transport-ws`` (the graphql-ws library) and
    ``graphql-ws`` (legacy subscriptions-transport-ws). A socket offering only
    other subprotocols is accepted and closed at once with 4406 "Subprotocol
    not acceptable", as graphql-ws servers do. A socket offering *no*
    subprotocol at all (hand-written clients, ``websocat``, browser consoles)
    is served the first protocol in ``subscription_protocols`` — by default
    ``graphql-transport-ws`` — without a subprotocol in the handshake answer.

    **Order and confirmation.** Messages from one socket are handled in the
    order they arrive. A subscription counts as started once its first
    result is sent (a confirming ``None`` included, which the client receives
    as a ``null`` result), it waits inside ``listen_to_channel`` for its first
    message, or it ends;
    the socket's next message is handled only after that (or after
    ``confirm_timeout`` seconds, so a generator that does none of these
    cannot stall the socket). So a client may subscribe and then send a
    mutation, or a ``ping``, on the same socket and know the subscription is
    already listening: the ``pong`` (or that first ``null``) is the
    confirmation a client can see.

    **In resolvers.** ``info.context["ws"]`` is this consumer: its ``scope``
    (``user`` and ``session`` from ``AuthMiddlewareStack``, ``headers``),
    ``channel_layer``, ``channel_name`` (created at connect when a layer is
    configured, so tutorial-style ``group_add(group, ws.channel_name)``
    works) and ``listen_to_channel(...)``.

    **Context.** One context per connection, built by :meth:`get_context` when
    ``connection_init`` arrives and handed to :meth:`on_ws_connect` first, so
    values that hook stores (a user found from a token in
    ``connection_params``) reach every operation's resolvers.

    **Keep-alive.** With ``keep_alive``, a ``ka`` message (legacy protocol) or
    a ``ping`` (graphql-transport-ws; clients answer ``pong``) is sent every
    ``keep_alive_interval`` seconds after the connection is acknowledged.

    **Limits.** At most ``MAX_OPERATIONS_PER_CONNECTION`` operations run at
    once on one socket; one more is refused with an ``error`` for it alone.
    A frame larger than ``MAX_MESSAGE_SIZE`` bytes closes the socket with 1009
    (message too big) before it is decoded or parsed.

    **Slow clients.** Sending to a client that reads slower than results come
    waits, on every server: uvicorn's ``send`` waits for its transport to
    drain, and under daphne the consumer waits on a :class:`~.backpressure.SendGate`
    while Twisted's write buffer is full. A waiting subscription's channel-layer
    queue fills meanwhile, and past ``SUBSCRIPTION_QUEUE_SIZE`` messages further
    ones are dropped (logged, rate-limited); the server holds at most that
    queue and one transport buffer per subscription, never an unbounded backlog.
    """

    protocol_classes: ClassVar[dict[str, type[ProtocolHandler]]] = {
        TransportWSProtocol.subprotocol: TransportWSProtocol,
        LegacyWSProtocol.subprotocol: LegacyWSProtocol,
    }
    #: Longest wait, in seconds, for a new subscription to start before the
    #: socket's next message is handled anyway.
    confirm_timeout: ClassVar[float] = 5.0
    #: Longest wait, in seconds, for a cancelled operation's clean-up (its
    #: generator's ``finally``) before the socket carries on without it.
    cleanup_timeout: ClassVar[float] = 10.0

    def __init__(
        self,
        *,
        schema: Any = None,
        debug: bool | None = None,
        keep_alive: bool | None = None,
        keep_alive_interval: float | None = None,
        connection_init_wait_timeout: float | None = None,
        subscription_protocols: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self.debug: bool = gql_settings.DEBUG if debug is None else debug
        self.schema = schema
        self.engine: Engine = get_engine(schema, debug=self.debug)
        #: The default context is a :class:`GrapheneContext` (Graphene schemas), not a plain dict.
        self.request_attributes: bool = wants_request_attributes(self.engine.library)
        self.keep_alive: bool = gql_settings.KEEP_ALIVE if keep_alive is None else keep_alive
        self.keep_alive_interval: float = (
            gql_settings.KEEP_ALIVE_INTERVAL if keep_alive_interval is None else keep_alive_interval
        )
        self.connection_init_wait_timeout: float = (
            gql_settings.CONNECTION_INIT_WAIT_TIMEOUT
            if connection_init_wait_timeout is None
            else connection_init_wait_timeout
        )
        self.subscription_protocols: tuple[str, ...] = tuple(
            gql_settings.SUBSCRIPTION_PROTOCOLS if subscription_protocols is None else subscription_protocols
        )
        self.max_operations: int | None = gql_settings.MAX_OPERATIONS_PER_CONNECTION
        #: Names this consumer's ``encode_json`` for shared results: consumers of one
        #: class encode alike, so they reuse each other's encoded payloads.
        self.encoder_key: Any = type(self).encode_json
        #: Bytes; a larger frame closes the socket with 1009 before it is decoded.
        self.max_message_size: int | None = gql_settings.MAX_MESSAGE_SIZE
        #: The payload of ``connection_init`` (``{}`` when it had none).
        self.connection_params: dict[str, Any] = {}
        #: The context resolvers get, from :meth:`get_context`.
        self.context: Any = None
        self.protocol: ProtocolHandler | None = None
        self.closed = False
        self.admission: Admission | None = None
        #: The operations running on this socket (``admission.operations``), from connect on.
        self.operations: Operations | None = None
        #: Set on daphne: sends wait while its transport's buffer is full (see :mod:`.backpressure`).
        self.send_gate: SendGate | None = None
        #: Metrics, traces and the operation log of this socket (None when all are off).
        self.observed: ConnectionWatch | None = None

    # -- hooks ---------------------------------------------------------------

    def get_context(self, request: GraphQLWSConsumer, connection_params: dict[str, Any]) -> MaybeAwaitable[Any]:
        """The context every operation on this socket gets; built once per connection.

        For a Graphene schema the dict is a :class:`GrapheneContext`: it also
        answers ``.user``, ``.session``, ``.headers``, ``.META`` and ``.method``
        (``"GET"``) from the handshake, as graphene-django resolvers read them.
        """
        if self.request_attributes:
            return ReadyGrapheneContext(request=request, ws=request, connection_params=connection_params)
        return ReadyDict(request=request, ws=request, connection_params=connection_params)

    def get_root_value(self, request: GraphQLWSConsumer) -> MaybeAwaitable[Any]:
        """The root value of each operation."""
        return READY_NONE

    def on_ws_connect(self, context: Any) -> MaybeAwaitable[Any]:
        """Accept (return ``UNSET`` or an ack payload) or refuse (raise ``ConnectionRejectionError``)."""
        return UNSET

    def decode_json(self, data: str | bytes) -> Any:
        return json.loads(data)

    def encode_json(self, data: Any) -> str:
        # What json.dumps(data, ensure_ascii=False, separators=(",", ":")) returns,
        # without building an encoder per message.
        return _encode_compact(data)

    # -- the socket ----------------------------------------------------------

    async def __call__(  # type: ignore[override]  # any scope dict, not types-channels' WebSocket TypedDict
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        self.scope = scope
        self.base_send = send
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        offered = scope.get("subprotocols") or ()
        subprotocol = self.pick_subprotocol(offered)
        if subprotocol is None:
            await send({"type": "websocket.accept"})
            await self.close(4406, "Subprotocol not acceptable")
            return
        # So resolvers can use ``ws.channel_name`` as in the Channels tutorial;
        # started, not awaited: a handshake never waits on the layer.
        self.prepare_channel_name()
        accept: dict[str, Any] = {"type": "websocket.accept"}
        if offered:
            accept["subprotocol"] = subprotocol
        await send(accept)
        self.observed = watch_connection(subprotocol, scope)
        self.send_gate = send_gate(send)
        self.protocol = protocol = self.protocol_classes[subprotocol](self)
        self.admission = admission = Admission(
            self.engine, protocol, transport="a WebSocket", confirm_timeout=self.confirm_timeout,
            cleanup_timeout=self.cleanup_timeout, open_channel=self._channel_for)
        self.operations = admission.operations
        try:
            protocol.on_accept()
            await self._receive_loop(receive, protocol)
        finally:
            await self._shutdown()

    async def _try_channel_name(self) -> None:
        """Create this socket's layer channel unless the layer is known to be down.

        A socket opens during an outage all the same; its channel is then
        made when an operation starts after the layer is back. (Each failed
        attempt may leave state behind in the layer: the Redis pub/sub layer
        keeps a queue for a channel it could not subscribe.)
        """
        layer = self.raw_channel_layer
        if layer is None or self._channel_name is not None or layer_is_down(layer):
            return
        try:
            await self.ensure_channel_name()
        except Exception as exc:
            layer_failed(layer, "creating a WebSocket's channel", exc)

    async def _channel_for(self, operation: Operation) -> None:
        if self._channel_name is None:  # the socket opened while the layer was down
            await self._try_channel_name()

    def pick_subprotocol(self, offered: Iterable[str]) -> str | None:
        """The first of ``subscription_protocols`` the client offers (see the class docs)."""
        offered = list(offered)
        allowed = [name for name in self.subscription_protocols if name in self.protocol_classes]
        if not offered:
            return allowed[0] if allowed else None
        for name in allowed:
            if name in offered:
                return name
        return None

    async def _receive_loop(self, receive: Callable[..., Any], protocol: ProtocolHandler) -> None:
        handle_text = protocol.handle_text
        limit = self.max_message_size
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.receive":
                if self.closed:
                    continue
                text = message.get("text")
                if limit is not None and _too_big(text if text is not None else message.get("bytes"), limit):
                    await self.close(1009, f"Message too big: the limit is {limit} bytes")
                    continue
                try:
                    if text is None:
                        data = message.get("bytes") or b""
                        try:
                            text = data.decode()
                        except UnicodeDecodeError:
                            await protocol.invalid_message("Binary frame is not UTF-8 text")
                            continue
                    await handle_text(text)
                except ConnectionGone:
                    pass
                except Exception as exc:
                    logger.exception("Failed handling a WebSocket message.")
                    with contextlib.suppress(Exception):
                        await protocol.internal_error(exc)
            elif kind == "websocket.disconnect":
                return

    async def send_json(self, message: Any) -> None:
        """Encode ``message`` once and send it; nothing is sent once the socket is closing."""
        if self.closed:
            return
        await self.send_text(self.encode_json(message))

    async def send_text(self, text: str) -> None:
        """Send one text frame as is; nothing is sent once the socket is closing."""
        if self.closed:
            return
        try:
            await self.base_send({"type": "websocket.send", "text": text})
        except Exception as exc:  # the ASGI server refuses: the client is gone
            raise ConnectionGone(str(exc)) from exc
        gate = self.send_gate
        if gate is not None and not gate.drained.is_set():
            # daphne's buffer is full: wait for it to drain, as uvicorn's send does.
            await gate.drained.wait()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the socket (once); ``reason`` is cut to the 123 bytes a close frame holds."""
        if self.closed:
            return
        self.closed = True
        message: dict[str, Any] = {"type": "websocket.close", "code": code}
        if reason:
            message["reason"] = close_reason(reason)
        with contextlib.suppress(Exception):
            await self.base_send(message)
        # Nothing more will be sent: stop the operations now rather than when
        # the server reports the disconnect.
        if self.operations is not None:
            self.operations.cancel_all()

    async def _shutdown(self) -> None:
        self.closed = True
        if self.protocol is not None:
            self.protocol.on_close()
        if self.operations is not None:
            await self.operations.stop_all()
        if self.observed is not None:
            self.observed.close()
        await self.close_channel_layer()

    # -- connection ----------------------------------------------------------

    async def init_connection(self, payload: dict[str, Any] | None) -> Any:
        """Build the context from ``connection_init``'s payload and ask :meth:`on_ws_connect`.

        Returns the ack payload or ``UNSET``; ``ConnectionRejectionError`` propagates.
        """
        self.connection_params = payload if payload is not None else {}
        if type(self).get_context is GraphQLWSConsumer.get_context:  # the default, as a plain dict
            context: Any = (GrapheneContext if self.request_attributes else dict)(
                request=self, ws=self, connection_params=self.connection_params)
        else:
            context = self.get_context(self, self.connection_params)
            if inspect.isawaitable(context):
                context = await context
        self.context = context
        result = self.on_ws_connect(context)
        if inspect.isawaitable(result):
            result = await result
        return UNSET if result is None else result

    # -- operations ----------------------------------------------------------

    def has_operation(self, op_id: Any) -> bool:
        return self.operations is not None and op_id in self.operations

    async def start_operation(
        self,
        op_id: Any,
        query: str | None,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        *,
        document_id: str | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        """Prepare and start one operation; for subscriptions, wait until it has started.

        The document is the ``query`` text, or the persisted document named by
        ``document_id`` or Apollo's ``extensions.persistedQuery`` (see
        :func:`~django_gql_channels.persisted.resolve_operation`); a refusal is
        an ``error`` for this operation.
        """
        protocol = self.protocol
        admission = self.admission
        assert protocol is not None and admission is not None
        # The consumer's limit, as it reads now: a hook may have changed it since connect.
        admission.max_operations = self.max_operations
        watch = self.observed.operation() if self.observed is not None else None
        try:
            admission.check_room()
            operation = await admission.resolve(query, operation_name, document_id=document_id,
                                                extensions=extensions)
        except TooManyOperations as refusal:
            if watch is not None:
                watch.refuse()
            await protocol.send_errors(op_id, [{
                "message": f"Too many operations: this connection already runs {refusal.limit}, the most "
                           "MAX_OPERATIONS_PER_CONNECTION allows at once. Complete one first.",
            }])
            return
        except GraphQLRequestError as exc:
            if watch is not None:
                watch.refuse(exc.errors)
            await protocol.send_errors(op_id, self.engine.format_errors(exc.errors))
            return
        await admission.open_channel(operation)
        root_value = self.get_root_value(self)
        if inspect.isawaitable(root_value):
            root_value = await root_value
        await admission.start(op_id, operation, variables, self.context, root_value, watch=watch)

    async def stop_operation(self, op_id: Any) -> bool:
        """Cancel a running operation and wait for its clean-up; False if none runs with that id."""
        return self.operations is not None and await self.operations.stop(op_id)
