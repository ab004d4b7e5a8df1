"""GQL_CHANNELS is not a dict: E001."""

from tests.command_settings.base import *  # noqa: F401,F403

GQL_CHANNELS = ["example_project.schema.schema"]
