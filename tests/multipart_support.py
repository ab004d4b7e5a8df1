"""Read a ``multipart/mixed`` response (Apollo's multipart subscriptions) as it is sent, in process.

:class:`MultipartRequest` is a :class:`~tests.sse_support.StreamingRequest`
whose body is read part by part, checking the framing as RFC 2046 has it:
an empty preamble, ``\\r\\n--graphql`` before every part, each part's
``content-type`` header, and the close delimiter ``--graphql--`` at the end.
"""

from __future__ import annotations

import json
from typing import Any

from tests.sse_support import StreamingRequest

ACCEPT = "multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json"  # as Apollo Client sends it
ONLY_MULTIPART = 'multipart/mixed;subscriptionSpec="1.0"'
CONTENT_TYPE = 'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"'
DELIMITER = b"\r\n--graphql"
END = "end"


def split_parts(body: bytes) -> list[Any]:
    """A whole response body's parts, decoded (``END`` for the close delimiter); asserts its framing."""
    assert body.startswith(DELIMITER), body[:40]
    pieces = body.split(DELIMITER)
    assert pieces[0] == b"", "no preamble expected"
    assert pieces[-1] == b"--\r\n", f"the body must end with the close delimiter: {body[-40:]!r}"
    return [decode_part(piece) for piece in pieces[1:-1]] + [END]


def decode_part(piece: bytes) -> Any:
    """One part between delimiters: ``\\r\\n``, its headers, a blank line, its JSON body."""
    assert piece.startswith(b"\r\n"), piece[:40]
    head, separator, body = piece[2:].partition(b"\r\n\r\n")
    assert separator, piece
    headers = dict(line.split(b":", 1) for line in head.split(b"\r\n"))
    assert {k.strip().lower(): v.strip() for k, v in headers.items()} == {
        b"content-type": b"application/json; charset=utf-8"}, head
    return json.loads(body)


class MultipartRequest(StreamingRequest):
    def __init__(self, app: Any, method: str = "POST", *, accept: str | None = ACCEPT, **kwargs: Any) -> None:
        super().__init__(app, method, accept=accept, **kwargs)
        self._opened = False
        self._pending = b""

    async def _more(self) -> None:
        assert not self.ended, "the response ended"
        message = await self._next_message()
        assert message["type"] == "http.response.body", message
        chunk = message.get("body", b"")
        self.body += chunk
        self._pending += chunk
        if not message.get("more_body", False):
            self.ended = True

    async def next_part(self) -> Any:
        """The next part's JSON (heartbeats included), or ``END`` once the close delimiter came."""
        while len(self._pending) < len(DELIMITER) and not self._opened:
            await self._more()
        if not self._opened:
            assert self._pending.startswith(DELIMITER), self._pending[:40]
            self._pending = self._pending[len(DELIMITER):]
            self._opened = True
        while True:
            if self._pending.startswith(b"--"):
                while not self.ended:
                    await self._more()
                assert self._pending == b"--\r\n", self._pending
                return END
            if DELIMITER in self._pending:
                piece, self._pending = self._pending.split(DELIMITER, 1)
                return decode_part(piece)
            await self._more()

    async def next_payload(self) -> Any:
        """The next part that is not a heartbeat."""
        while True:
            part = await self.next_part()
            if part != {}:
                return part
