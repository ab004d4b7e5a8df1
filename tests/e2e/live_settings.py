"""Live queries on Redis: servers and `manage.py shell` on the test process's SQLite file (GQL_TEST_DATABASE)."""

from tests.e2e.publishing_settings import *  # noqa: F401,F403

GQL_CHANNELS = {**GQL_CHANNELS, "SCHEMA": "tests.todos.schema.schema",  # noqa: F405
                "LIVE_QUERIES": True, "SYNC_EXECUTION": True}
# The outage test restarts Redis: retry quickly.
GQL_CHANNELS.update(LAYER_RETRY_DELAY=0.05, LAYER_RETRY_MAX_DELAY=0.5)
