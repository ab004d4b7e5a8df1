"""What the observability tests share: both switches on, the registry read back, spans kept in memory."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

_exporter: InMemorySpanExporter | None = None


def span_exporter() -> InMemorySpanExporter:
    """The process's in-memory exporter behind the global tracer provider (set once: OpenTelemetry allows no second)."""
    global _exporter
    if _exporter is None:
        _exporter = InMemorySpanExporter()
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):  # another test may have set one: share it
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        provider.add_span_processor(SimpleSpanProcessor(_exporter))
    return _exporter


@pytest.fixture
def spans():
    """Spans finished during the test, from the in-memory exporter."""
    exporter = span_exporter()
    exporter.clear()
    yield exporter
    exporter.clear()


@pytest.fixture
def observed(spans):
    """METRICS and TRACING on for the test."""
    with override_settings(GQL_CHANNELS={**settings.GQL_CHANNELS, "METRICS": True, "TRACING": True}):
        yield spans


def sample(name: str, **labels: str) -> float:
    """A sample of the default registry now (0 when the series does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Samples:
    """Counters before an action, to read what the action added (the registry is the process's)."""

    def __init__(self, *series: tuple[str, dict[str, str]]) -> None:
        self.series = series
        self.before = [sample(name, **labels) for name, labels in series]

    def added(self) -> list[float]:
        return [sample(name, **labels) - before for (name, labels), before in zip(self.series, self.before)]


def operations(transport: str, operation_type: str, outcome: str) -> tuple[str, dict[str, str]]:
    return ("gql_channels_operations_total",
            {"transport": transport, "operation_type": operation_type, "outcome": outcome})


def connections(transport: str) -> float:
    return sample("gql_channels_connections", transport=transport)
