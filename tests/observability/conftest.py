"""Fixtures of the observability tests (also used by tests/e2e/test_observability_outage.py)."""

from tests.observability_support import observed, spans  # noqa: F401
