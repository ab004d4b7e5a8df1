"""Settings for the example project; every value can come from the environment.

With nothing set it runs on SQLite and the in-memory channel layer. Set
``REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/0``) to share subscriptions
between processes.
"""

from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, True),
    SECRET_KEY=(str, "example-project-insecure-key-change-me"),
    DATABASE_URL=(str, f"sqlite:///{BASE_DIR / 'example.sqlite3'}"),
    REDIS_URL=(str, ""),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost", "[::1]", "testserver"]),
)

DEBUG = env("DEBUG")
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "channels",
    "django_gql_channels",
    "example_project.chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "example_project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "example_project" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES = {"default": env.db("DATABASE_URL")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "static/"
USE_TZ = True

ASGI_APPLICATION = "example_project.asgi.application"

GQL_CHANNELS = {
    "SCHEMA": "example_project.schema.schema",
    "MULTIPART_UPLOADS_ENABLED": True,
    "DEBUG": DEBUG,
    # Each saved chat message is announced to the subscribers of its room (README "Publishing events").
    "MODEL_EVENTS": {"chat.Message": "chat_log_{room}"},
}


def redis_channel_layers(url: str) -> dict[str, Any]:
    """CHANNEL_LAYERS on the Redis server at ``url``, with host options that keep subscriptions alive.

    redis-py's defaults (5 s socket timeout, 100 pooled connections) break
    long-lived subscriptions; see the README's "Running on Redis".
    """
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": url, "socket_timeout": None, "max_connections": 4096}],
                "capacity": 10000,
            },
        }
    }


if env("REDIS_URL"):
    CHANNEL_LAYERS = redis_channel_layers(env("REDIS_URL"))
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 10000}}
    }
