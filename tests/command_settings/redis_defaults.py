"""A Redis layer on redis-py's defaults and the default capacity: W001 and W002 (warnings only).

Nothing connects to the address unless a command uses the layer.
"""

from tests.command_settings.base import *  # noqa: F401,F403

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:6379/0"]},
    }
}
