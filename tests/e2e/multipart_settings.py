"""Live servers for the multipart subscription tests: a short heartbeat, on Redis (``REDIS_URL``)."""

import os

from example_project.settings import redis_channel_layers
from tests.settings import *  # noqa: F401,F403
from tests.settings import GQL_CHANNELS

GQL_CHANNELS = {**GQL_CHANNELS, "MULTIPART_HEARTBEAT_INTERVAL": 0.2}
CHANNEL_LAYERS = redis_channel_layers(os.environ["REDIS_URL"])
