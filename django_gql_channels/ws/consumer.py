"""``GraphQLWSConsumer``: GraphQL over WebSockets, and the operation lifecycle both protocols share.

One socket is one consumer instance. Its own receive loop reads the ASGI
``receive`` directly (no Channels ``dispatch``, so no thread hop per frame)
and hands each text frame to the protocol module picked at connect
(:mod:`.transport_ws` or :mod:`.legacy_ws`). Those modules only translate
message shapes; starting, running, cancelling, completing and cleaning up
operations happens here, the same for both.

Each operation runs in its own task. Per delivered subscription event the
work is: take the message from the listener's queue (in the user's
generator), execute the selection set against it, encode the reply once,
send it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from typing import Any, ClassVar

from graphql import ExecutionResult, GraphQLError

from ..base import ChannelListener, ChannelsConsumer
from ..conf import gql_settings
from ..engine import Engine, Operation, get_engine, log_exception
from ..exceptions import GraphQLRequestError
from ..outage import layer_failed, layer_is_down
from ..persisted import resolve_operation
from ..unset import UNSET
from .legacy_ws import LegacyWSProtocol
from .protocol import ProtocolHandler, close_reason
from .transport_ws import TransportWSProtocol

__all__ = ["GraphQLWSConsumer"]

logger = logging.getLogger("django_gql_channels")

#: Inside a starting subscription's task: the callback that confirms it.
_confirm_current: ContextVar[Callable[[], None] | None] = ContextVar("gql_confirm_subscription", default=None)


def _too_big(frame: str | bytes | None, limit: int) -> bool:
    """Whether ``frame`` is over ``limit`` bytes (UTF-8), encoding text only when its length cannot tell."""
    if frame is None:
        return False
    size = len(frame)
    if isinstance(frame, bytes) or size > limit:
        return size > limit
    # A character takes one to four bytes in UTF-8.
    return size * 4 > limit and len(frame.encode("utf-8", "surrogatepass")) > limit


class ConnectionGone(Exception):
    """Sending to the client failed: the socket is closed or closing."""


class _Operation:
    __slots__ = ("id", "started", "task")

    def __init__(self, op_id: Any, task: asyncio.Task[None], started: asyncio.Future[None] | None) -> None:
        self.id = op_id
        self.task = task
        self.started = started


class _ConfirmOnEnter:
    """``listen_to_channel`` for a starting subscription: once inside, the first wait confirms it.

    Not entering itself: a generator that enters and yields its confirming
    ``None`` (or a message already queued) gets that result sent before the
    socket's next message is handled, so a client sees it before, say, the
    ``pong`` to a ``ping`` sent after ``subscribe``.
    """

    __slots__ = ("_confirm", "_manager")

    def __init__(self, manager: Any, confirm: Callable[[], None]) -> None:
        self._manager = manager
        self._confirm = confirm

    async def __aenter__(self) -> Any:
        listener = await self._manager.__aenter__()
        if isinstance(listener, ChannelListener):
            listener.on_wait = self._confirm
        else:  # a subclass's own listener: we cannot see it wait
            self._confirm()
        return listener

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self._manager.__aexit__(*exc_info)


class GraphQLWSConsumer(ChannelsConsumer):
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
        #: Bytes; a larger frame closes the socket with 1009 before it is decoded.
        self.max_message_size: int | None = gql_settings.MAX_MESSAGE_SIZE
        #: The payload of ``connection_init`` (``{}`` when it had none).
        self.connection_params: dict[str, Any] = {}
        #: The context resolvers get, from :meth:`get_context`.
        self.context: Any = None
        self.protocol: ProtocolHandler | None = None
        self.closed = False
        self._operations: dict[Any, _Operation] = {}

    # -- hooks ---------------------------------------------------------------

    async def get_context(self, request: GraphQLWSConsumer, connection_params: dict[str, Any]) -> Any:
        """The context every operation on this socket gets; built once per connection."""
        return {"request": request, "ws": request, "connection_params": connection_params}

    async def get_root_value(self, request: GraphQLWSConsumer) -> Any:
        """The root value of each operation."""
        return None

    async def on_ws_connect(self, context: Any) -> Any:
        """Accept (return ``UNSET`` or an ack payload) or refuse (raise ``ConnectionRejectionError``)."""
        return UNSET

    def decode_json(self, data: str | bytes) -> Any:
        return json.loads(data)

    def encode_json(self, data: Any) -> str:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

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
        # So resolvers can use ``ws.channel_name`` as in the Channels tutorial.
        await self._try_channel_name()
        accept: dict[str, Any] = {"type": "websocket.accept"}
        if offered:
            accept["subprotocol"] = subprotocol
        await send(accept)
        self.protocol = protocol = self.protocol_classes[subprotocol](self)
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
        layer = self._layer
        if layer is None or self._channel_name is not None or layer_is_down(layer):
            return
        try:
            await self.ensure_channel_name()
        except Exception as exc:
            layer_failed(layer, "creating a WebSocket's channel", exc)

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
        text = self.encode_json(message)
        try:
            await self.base_send({"type": "websocket.send", "text": text})
        except Exception as exc:  # the ASGI server refuses: the client is gone
            raise ConnectionGone(str(exc)) from exc

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
        for operation in list(self._operations.values()):
            operation.task.cancel()

    async def _shutdown(self) -> None:
        self.closed = True
        if self.protocol is not None:
            self.protocol.on_close()
        operations = list(self._operations.values())
        self._operations.clear()
        tasks = [operation.task for operation in operations]
        for task in tasks:
            task.cancel()
        if tasks:
            await self._wait_cleanup(tasks)
        await self.close_channel_layer()

    # -- connection ----------------------------------------------------------

    async def init_connection(self, payload: dict[str, Any] | None) -> Any:
        """Build the context from ``connection_init``'s payload and ask :meth:`on_ws_connect`.

        Returns the ack payload or ``UNSET``; ``ConnectionRejectionError`` propagates.
        """
        self.connection_params = payload if payload is not None else {}
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
        return op_id in self._operations

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
        assert protocol is not None
        limit = self.max_operations
        if limit is not None and len(self._operations) >= limit:
            await protocol.send_errors(op_id, [{
                "message": f"Too many operations: this connection already runs {limit}, the most "
                           "MAX_OPERATIONS_PER_CONNECTION allows at once. Complete one first.",
            }])
            return
        try:
            operation = await resolve_operation(self.engine, query, operation_name,
                                                document_id=document_id, extensions=extensions)
        except GraphQLRequestError as exc:
            await protocol.send_errors(op_id, self.engine.format_errors(exc.errors))
            return
        if self._channel_name is None:  # the socket opened while the layer was down
            await self._try_channel_name()
        root_value = self.get_root_value(self)
        if inspect.isawaitable(root_value):
            root_value = await root_value
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] | None = None
        if operation.kind == "subscription":
            started = loop.create_future()
            coroutine = self._run_subscription(op_id, operation, variables, root_value, started)
        else:
            coroutine = self._run_single(op_id, operation, variables, root_value)
        task = loop.create_task(coroutine)
        self._operations[op_id] = _Operation(op_id, task, started)
        if started is not None and not started.done():
            await asyncio.wait((started,), timeout=self.confirm_timeout)

    async def stop_operation(self, op_id: Any) -> bool:
        """Cancel a running operation and wait for its clean-up; False if none runs with that id."""
        operation = self._operations.pop(op_id, None)
        if operation is None:
            return False
        operation.task.cancel()
        await self._wait_cleanup([operation.task])
        return True

    async def _wait_cleanup(self, tasks: list[asyncio.Task[None]]) -> None:
        _, pending = await asyncio.wait(tasks, timeout=self.cleanup_timeout)
        for task in pending:
            logger.warning("An operation did not finish within %ss of being cancelled: %r "
                           "(does its generator catch CancelledError?)", self.cleanup_timeout, task)

    def listen_to_channel(
        self, type: str | Iterable[str], *, timeout: float | None = None, groups: Iterable[str] = ()
    ) -> Any:
        manager = super().listen_to_channel(type, timeout=timeout, groups=groups)
        confirm = _confirm_current.get()
        return manager if confirm is None else _ConfirmOnEnter(manager, confirm)

    async def _run_single(self, op_id: Any, operation: Operation, variables: Any, root_value: Any) -> None:
        protocol = self.protocol
        assert protocol is not None
        try:
            result = await self.engine.execute(operation, variables=variables, context=self.context,
                                               root_value=root_value)
            await protocol.send_next(op_id, self.engine.format_result(result))
            await protocol.send_complete(op_id)
        except ConnectionGone:
            pass
        except Exception as exc:
            await self._report_failure(op_id, operation, exc)
        finally:
            self._forget(op_id)

    async def _run_subscription(
        self,
        op_id: Any,
        operation: Operation,
        variables: Any,
        root_value: Any,
        started: asyncio.Future[None],
    ) -> None:
        def confirm() -> None:
            if not started.done():
                started.set_result(None)

        _confirm_current.set(confirm)
        protocol = self.protocol
        assert protocol is not None
        engine = self.engine
        stream: Any = None
        try:
            stream = await engine.subscribe(operation, variables=variables, context=self.context,
                                            root_value=root_value)
            if isinstance(stream, ExecutionResult):
                # The subscription could not start (bad variables, the
                # subscribe resolver raised): one result with errors.
                await protocol.send_next(op_id, engine.format_result(stream))
            else:
                send_next = protocol.send_next
                format_result = engine.format_result
                # Started once its first result (often the confirming null)
                # is on the wire: the socket's next message is answered after it.
                async for result in stream:
                    await send_next(op_id, format_result(result))
                    break
                confirm()
                async for result in stream:  # the same stream, from its second result on
                    await send_next(op_id, format_result(result))
            await protocol.send_complete(op_id)
        except ConnectionGone:
            pass
        except Exception as exc:
            await self._report_failure(op_id, operation, exc)
        finally:
            confirm()
            if stream is not None and not isinstance(stream, ExecutionResult):
                with contextlib.suppress(Exception):
                    await stream.aclose()
            self._forget(op_id)

    def _forget(self, op_id: Any) -> None:
        operation = self._operations.get(op_id)
        if operation is not None and operation.task is asyncio.current_task():
            del self._operations[op_id]

    async def _report_failure(self, op_id: Any, operation: Operation, exc: Exception) -> None:
        """An operation raised outside graphql-core's error handling: tell that operation only."""
        if self.closed:
            return
        if isinstance(exc, GraphQLError):
            logger.info("Operation %s (%r) on a WebSocket ended with an error: %s", op_id, operation, exc)
        else:
            log_exception(exc, operation)
        protocol = self.protocol
        assert protocol is not None
        with contextlib.suppress(Exception):
            await protocol.send_errors(op_id, [self.engine.format_exception(exc)])
