"""Admitting an operation onto a connection: the one door WebSockets and SSE streams share.

A streaming connection (a WebSocket, a Server-Sent Events stream) runs its
operations in one :class:`~.lifecycle.Operations`, which its
:class:`Admission` builds with the connection's timeouts. Before one more
operation runs, the transport takes these steps through it, in this order:

1. :meth:`Admission.check_room`: at most ``MAX_OPERATIONS_PER_CONNECTION``
   run at once, else :class:`TooManyOperations`;
2. :meth:`Admission.resolve`: the document (its text, a ``documentId`` or a
   persisted-query hash) through the engine's ``resolve_operation``, else
   :class:`~django_gql_channels.exceptions.GraphQLRequestError`;
3. :meth:`Admission.open_channel`: the consumer's layer channel, for
   resolvers that use ``ws.channel_name``, made as the transport makes it;
4. :meth:`Admission.start`: the lifecycle runs it and, for a subscription,
   returns once it has started (or after ``confirm_timeout`` seconds).

Refusals are exceptions; each transport words them in its own protocol (an
``error`` for that operation on a WebSocket; a 429, or the refusal GraphQL
over HTTP sends, on an SSE stream). This module knows no transport.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..conf import gql_settings
from ..engine import Engine, Operation, resolve_operation
from ..unset import UNSET
from .lifecycle import Operations, OperationSink

if TYPE_CHECKING:  # pragma: no cover
    from ..observability.watches import OperationWatch

__all__ = ["Admission", "TooManyOperations"]


class TooManyOperations(Exception):
    """The connection already runs ``limit`` operations, the most ``MAX_OPERATIONS_PER_CONNECTION`` allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"this connection already runs {limit} operations")
        self.limit = limit


async def _no_channel(operation: Operation) -> None:
    return None


class Admission:
    """Admits operations onto one connection and runs them in its :attr:`operations`.

    ``open_channel(operation)`` makes whatever layer channel the consumer's
    resolvers need for ``operation`` (transports differ: a WebSocket has one
    from connect, an SSE stream makes one for subscriptions only).
    ``max_operations`` defaults to ``MAX_OPERATIONS_PER_CONNECTION`` (``None``: no limit).
    """

    def __init__(
        self,
        engine: Engine,
        sink: OperationSink,
        *,
        transport: str,
        confirm_timeout: float,
        cleanup_timeout: float,
        open_channel: Callable[[Operation], Awaitable[None]] = _no_channel,
        max_operations: Any = UNSET,
    ) -> None:
        self.engine = engine
        self.operations = Operations(engine, sink, transport=transport, confirm_timeout=confirm_timeout,
                                     cleanup_timeout=cleanup_timeout)
        self.max_operations: int | None = (
            gql_settings.MAX_OPERATIONS_PER_CONNECTION if max_operations is UNSET else max_operations
        )
        self._open_channel = open_channel

    def check_room(self) -> None:
        """Raise :class:`TooManyOperations` when the connection runs as many operations as it may."""
        limit = self.max_operations
        if limit is not None and len(self.operations) >= limit:
            raise TooManyOperations(limit)

    async def resolve(self, query: str | None, operation_name: str | None, *, document_id: str | None = None,
                      extensions: dict[str, Any] | None = None) -> Operation:
        """The operation to run (see :func:`~django_gql_channels.persisted.resolve_operation`).

        Raises :class:`~django_gql_channels.exceptions.GraphQLRequestError`
        for syntax, validation, operation-selection and persisted-document errors.
        """
        return await resolve_operation(self.engine, query, operation_name,
                                       document_id=document_id, extensions=extensions)

    async def open_channel(self, operation: Operation) -> None:
        """Make the layer channel ``operation``'s resolvers may use, as the transport makes it."""
        await self._open_channel(operation)

    async def start(self, op_id: Any, operation: Operation, variables: dict[str, Any] | None,
                    context: Any, root_value: Any, *, watch: OperationWatch | None = None) -> None:
        """Run an admitted operation; for a subscription, return once it has started."""
        await self.operations.start(op_id, operation, variables, context, root_value, watch=watch)
