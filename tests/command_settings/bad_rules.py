"""An unimportable validation rule: E010."""

from tests.command_settings.base import *  # noqa: F401,F403

GQL_CHANNELS = {"SCHEMA": "example_project.schema.schema", "VALIDATION_RULES": ["tests.command_settings.nowhere.Rule"]}
