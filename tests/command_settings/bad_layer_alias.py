"""CHANNEL_LAYER names no CHANNEL_LAYERS entry: E011."""

from tests.command_settings.base import *  # noqa: F401,F403

GQL_CHANNELS = {"SCHEMA": "example_project.schema.schema", "CHANNEL_LAYER": "events"}
