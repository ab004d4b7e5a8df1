"""An unknown key (E002), a wrong type (E007), a value out of range (E008)."""

from tests.command_settings.base import *  # noqa: F401,F403

GQL_CHANNELS = {
    "SCHEMA": "example_project.schema.schema",
    "URL_PATERN": "^api",
    "KEEP_ALIVE": "yes",
    "GRAPHQL_IDE": "vscode",
}
