"""A Strawberry schema's own extensions (``strawberry.Schema(extensions=[...])``): never skipped silently."""

from __future__ import annotations

import pytest
from django.core import checks
from django.test import override_settings

strawberry = pytest.importorskip("strawberry")

from strawberry.extensions import MaskErrors, QueryDepthLimiter, SchemaExtension  # noqa: E402


class Recorder(SchemaExtension):
    """Records the hooks Strawberry calls, in order."""

    calls: list[str] = []

    def on_operation(self):
        Recorder.calls.append("operation:start")
        yield
        Recorder.calls.append("operation:end")


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


plain_schema = strawberry.Schema(query=Query)
extended_schema = strawberry.Schema(
    query=Query, extensions=[MaskErrors, lambda: QueryDepthLimiter(max_depth=5), Recorder],
)


def extension_messages(schema_path):
    with override_settings(GQL_CHANNELS={"SCHEMA": schema_path}):
        return [m for m in checks.run_checks() if m.id == "gql_channels.E070"]


def test_a_schema_without_extensions_has_no_e070():
    assert extension_messages(f"{__name__}.plain_schema") == []


def test_each_extension_not_run_is_an_error_naming_it():
    messages = extension_messages(f"{__name__}.extended_schema")
    names = ["MaskErrors", "QueryDepthLimiter", "Recorder"]
    assert len(messages) == len(names)
    for message, name in zip(messages, names, strict=True):
        assert message.level == checks.ERROR
        assert f"extension {name} " in message.msg
        assert message.hint
