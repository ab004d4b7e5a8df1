"""GraphiQL with live queries on the example project: room-page messages stored in the test process's
SQLite file (``GQL_TEST_DATABASE``), so ``chatHistory`` as a live query updates."""

import os

from tests.e2e.ide_settings import *  # noqa: F401,F403
from tests.e2e.ide_settings import GQL_CHANNELS

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["GQL_TEST_DATABASE"]}}
GQL_CHANNELS = {**GQL_CHANNELS, "LIVE_QUERIES": True, "SYNC_EXECUTION": True}
CHAT_STORE_MESSAGES = True
