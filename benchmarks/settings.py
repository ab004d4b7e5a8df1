"""Django settings for the benchmarks: an API-only project.

Only ``channels`` and ``django_gql_channels`` are installed: no
``django.contrib.auth`` / ``sessions``, so the router adds no
``AuthMiddlewareStack`` (no session or user lookup per request), which is how
an API-only service would run. ``ALLOWED_HOSTS = ["*"]`` lets the default
origin check pass the benchmark's WebSocket clients (they send no ``Origin``).

The channel layer is the in-memory one (every subscriber lives in the one
server process), or Redis pub/sub when ``BENCH_REDIS_URL`` is set.
"""

import os
from pathlib import Path

SECRET_KEY = "benchmarks-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True

INSTALLED_APPS = ["channels", "django_gql_channels"]
MIDDLEWARE: list = []
ROOT_URLCONF = "benchmarks.settings"  # no Django views: `urlpatterns` below is empty
urlpatterns: list = []
DATABASES: dict = {}

GQL_CHANNELS = {
    "SCHEMA": "benchmarks.schemas.schema",  # the Strawberry schema, unwrapped by django-gql-channels
    "GRAPHQL_IDE": None,
    # `{ hello }` as a persisted document, for the by-documentId contender.
    "PERSISTED_DOCUMENTS": str(Path(__file__).resolve().parent / "persisted_documents.json"),
}

# A burst queues many messages per channel at once: raise the in-memory
# layer's default capacity of 100 so none is dropped (the pub/sub layer has no cap).
_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "")
if _REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": _REDIS_URL, "socket_timeout": None, "max_connections": 4096}],
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 100_000}}
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
