"""Sphinx configuration for the django-gql-channels docs.

Build: ``make docs`` (``sphinx-build -W --keep-going -b html docs docs/_build/html``).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The package itself (for the settings table) and the local extension.
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "_ext"))

from django_gql_channels import __version__  # noqa: E402

project = "django-gql-channels"
author = "django-gql-channels contributors"
copyright = "django-gql-channels contributors"
release = version = __version__

extensions = ["gql_settings_doc"]

root_doc = "index"
exclude_patterns = ["_build"]
# Console sessions and JSON Lines snippets are shown as typed, not highlighted
# strictly: a lexer error must not fail a -W build.
highlight_language = "none"
nitpicky = False

html_theme = "alabaster"
html_theme_options = {
    "description": "GraphQL over HTTP, WebSockets and SSE for Django on Channels",
    "fixed_sidebar": True,
}
html_static_path = ["_static"]  # alabaster loads _static/custom.css
