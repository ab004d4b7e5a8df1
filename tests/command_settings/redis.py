"""The Redis layer the project's example settings ship, on the server ``REDIS_URL`` names."""

import os

from example_project.settings import redis_channel_layers
from tests.command_settings.base import *  # noqa: F401,F403

CHANNEL_LAYERS = redis_channel_layers(os.environ["REDIS_URL"])
