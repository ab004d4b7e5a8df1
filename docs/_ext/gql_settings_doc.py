"""Sphinx extension: the ``GQL_CHANNELS`` settings reference, generated from conf.py.

``.. gql-settings::`` renders one entry per key of
``django_gql_channels.conf.DEFAULTS``, in that order, with its default, the
type the system checks expect and its text from ``DESCRIPTIONS`` — so the docs
cannot drift from the code. Each entry is a ``gqlsetting`` object: pages link
to it with ``:gqlsetting:`KEY```.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


def _default_text(key: str, value: Any) -> str:
    if key == "SCHEMA":
        return "none: required"
    return f"``{value!r}``"


def settings_rst() -> list[str]:
    """The reStructuredText of the whole reference (also used by the tests)."""
    from django_gql_channels import conf

    missing = [key for key in conf.DEFAULTS if not conf.DESCRIPTIONS.get(key)]
    if missing:
        raise ExtensionError(f"django_gql_channels.conf.DESCRIPTIONS lacks {', '.join(missing)}")
    lines: list[str] = []
    for key, value in conf.DEFAULTS.items():
        rule = conf.TYPE_RULES.get(key)
        lines += [f".. gqlsetting:: {key}", ""]
        lines += [f"   :Default: {_default_text(key, value)}"]
        if rule is not None:
            lines += [f"   :Expects: {rule[1]}"]
        lines += ["", f"   {conf.DESCRIPTIONS[key]}", ""]
    return lines


class GQLSettingsDirective(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        from django_gql_channels import conf

        # Rebuild the page whenever conf.py changes.
        self.env.note_dependency(conf.__file__)
        container = nodes.container()
        nested_parse_with_titles(self.state, StringList(settings_rst(), source="django_gql_channels/conf.py"),
                                 container)
        return container.children


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_object_type("gqlsetting", "gqlsetting", indextemplate="pair: %s; GQL_CHANNELS setting")
    app.add_directive("gql-settings", GQLSettingsDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
