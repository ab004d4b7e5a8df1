"""SCHEMA is missing: E003."""

from tests.command_settings.base import *  # noqa: F401,F403

GQL_CHANNELS = {"URL_PATTERN": r"^graphql/?$"}
