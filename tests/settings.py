"""Test settings: the example project on an in-memory SQLite database."""

from example_project.settings import *  # noqa: F401,F403

DEBUG = False
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ALLOWED_HOSTS = ["*"]
GQL_CHANNELS = {
    "SCHEMA": "example_project.schema.schema",
    "MULTIPART_UPLOADS_ENABLED": True,
    "CONNECTION_INIT_WAIT_TIMEOUT": 5,
}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 10000}}}
