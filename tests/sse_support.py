"""Drive an ASGI app with one streaming HTTP request in process, as a server would.

:class:`StreamingRequest` starts the request, reads its response start and
its events as they are sent, and can disconnect like a client going away.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

WAIT = 10


class StreamingRequest:
    def __init__(self, app: Any, method: str = "POST", *, payload: Any = None, accept: str | None = "text/event-stream",
                 headers: list[tuple[str, str]] = (), query_string: str = "", path: str = "/graphql") -> None:  # type: ignore[assignment]
        body = json.dumps(payload).encode() if payload is not None else b""
        raw_headers = [(b"host", b"testserver")]
        if payload is not None:
            raw_headers.append((b"content-type", b"application/json"))
        if accept is not None:
            raw_headers.append((b"accept", accept.encode()))
        raw_headers += [(name.lower().encode(), value.encode()) for name, value in headers]
        self.scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": query_string.encode(), "headers": raw_headers,
            "client": ("127.0.0.1", 1234), "server": ("testserver", 80),
        }
        self.app = app
        self._body = body
        self._gone = asyncio.Event()
        self._sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._buffer = b""
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""
        self.ended = False
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> StreamingRequest:
        """Send the request; return once the response has started."""
        self.task = asyncio.get_running_loop().create_task(self.app(self.scope, self._receive, self._send))
        message = await self._next_message()
        assert message["type"] == "http.response.start", message
        self.status = message["status"]
        self.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in message["headers"]}
        return self

    async def _receive(self) -> dict[str, Any]:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        await self._sent.put(message)

    async def _next_message(self) -> dict[str, Any]:
        getter = asyncio.ensure_future(self._sent.get())
        done, _ = await asyncio.wait({getter, self.task}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            return getter.result()
        getter.cancel()
        if self.task in done:
            self.task.result()  # raises what the app raised
            raise AssertionError("the app returned without sending")
        raise AssertionError(f"nothing was sent within {WAIT}s")

    async def next_chunk(self) -> bytes:
        """The body of the next message sent (kept in :attr:`body` too)."""
        assert not self.ended, "the response ended"
        message = await self._next_message()
        assert message["type"] == "http.response.body", message
        chunk = message.get("body", b"")
        self.body += chunk
        self.ended = not message.get("more_body", False)
        return chunk

    async def next_block(self) -> str:
        """The next event or comment block, without its blank line."""
        while b"\n\n" not in self._buffer:
            assert not self.ended, "the response ended"
            message = await self._next_message()
            assert message["type"] == "http.response.body", message
            chunk = message.get("body", b"")
            self.body += chunk
            self._buffer += chunk
            if not message.get("more_body", False):
                self.ended = True
        block, self._buffer = self._buffer.split(b"\n\n", 1)
        return block.decode()

    async def next_event(self) -> tuple[str, Any]:
        """The next event as (name, decoded data or None); comments are skipped."""
        while True:
            block = await self.next_block()
            if not block.startswith(":"):
                break
        fields = dict(line.split(":", 1) for line in block.split("\n"))
        data = fields.get("data", "").strip()
        return fields["event"].strip(), json.loads(data) if data else None

    async def rest(self) -> bytes:
        """Everything still to be sent, until the app returns."""
        assert self.task is not None
        await asyncio.wait_for(self.task, WAIT)
        while not self._sent.empty():
            message = self._sent.get_nowait()
            self.body += message.get("body", b"")
            if not message.get("more_body", False):
                self.ended = True
        return self.body

    async def disconnect(self) -> None:
        """Go away like a client; wait until the app has finished with the request."""
        self._gone.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, WAIT)


async def request(app: Any, method: str = "POST", **kwargs: Any) -> StreamingRequest:
    """A complete (non-streaming) request: its status, headers and whole body."""
    streaming = StreamingRequest(app, method, **kwargs)
    await streaming.start()
    await streaming.rest()
    return streaming
