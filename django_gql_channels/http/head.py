"""What the HTTP consumer reads from a request's headers (in one pass over them) and its URL."""

from __future__ import annotations

from typing import Any

from . import sse
from .incremental import accepts_incremental_value
from .multipart import PREFLIGHT_HEADERS
from .multipart_subscriptions import MULTIPART_SUBSCRIPTION, accepts_multipart_subscriptions
from .negotiation import JSON, Negotiated, negotiate

__all__ = ["RequestHead", "websocket_url"]


class RequestHead:
    """A request's method and the headers the GraphQL endpoint reads.

    With ``sse_enabled`` it also says whether the client accepts an event
    stream and which reservation token it sent (the ``X-GraphQL-Event-Stream-Token`` header only).
    """

    __slots__ = ("accept", "content_length", "content_type", "event_stream", "method",
                 "multipart_preflight", "multipart_subscriptions", "negotiated", "token")

    def __init__(self, scope: dict[str, Any], *, sse_enabled: bool, multipart_subscriptions: bool = False) -> None:
        self.method: str = scope["method"]
        content_type = accept = content_length = token = None
        preflight = False
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"accept":
                accept = value
            elif name == b"content-length":
                content_length = value
            elif name in PREFLIGHT_HEADERS and value.strip():
                preflight = True
            elif name == sse.TOKEN_HEADER:
                token = value
        self.content_type: bytes | None = content_type
        self.accept: bytes | None = accept
        self.content_length: bytes | None = content_length
        #: A header a multipart upload must carry (CSRF protection) is there and not blank.
        self.multipart_preflight = preflight
        self.negotiated: Negotiated = negotiate(accept)
        self.event_stream = False
        if sse_enabled:
            self.event_stream = sse.accepts_event_stream(accept)
            if self.event_stream and self.negotiated.content_type is None:
                # Only an event stream is acceptable: every outcome goes there.
                self.negotiated = self.negotiated._replace(content_type=sse.EVENT_STREAM)
        #: The client accepts Apollo's multipart subscriptions (with ``multipart_subscriptions`` only).
        self.multipart_subscriptions = False
        if multipart_subscriptions and accepts_multipart_subscriptions(accept):
            self.multipart_subscriptions = True
            if self.negotiated.content_type is None:
                # Only multipart subscriptions are acceptable: every outcome is streamed that way.
                self.negotiated = self.negotiated._replace(content_type=MULTIPART_SUBSCRIPTION)
        if self.negotiated.content_type is None and accepts_incremental_value(accept):
            # Only incremental delivery's multipart (.incremental) is acceptable: what is
            # not incremental (errors, operations without @defer/@stream) then goes as JSON.
            self.negotiated = self.negotiated._replace(content_type=JSON)
        #: The single-connection-mode token, with ``sse_enabled`` only.
        self.token: bytes | None = token if sse_enabled else None


def websocket_url(scope: dict[str, Any]) -> str:
    """The WebSocket URL of the endpoint ``scope`` reached, as the client reached it."""
    host = None
    for name, value in scope.get("headers", ()):
        if name == b"host":
            host = value.decode("latin-1")
            break
    if host is None:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if not server[1] else f"{server[0]}:{server[1]}"
    scheme = "wss" if scope.get("scheme") in ("https", "wss") else "ws"
    return f"{scheme}://{host}{scope.get('root_path', '')}{scope.get('path', '')}"
