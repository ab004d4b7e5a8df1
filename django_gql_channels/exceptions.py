"""Exceptions users raise or catch."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from graphql import GraphQLError

from graphql import GraphQLError

__all__ = ["ChannelLayerUnavailable", "ConnectionRejectionError", "GraphQLRequestError"]


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


class ChannelLayerUnavailable(GraphQLError):
    """The channel layer does not answer, so a new subscription cannot join its groups.

    A ``GraphQLError`` on purpose: clients see this message (and the code
    ``SERVICE_UNAVAILABLE``) even with ``MASK_ERRORS``, and nothing of the
    layer's own error (its host and port). Subscriptions that were already
    listening are not ended by an outage: they resume when the layer returns.
    """

    def __init__(self) -> None:
        super().__init__("Subscriptions are temporarily unavailable: try again shortly.",
                         extensions={"code": "SERVICE_UNAVAILABLE"})
