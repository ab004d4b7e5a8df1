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

from ..base import ChannelsConsumer
from ..conf import gql_settings
from ..engine import Engine, Operation, get_engine
from ..exceptions import GraphQLRequestError
from ..persisted import resolve_operation
from ..unset import UNSET
from .legacy_ws import LegacyWSProtocol
from .protocol import ProtocolHandler, close_reason
from .transport_ws import TransportWSProtocol

__all__ = ["GraphQLWSConsumer"]

logger = logging.getLogger("django_gql_channels")

#: Inside a starting subscription's task: the callback that confirms it.
_confirm_current: ContextVar[Callable[[], None] | None] = ContextVar("gql_confirm_subscription", default=None)


class ConnectionGone(Exception):
    """Sending to the client failed: the socket is closed or closing."""


class _Operation:
    __slots__ = ("id", "started", "task")

    def __init__(self, op_id: Any, task: asyncio.Task[None], started: asyncio.Future[None] | None) -> None:
        self.id = op_id
        self.task = task
        self.started = started


class _ConfirmOnEnter:
    """``listen_to_channel`` for a starting subscription: entering it confirms the subscription."""

    __slots__ = ("_confirm", "_manager")

    def __init__(self, manager: Any, confirm: Callable[[], None]) -> None:
        self._manager = manager
        self._confirm = confirm

    async def __aenter__(self) -> Any:
        listener = await self._manager.__aenter__()
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
    order they arrive. A subscription counts as started when its generator
    confirms it (yields ``None`` first — that item is never sent), enters
    ``listen_to_channel``, yields its first result, or ends; the socket's next
    message is handled only after that (or after ``confirm_timeout`` seconds,
    so a generator that does none of these cannot stall the socket). So a
    client may subscribe and then send a mutation, or a ``ping``, on the same
    socket and know the subscription is already listening: the ``pong`` is
    the confirmation a client can see.

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
        if self._layer is not None:
            # So resolvers can use ``ws.channel_name`` as in the Channels tutorial.
            await self.ensure_channel_name()
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
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.receive":
                if self.closed:
                    continue
                text = message.get("text")
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
                                            root_value=root_value, on_confirm=confirm)
            if isinstance(stream, ExecutionResult):
                # The subscription could not start (bad variables, the
                # subscribe resolver raised): one result with errors.
                confirm()
                await protocol.send_next(op_id, engine.format_result(stream))
            else:
                send_next = protocol.send_next
                format_result = engine.format_result
                async for result in stream:
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
        logger.error("Operation %s (%r) on a WebSocket failed: %s", op_id, operation, exc,
                     exc_info=(type(exc), exc, exc.__traceback__))
        error = exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc) or type(exc).__name__,
                                                                      original_error=exc)
        protocol = self.protocol
        assert protocol is not None
        with contextlib.suppress(Exception):
            await protocol.send_errors(op_id, [self.engine.format_error(error)])
