"""The in-browser IDE pages: GraphiQL, Apollo Sandbox, Pathfinder.

Pages are Django templates (``django_gql_channels/<ide>.html``), so a project
can override one from its own templates directory. They are rendered from the
app's own directory when the project's ``TEMPLATES`` cannot find them (no
``APP_DIRS``, or no template engine at all). The pages load the IDE's code
from a CDN in the browser; the endpoint URLs come from the page's own
location, so nothing in them depends on the request.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from django.template import Context, Engine, TemplateDoesNotExist
from django.template.loader import get_template

__all__ = ["IDE_TEMPLATES", "IDE_TITLES", "render_ide_page"]

IDE_TEMPLATES = {
    "graphiql": "django_gql_channels/graphiql.html",
    "apollo-sandbox": "django_gql_channels/apollo_sandbox.html",
    "pathfinder": "django_gql_channels/pathfinder.html",
}

IDE_TITLES = {
    "graphiql": "GraphiQL",
    "apollo-sandbox": "Apollo Sandbox",
    "pathfinder": "Pathfinder",
}

_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def _own_engine() -> Engine:
    return Engine(dirs=[str(_TEMPLATES_DIR)], autoescape=True)


def _rendered(ide: str, only_persisted_documents: bool) -> str:
    name = IDE_TEMPLATES[ide]
    context = {"title": IDE_TITLES[ide], "graphql_ide": ide, "only_persisted_documents": only_persisted_documents}
    try:
        return get_template(name).render(context)
    except TemplateDoesNotExist:
        return _own_engine().get_template(name).render(Context(context))


def render_ide_page(ide: str, *, only_persisted_documents: bool = False) -> str:
    """The HTML page of ``ide`` (one of ``IDE_TEMPLATES``).

    With ``only_persisted_documents`` the page says that text typed into the
    IDE is refused unless it is one of the persisted documents.

    Rendered on each call (Django caches the compiled template), so template
    overrides and edits show up as they do for views.
    """
    if ide not in IDE_TEMPLATES:
        raise ValueError(f"Unknown GraphQL IDE {ide!r}: use one of {', '.join(IDE_TEMPLATES)} or None.")
    return _rendered(ide, only_persisted_documents)

