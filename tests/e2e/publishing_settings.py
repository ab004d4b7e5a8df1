"""Live servers on Redis that read the test process's SQLite file (``GQL_TEST_DATABASE``)."""

import os

from tests.redis_settings import *  # noqa: F401,F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["GQL_TEST_DATABASE"]}}
