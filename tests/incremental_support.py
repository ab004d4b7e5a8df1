"""What the incremental-delivery tests share: the skip on graphql-core 3.2, the app, the multipart reader."""

from __future__ import annotations

import json
from typing import Any

import pytest

from django_gql_channels import GraphQLHTTPConsumer
from django_gql_channels.engine import INCREMENTAL_AVAILABLE
from tests import defer_schema

needs_incremental = pytest.mark.skipif(not INCREMENTAL_AVAILABLE, reason="@defer/@stream need graphql-core 3.3")
#: What Apollo Client sends for an operation with @defer.
APOLLO_ACCEPT = "multipart/mixed;deferSpec=20220824,application/json"


def http_app(**kwargs: Any) -> Any:
    kwargs.setdefault("schema", defer_schema.schema)
    return GraphQLHTTPConsumer.as_asgi(**kwargs)


def split_parts(body: bytes) -> list[tuple[dict[str, str], Any]]:
    """A whole ``multipart/mixed`` body (boundary ``-``) as (headers, decoded JSON) per part."""
    assert body.endswith(b"\r\n-----\r\n"), body[-40:]
    chunks = body[:-len(b"--\r\n")].split(b"\r\n---")
    assert chunks[0] == b"" and chunks[-1] == b"", chunks  # an empty preamble, nothing after the close
    parts = []
    for chunk in chunks[1:-1]:
        head, _, content = chunk.partition(b"\r\n\r\n")
        assert head.startswith(b"\r\n"), chunk
        headers = dict(line.split(": ", 1) for line in head[2:].decode().split("\r\n"))
        parts.append((headers, json.loads(content)))
    return parts
