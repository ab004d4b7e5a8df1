"""Live-server settings for tests/e2e/test_wire_bounds.py: a real ALLOWED_HOSTS list."""

from tests.settings import *  # noqa: F401,F403

ALLOWED_HOSTS = ["127.0.0.1", "api.example.com"]
