"""Test settings on a real Redis: ``REDIS_URL`` (set by the ``redis_url`` fixture) names the server."""

import os

from example_project.settings import redis_channel_layers
from tests.settings import *  # noqa: F401,F403

CHANNEL_LAYERS = redis_channel_layers(os.environ["REDIS_URL"])
