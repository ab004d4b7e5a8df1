"""Django settings for the ORM benchmark servers (``benchmarks.orm_server``).

API-only like ``benchmarks.settings`` (no auth, sessions or Django
middleware), plus the ``tests.library`` models (authors and books) in the
SQLite file ``BENCH_ORM_DB``. ``BENCH_ORM_LIBRARY`` picks the schema:
``graphene`` (graphene-django, served by its own ``GraphQLView`` at
``/graphene/`` beside ours at ``/graphql``; run in the Graphene virtualenv)
or ``strawberry`` (strawberry-django with ``DjangoOptimizerExtension``).
"""

import os

LIBRARY = os.environ.get("BENCH_ORM_LIBRARY", "strawberry")

SECRET_KEY = "benchmarks-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = ["channels", "django_gql_channels", "tests.library"]
MIDDLEWARE: list = []
ROOT_URLCONF = "benchmarks.orm_urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("BENCH_ORM_DB", ":memory:")}}

GQL_CHANNELS = {
    "SCHEMA": f"benchmarks.orm_{LIBRARY}.schema",
    "GRAPHQL_IDE": None,
}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
