"""Instructions per in-process ``{ hello }`` request, counted by valgrind: a cost figure no load on the machine moves.

CPU time per request moves with whatever else the machine runs; the number
of instructions a request executes does not. For each contender this runs
the process twice under ``valgrind --tool=callgrind`` (100 and 300 requests
after the same warm-up, driven as :mod:`.http_bench` drives them) and
divides the difference by 200, so start-up cancels out::

    python -m benchmarks.instructions            # ours, the execution floor, the raw ASGI app
    python -m benchmarks.instructions ours exec  # some of them

Contenders: ``ours`` (``GraphQLHTTPConsumer``), ``router``
(``get_application()``), ``exec`` (graphql-core ``execute`` of the cached
document), ``raw`` (a plain ASGI app), ``bare`` (Channels'
``AsyncHttpConsumer``), ``strawberry``. Each takes a minute or two under
valgrind. Needs ``valgrind`` (``apt-get install valgrind``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

CONTENDERS = ("ours", "router", "exec", "raw", "bare", "strawberry")
DEFAULT = ("ours", "exec", "raw")
QUERY = "{ hello }"
FIXED = b'{"data":{"hello":"Hello world"}}'


def _app(name: str) -> Callable[..., Awaitable[None]]:
    from . import schemas

    if name == "ours":
        from django_gql_channels import GraphQLHTTPConsumer

        return GraphQLHTTPConsumer.as_asgi(schema=schemas.schema, graphql_ide=None)  # type: ignore[no-any-return]
    if name == "router":
        from django.core.asgi import get_asgi_application

        from django_gql_channels import get_application

        return get_application(get_asgi_application())  # type: ignore[no-any-return]
    if name == "strawberry":
        from strawberry.channels import GraphQLHTTPConsumer as StrawberryHTTPConsumer

        return StrawberryHTTPConsumer.as_asgi(schema=schemas.schema, graphql_ide=None)  # type: ignore[no-any-return]
    if name == "bare":
        from channels.generic.http import AsyncHttpConsumer

        class Bare(AsyncHttpConsumer):
            async def handle(self, body: bytes) -> None:
                await self.send_response(200, FIXED, headers=[(b"Content-Type", b"application/json")])

        return Bare.as_asgi()  # type: ignore[no-any-return]

    async def raw(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": FIXED})

    return raw


async def _drive(name: str, count: int) -> None:
    from graphql import execute, parse

    from django_gql_channels.schema import get_graphql_schema

    from . import http_bench, schemas

    if name == "exec":
        graphql_schema, document = get_graphql_schema(schemas.schema), parse(QUERY)

        async def once() -> None:
            execute(graphql_schema, document)
    else:
        app = _app(name)
        body = json.dumps({"query": QUERY}).encode()
        scope = http_bench.make_scope("/graphql", body)

        async def once() -> None:
            await http_bench.request(app, scope, body)

    for _ in range(100 + count):  # the same warm-up in both runs
        await once()


def _count(name: str, requests: int) -> int:
    with tempfile.TemporaryDirectory() as directory:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={directory}/out",
             os.path.realpath(sys.executable), "-m", "benchmarks.instructions", "--drive", name, str(requests)],
            capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    match = re.search(r"Collected : (\d+)", out.stderr)
    if match is None:
        raise RuntimeError(f"callgrind printed no count: {out.stderr[-500:]}")
    return int(match.group(1))


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    if argv[:1] == ["--drive"]:
        import django

        django.setup()
        asyncio.run(_drive(argv[1], int(argv[2])))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)")
        return 1
    names = [name for name in argv if name in CONTENDERS] or list(DEFAULT)
    for name in names:
        per_request = (_count(name, 300) - _count(name, 100)) / 200
        print(f"{name:12s} {per_request:12,.0f} instructions per {QUERY} request", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
