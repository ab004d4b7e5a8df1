"""Test settings on a real Redis: ``REDIS_URL`` (set by the ``redis_url`` fixture) names the server."""

import os

from tests.settings import *  # noqa: F401,F403

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [{"address": os.environ["REDIS_URL"], "socket_timeout": None, "max_connections": 4096}],
            "capacity": 10000,
        },
    }
}
