"""SCHEMA cannot be imported: E004."""

from tests.command_settings.base import *  # noqa: F401,F403

GQL_CHANNELS = {"SCHEMA": "tests.command_settings.nowhere.schema"}
