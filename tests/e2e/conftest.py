"""Fixtures for the end-to-end tests (the shared ones live in tests/conftest.py)."""

from tests.e2e.browser import browser  # noqa: F401
