"""The HTTP test client: ``GraphQLHTTPCommunicator`` posts one operation to the app, no server involved."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlparse

from asgiref.testing import ApplicationCommunicator

from .results import GraphQLResult
from .websocket import keep_test_db_connections

__all__ = ["GraphQLHTTPCommunicator", "GraphQLHTTPResult"]


class GraphQLHTTPResult(GraphQLResult):
    """A ``GraphQLResult`` plus the HTTP response: ``.status_code``, ``.headers`` (lower-case names), ``.content``.

    A body that is not a JSON object (an HTML IDE page, a proxy's error)
    gives ``.data`` and ``.errors`` of ``None``; ``.content`` has the bytes.
    """

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes) -> None:
        try:
            payload = json.loads(content)
        except ValueError:
            payload = None
        super().__init__(payload if isinstance(payload, dict) else {})
        self.status_code = status_code
        self.headers = headers
        self.content = content


class GraphQLHTTPCommunicator:
    """POST GraphQL operations to an ASGI app in the test's own event loop::

        client = GraphQLHTTPCommunicator(application)
        result = await client.query("{ hello }")
        assert result.status_code == 200 and result.data == {"hello": "Hello, world!"}

    ``application`` is the project's router or ``GraphQLHTTPConsumer.as_asgi(schema=...)``;
    ``headers`` (``{"authorization": "Bearer x"}`` or a list of byte pairs) are
    sent with every request.
    """

    def __init__(self, application: Any, path: str = "/graphql",
                 headers: dict[str, str] | list[tuple[bytes, bytes]] | None = None, *, timeout: float = 10) -> None:
        self.application = application
        self.path = path
        if isinstance(headers, dict):
            headers = [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers.items()]
        self.headers = list(headers or [])
        self.timeout = timeout

    async def query(self, query: str, variables: dict[str, Any] | None = None,
                    operation_name: str | None = None) -> GraphQLHTTPResult:
        """Send one operation as a JSON POST; the result carries the response's status and headers."""
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        return await self.post(json.dumps(body).encode())

    async def post(self, body: bytes, content_type: str = "application/json") -> GraphQLHTTPResult:
        """POST raw ``body`` (for malformed-request tests)."""
        parsed = urlparse(self.path)
        given = {name for name, _ in self.headers}
        defaults = [(b"host", b"testserver"), (b"content-type", content_type.encode()),
                    (b"accept", b"application/graphql-response+json, application/json")]
        headers = [*(h for h in defaults if h[0] not in given), *self.headers,
                   (b"content-length", str(len(body)).encode())]
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": unquote(parsed.path), "raw_path": parsed.path.encode(),
            "query_string": parsed.query.encode(), "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
        }
        communicator = ApplicationCommunicator(self.application, scope)
        with keep_test_db_connections():
            await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
            start = await communicator.receive_output(self.timeout)
            chunks = []
            while True:
                message = await communicator.receive_output(self.timeout)
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            await communicator.wait(self.timeout)
        response_headers = {name.decode("latin1").lower(): value.decode("latin1")
                            for name, value in start.get("headers", [])}
        return GraphQLHTTPResult(start["status"], response_headers, b"".join(chunks))
