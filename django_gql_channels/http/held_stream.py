"""A streamed HTTP response held open for a stream's operations: what SSE and multipart subscriptions share.

:class:`StreamedResponse` owns the ASGI side (the response started on the
first write, with CORS and resolver headers; ended once; the client's
departure seen as :class:`~django_gql_channels.operations.ConnectionGone`);
a subclass brings only its framing: content type, what the body opens and
closes with, its heartbeat.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, ClassVar

from ..operations import ConnectionGone
from .types import TemporalResponse, encode_headers

__all__ = ["StreamedResponse"]


class StreamedResponse:
    """One streamed ``200`` response: started on first write, ended once."""

    __slots__ = ("_send", "active", "closed", "headers", "response", "started")

    #: The response's own headers (content type, no caching or buffering).
    stream_headers: ClassVar[list[tuple[bytes, bytes]]]
    #: What the first body chunk begins with.
    opening: ClassVar[bytes] = b""
    #: What the last body chunk is.
    closing: ClassVar[bytes] = b""
    #: What :meth:`open` writes to start the response.
    open_chunk: ClassVar[bytes] = b""
    #: What :meth:`keep_alive` writes to an idle stream.
    heartbeat: ClassVar[bytes]
    #: Named in the error a write to a closed stream raises.
    description: ClassVar[str]

    def __init__(self, send: Callable[..., Any], response: TemporalResponse | None = None,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
        self._send = send
        #: More headers for the response (CORS).
        self.headers = headers
        #: Headers resolvers set on it before the first write go out with the stream's.
        self.response = response
        self.started = False
        #: The client went away, or the stream was ended.
        self.closed = False
        #: Something was sent since the last heartbeat tick.
        self.active = False

    async def _start(self) -> bytes:
        """Send the response's start; what the first body chunk must begin with."""
        self.started = True
        headers = list(self.stream_headers)
        if self.headers:
            headers.extend(self.headers)
        if self.response is not None and self.response.headers:
            headers.extend(encode_headers(self.response.headers))
        await self._write_message({"type": "http.response.start", "status": 200, "headers": headers})
        return self.opening

    async def open(self) -> None:
        """Start the response now: some servers (daphne) send the headers only with the
        first body chunk, and clients wait for the headers."""
        if not self.started:
            await self.write(self.open_chunk)

    async def write(self, chunk: bytes) -> None:
        if self.closed:
            raise ConnectionGone(f"the {self.description} is closed")
        if not self.started:
            chunk = await self._start() + chunk
        self.active = True
        await self._write_message({"type": "http.response.body", "body": chunk, "more_body": True})

    async def keep_alive(self) -> None:
        """A heartbeat, unless something else was sent since the last call."""
        if not self.active and not self.closed:
            with contextlib.suppress(ConnectionGone):
                await self.write(self.heartbeat)
        self.active = False

    async def end(self) -> None:
        if self.closed:
            return
        chunk = self.closing if self.started else await self._start() + self.closing
        self.closed = True
        with contextlib.suppress(ConnectionGone):
            await self._write_message({"type": "http.response.body", "body": chunk, "more_body": False})

    async def _write_message(self, message: dict[str, Any]) -> None:
        try:
            await self._send(message)
        except Exception as exc:  # the ASGI server refuses: the client is gone
            self.closed = True
            raise ConnectionGone(str(exc)) from exc
