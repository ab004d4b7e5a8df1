"""Test settings with the IDE chosen by the environment (``TEST_GRAPHQL_IDE``; empty means None)."""

import os

from tests.settings import *  # noqa: F401,F403
from tests.settings import GQL_CHANNELS

GQL_CHANNELS = {**GQL_CHANNELS, "GRAPHQL_IDE": os.environ.get("TEST_GRAPHQL_IDE") or None}
