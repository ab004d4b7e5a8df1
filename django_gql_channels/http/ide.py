"""The in-browser IDE pages: GraphiQL, Apollo Sandbox, Pathfinder.

Pages are Django templates (``django_gql_channels/<ide>.html``), so a project
can override one from its own templates directory. They are rendered from the
app's own directory when the project's ``TEMPLATES`` cannot find them (no
``APP_DIRS``, or no template engine at all). GraphiQL's code ships in the
package and the endpoint serves it (see ``assets.py``), so that page works
offline and under a strict Content-Security-Policy, which it is sent with;
Apollo Sandbox and Pathfinder load from CDNs at pinned versions and need
internet access. The endpoint URLs come from the page's own location, so
nothing in the pages depends on the request but the CSP nonce.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from django.template import Context, Engine, TemplateDoesNotExist
from django.template.loader import get_template

from .assets import cdn_pins, page_assets

__all__ = ["IDE_TEMPLATES", "IDE_TITLES", "OFFLINE_IDES", "ide_page_headers", "new_csp_nonce", "render_ide_page"]

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

#: the IDEs whose code ships in the package (the others need internet access)
OFFLINE_IDES = frozenset({"graphiql"})

# The GraphiQL page runs only files served by the endpoint: no inline script
# or style, no eval; 'self' also admits ws:// and wss:// to the same host (CSP
# Level 3). Styles set from script (GraphiQL's editors do) are not inline style.
_GRAPHIQL_CSP = ("default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
                 "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                 "form-action 'self'; object-src 'none'")

_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=1)
def _own_engine() -> Engine:
    return Engine(dirs=[str(_TEMPLATES_DIR)], autoescape=True)


def _rendered(ide: str, nonce: str, only_persisted_documents: bool) -> str:
    name = IDE_TEMPLATES[ide]
    context = {"title": IDE_TITLES[ide], "graphql_ide": ide, "ide_assets": page_assets(), "cdn": cdn_pins(),
               "csp_nonce": nonce, "only_persisted_documents": only_persisted_documents}
    try:
        return get_template(name).render(context)
    except TemplateDoesNotExist:
        return _own_engine().get_template(name).render(Context(context))


def new_csp_nonce() -> str:
    return secrets.token_urlsafe(18)


def render_ide_page(ide: str, *, nonce: str = "", only_persisted_documents: bool = False) -> str:
    """The HTML page of ``ide`` (one of ``IDE_TEMPLATES``).

    With ``only_persisted_documents`` the page says that text typed into the
    IDE is refused unless it is one of the persisted documents.

    Rendered on each call (Django caches the compiled template), so template
    overrides and edits show up as they do for views. Templates get
    ``ide_assets`` (the served files by name, each with ``url`` and
    ``integrity``), ``cdn`` (the online IDEs' pinned CDN files) and
    ``csp_nonce``, the nonce an overriding template puts on an inline
    ``<script nonce="...">`` of its own.
    """
    if ide not in IDE_TEMPLATES:
        raise ValueError(f"Unknown GraphQL IDE {ide!r}: use one of {', '.join(IDE_TEMPLATES)} or None.")
    return _rendered(ide, nonce, only_persisted_documents)


def ide_page_headers(ide: str, nonce: str) -> dict[str, str]:
    """The headers sent with the page: a strict CSP where every file is local (GraphiQL).

    ``no-cache``: each page carries a fresh nonce.
    """
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if ide in OFFLINE_IDES:
        headers["Content-Security-Policy"] = _GRAPHIQL_CSP.format(nonce=nonce)
    return headers

