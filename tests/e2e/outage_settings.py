"""Production-like settings on a Redis layer that the test kills: ``REDIS_URL`` and ``OUTAGE_LAYER`` (core/pubsub)."""

import os

from tests.settings import *  # noqa: F401,F403
from tests.settings import GQL_CHANNELS

DEBUG = False
GQL_CHANNELS = {k: v for k, v in GQL_CHANNELS.items() if k != "MASK_ERRORS"}  # masked, as in production
GQL_CHANNELS.update(SCHEMA="tests.e2e.outage_schema.schema", LAYER_RETRY_DELAY=0.05, LAYER_RETRY_MAX_DELAY=0.5,
                    LAYER_TIMEOUT=float(os.environ.get("OUTAGE_LAYER_TIMEOUT", "5")))

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": {"core": "channels_redis.core.RedisChannelLayer",
                    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer"}[os.environ["OUTAGE_LAYER"]],
        "CONFIG": {
            "hosts": [{"address": os.environ["REDIS_URL"], "socket_timeout": None, "max_connections": 4096}],
            "capacity": 10000,
        },
    }
}
