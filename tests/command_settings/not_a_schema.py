"""SCHEMA is not a schema: E005."""

from tests.command_settings.base import *  # noqa: F401,F403

GQL_CHANNELS = {"SCHEMA": "tests.command_settings.schemas.not_a_schema"}
