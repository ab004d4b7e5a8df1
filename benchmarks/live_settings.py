"""Django settings for the live-query benchmark: the tests' to-do app on a SQLite file (``BENCH_LIVE_DB``)."""

import os

from .settings import *  # noqa: F401,F403
from .settings import GQL_CHANNELS

INSTALLED_APPS = ["channels", "django_gql_channels", "tests.todos"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BENCH_LIVE_DB"]}}
GQL_CHANNELS = {**GQL_CHANNELS, "SCHEMA": "tests.todos.schema.schema", "LIVE_QUERIES": True,
                "SYNC_EXECUTION": True, "PERSISTED_DOCUMENTS": None}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 100000}}}
