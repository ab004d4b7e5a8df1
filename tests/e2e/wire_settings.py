"""Live-server settings for tests/e2e/test_wire_bounds.py: a real ALLOWED_HOSTS list."""

from tests.settings import *  # noqa: F401,F403

ALLOWED_HOSTS = ["127.0.0.1", "api.example.com"]

# 5,000 PUTs may take longer than the default 30 s on a loaded machine (daphne): reservations
# that expired meanwhile would free room under the cap the flood test counts on.
GQL_CHANNELS = {**GQL_CHANNELS, "SSE_RESERVATION_TIMEOUT": 600}  # noqa: F405
