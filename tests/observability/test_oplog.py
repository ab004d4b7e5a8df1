"""The operations logger, and nothing at all when every output is off."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

from django_gql_channels import GraphQLHTTPConsumer
from django_gql_channels.observability import observer
from django_gql_channels.testing import GraphQLHTTPCommunicator, GraphQLWebsocketCommunicator
from tests import ws_schema
from tests.ws_support import make_app


def outcome_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "django_gql_channels.operations"]


async def test_with_info_configured_each_operation_outcome_is_one_line(caplog, clean_layer):
    caplog.set_level(logging.INFO, logger="django_gql_channels.operations")
    client = GraphQLHTTPCommunicator(GraphQLHTTPConsumer.as_asgi(schema=ws_schema.schema))
    await client.query("query Hi { hello }")
    await client.query("{ nope }")
    async with GraphQLWebsocketCommunicator(make_app(), "/graphql", protocol="graphql-ws") as ws:
        assert len([r async for r in ws.subscribe("subscription Two { count(to: 2) }")]) == 2
    records = outcome_records(caplog)
    assert [(r.transport, r.operation_type, r.operation_name, r.outcome) for r in records] == [
        ("http", "query", "Hi", "ok"), ("http", "unknown", None, "refused"),
        ("graphql-ws", "subscription", "Two", "ok")]
    assert all(r.levelno == logging.INFO and r.duration >= 0 for r in records)
    assert records[0].getMessage().startswith("operation transport=http type=query name=Hi duration_ms=")
    assert records[0].getMessage().endswith(" outcome=ok")


async def test_unconfigured_it_is_silent(caplog):
    caplog.set_level(logging.WARNING, logger="django_gql_channels")
    assert observer() is None  # METRICS and TRACING off in the suite's settings: nothing to observe
    await GraphQLHTTPCommunicator(GraphQLHTTPConsumer.as_asgi(schema=ws_schema.schema)).query("{ hello }")
    assert outcome_records(caplog) == []


def test_with_both_switches_off_neither_library_is_imported():
    """A fresh process runs operations on HTTP and a WebSocket: prometheus_client and opentelemetry stay unloaded."""
    script = textwrap.dedent("""
        import asyncio, os, sys
        os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
        import django
        django.setup()
        from django_gql_channels import GraphQLHTTPConsumer
        from django_gql_channels.testing import GraphQLHTTPCommunicator, GraphQLWebsocketCommunicator
        from tests import ws_schema
        from tests.ws_support import make_app

        async def main():
            await GraphQLHTTPCommunicator(GraphQLHTTPConsumer.as_asgi(schema=ws_schema.schema)).query("{ hello }")
            async with GraphQLWebsocketCommunicator(make_app(), "/graphql") as ws:
                [r async for r in ws.subscribe("subscription { count(to: 2) }")]

        asyncio.run(main())
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("prometheus_client", "opentelemetry")
                     or m.startswith("django_gql_channels.observability.")))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
