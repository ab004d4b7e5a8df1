"""Exceptions users raise or catch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphql import GraphQLError

__all__ = ["ConnectionRejectionError", "GraphQLRequestError"]


class ConnectionRejectionError(Exception):
    """Raise from ``on_ws_connect`` to refuse a WebSocket connection.

    ``payload`` goes to the client: as the close reason with code 4403 on
    ``graphql-transport-ws``, as the ``connection_error`` payload on the legacy
    ``graphql-ws`` protocol.
    """

    def __init__(self, payload: Any = None) -> None:
        super().__init__(payload)
        self.payload = {} if payload is None else payload


class GraphQLRequestError(Exception):
    """A request the engine refuses before execution (syntax, validation, operation).

    ``errors`` are ``GraphQLError`` instances ready for formatting; ``kind`` is
    one of ``"syntax"``, ``"validation"``, ``"operation"`` so transports can
    choose their status or close code.
    """

    def __init__(self, errors: list[GraphQLError], kind: str) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
        self.kind = kind
