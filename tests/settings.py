"""Test settings: the example project on SQLite."""

import os
import tempfile

from example_project.settings import *  # noqa: F401,F403

DEBUG = False
# The test database is a file, not SQLite's in-memory default: Django ignores
# close() on an in-memory connection, so the worker thread of
# ``database_sync_to_async`` would keep a connection open after the first test
# that reads the database, and Channels' DB hygiene in that thread would then
# trip pytest-django's database blocker in every later test that has no
# ``django_db`` mark (the auth middleware looks the user up there).
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        "TEST": {"NAME": os.path.join(tempfile.gettempdir(), f"django_gql_channels_tests_{os.getpid()}.sqlite3")},
    }
}
INSTALLED_APPS = [*INSTALLED_APPS, "tests.library", "tests.todos"]  # noqa: F405
ALLOWED_HOSTS = ["*"]
GQL_CHANNELS = {
    "SCHEMA": "example_project.schema.schema",
    "MULTIPART_UPLOADS_ENABLED": True,
    "CONNECTION_INIT_WAIT_TIMEOUT": 5,
    "MODEL_EVENTS": {"chat.Message": "chat_log_{room}"},
    # DEBUG is off here, which would mask resolver errors; the suite asserts
    # their text, so masking is tested with its own settings
    # (tests/e2e/production_settings.py, override_settings in test_masking.py).
    "MASK_ERRORS": False,
}
if os.environ.get("GQL_SHARED_RESULTS") == "1":  # `pytest --shared-results`, also in live servers
    GQL_CHANNELS["SHARED_SUBSCRIPTION_RESULTS"] = True
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 10000}}}
