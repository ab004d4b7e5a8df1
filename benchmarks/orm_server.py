"""The ASGI app the ORM benchmark serves with uvicorn (settings: ``benchmarks.orm_settings``).

Paths:

- ``/graphql``: ours, through the settings-driven ``get_application()``
  router, on the schema ``BENCH_ORM_LIBRARY`` picks;
- ``/graphene/``: graphene-django's ``GraphQLView`` through Django's own ASGI
  handler (Graphene servers);
- ``/strawberry``: ``strawberry.channels.GraphQLHTTPConsumer`` (strawberry-django servers);
- ``/bench/stats``: the process's CPU seconds so far (and readiness).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.orm_settings")

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from django_gql_channels import get_application  # noqa: E402

ours = get_application(django_application)
strawberry_http: Any = None
if settings.LIBRARY == "strawberry":
    from strawberry.channels import GraphQLHTTPConsumer

    from .orm_strawberry import schema

    strawberry_http = GraphQLHTTPConsumer.as_asgi(schema=schema, graphql_ide=None)


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    path = scope.get("path", "")
    if scope["type"] == "http" and path.startswith("/bench/"):
        body = json.dumps({"cpu_seconds": time.process_time(), "pid": os.getpid()}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return None
    if path == "/strawberry" and strawberry_http is not None:
        return await strawberry_http(scope, receive, send)
    return await ours(scope, receive, send)
