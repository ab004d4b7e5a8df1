"""The Redis layer the project's example settings ship, on the server ``REDIS_URL`` names."""

import os

from tests.command_settings.base import *  # noqa: F401,F403

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [{"address": os.environ["REDIS_URL"], "socket_timeout": None, "max_connections": 4096}],
            "capacity": 10000,
        },
    }
}
