"""``PERSISTED_DOCUMENTS`` from the environment (``TEST_MANIFEST``), as a deployment would configure it."""

import os

from tests.command_settings.base import *  # noqa: F401,F403
from tests.command_settings.base import GQL_CHANNELS

GQL_CHANNELS = {**GQL_CHANNELS, "PERSISTED_DOCUMENTS": os.environ.get("TEST_MANIFEST", "persisted-documents.json")}
