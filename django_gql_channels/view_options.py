"""What :class:`~.views.GraphQLView` is told: its keyword arguments checked once, its engine, its IDE page.

graphene-django's keyword arguments are accepted by name. The ones this view
cannot honour are refused when ``as_view()`` runs (at URLconf import), with
what to do instead, rather than being ignored:

- ``execution_context_class``: execution is the engine's (limits, masking,
  ``SYNC_EXECUTION``), which takes no custom ``ExecutionContext``;
- graphene-django's ``ATOMIC_MUTATIONS`` (``GRAPHENE`` or a database's
  settings): the view does not wrap mutations in a transaction;
- graphene 2's ``executor=`` / ``backend=``;
- a subclass overriding ``get_middleware(request)``: middleware is the
  engine's, chosen once per view (``middleware=``), not per request.

``middleware=`` and ``validation_rules=`` give the view an engine of its own
(same settings otherwise); without them it shares the transports' engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.module_loading import import_string

from .conf import gql_settings, on_reload
from .engine import Engine, engine_options, get_engine, instantiate_middleware
from .http.ide import IDE_TEMPLATES

__all__ = ["ViewOptions", "page_attributes", "view_engine", "wants_html"]

#: Arguments graphene 2's view took, with what to do now.
_GONE = {
    "executor": "graphene 3 and this view run resolvers through asyncio; drop executor=",
    "backend": "graphene 3 and this view have no GraphQL backends; drop backend=",
}


def _graphene_setting(name: str) -> Any:
    return (getattr(settings, "GRAPHENE", None) or {}).get(name)


@dataclass(frozen=True)
class ViewOptions:
    """One ``as_view()``'s arguments, checked."""

    #: the schema object, a dotted path to one, or None for ``GQL_CHANNELS["SCHEMA"]``
    schema: Any
    #: the IDE to serve (a key of ``IDE_TEMPLATES``), or None
    ide: str | None
    #: graphql-core middleware instances, or None for the settings'
    middleware: tuple[Any, ...] | None
    subscription_path: str | None
    validation_rules: tuple[Any, ...]
    #: ``batch=True``: this view batches whatever ``BATCHING`` says
    batch: bool = False

    @classmethod
    def check(cls, view_class: type, initkwargs: dict[str, Any]) -> ViewOptions:
        for name, advice in _GONE.items():
            if name in initkwargs:
                raise TypeError(f"GraphQLView.as_view({name}=...) is not supported: {advice}.")

        def value(name: str) -> Any:
            # graphene-django's rule: a falsy argument falls back to the class attribute.
            return initkwargs.get(name) or getattr(view_class, name, None)

        if value("execution_context_class") is not None:
            raise TypeError("GraphQLView.as_view(execution_context_class=...) is not supported: operations run "
                            "on the shared engine (limits, MASK_ERRORS, SYNC_EXECUTION). Move what the custom "
                            "ExecutionContext did into graphql-core middleware (middleware=) or resolvers.")
        if _graphene_setting("ATOMIC_MUTATIONS") or any(
                db.get("ATOMIC_MUTATIONS") for db in settings.DATABASES.values()):
            raise ImproperlyConfigured(
                "ATOMIC_MUTATIONS is on, and django_gql_channels.views.GraphQLView does not wrap mutations in a "
                "transaction: turn it off and use transaction.atomic() in the mutations that need one.")
        middleware = _middleware(initkwargs.get("middleware", getattr(view_class, "middleware", None)))
        rules = value("validation_rules") or ()
        return cls(
            schema=value("schema"),
            ide=_ide(value("graphiql")),
            middleware=middleware,
            subscription_path=value("subscription_path"),
            validation_rules=tuple(rules),
            batch=bool(value("batch")),
        )


def _middleware(middleware: Any) -> tuple[Any, ...] | None:
    """Instances, as graphene-django makes them (classes are called once, here)."""
    if middleware is None:
        return None
    if not isinstance(middleware, (list, tuple)):
        raise TypeError(f"GraphQLView.as_view(middleware=...) takes a list of graphql-core middleware, "
                        f"not {type(middleware).__name__}.")
    return tuple(instantiate_middleware(middleware))


def _ide(graphiql: Any) -> str | None:
    if not graphiql:
        return None
    if graphiql is True:
        return gql_settings.GRAPHQL_IDE or "graphiql"
    if isinstance(graphiql, str) and graphiql in IDE_TEMPLATES:
        return graphiql
    raise TypeError(f"GraphQLView.as_view(graphiql={graphiql!r}): use True, False or one of "
                    f"{', '.join(map(repr, IDE_TEMPLATES))}.")


# Engines with a view's own middleware or validation rules, by (as_view() call, DEBUG, masking).
_view_engines: dict[tuple[int, bool, bool], tuple[ViewOptions, Engine]] = {}
on_reload(_view_engines.clear)


def view_engine(options: ViewOptions) -> Engine:
    """The engine a view runs on: the shared one, or one with its own ``middleware`` or ``validation_rules``."""
    schema = options.schema
    if isinstance(schema, str):
        schema = import_string(schema)
    shared = get_engine(schema)  # also refuses a bad PERSISTED_DOCUMENTS manifest
    if options.middleware is None and not options.validation_rules:
        return shared
    debug, mask = shared.debug, shared.mask_errors
    key = (id(options), debug, mask)
    entry = _view_engines.get(key)
    if entry is None or entry[0] is not options:
        engine_kwargs = engine_options()
        engine_kwargs["validation_rules"] = (*engine_kwargs["validation_rules"], *options.validation_rules)
        if options.middleware is not None:  # as graphene-django: the argument replaces the settings' list
            engine_kwargs["middleware"] = list(options.middleware)
        elif shared.middleware is not None:
            engine_kwargs["middleware"] = shared.middleware
        entry = (options, Engine(shared.schema, debug=debug, mask_errors=mask, **engine_kwargs))
        _view_engines[key] = entry
    return entry[1]


def _accepted(request: HttpRequest) -> list[str]:
    """``Accept``'s media types, most preferred first (graphene-django's reading)."""
    qualified = []
    for index, part in enumerate(request.META.get("HTTP_ACCEPT", "*/*").split(",")):
        media_type, _, params = part.partition(";")
        q = 1.0
        match = re.search(r"(?:^|;)\s*q=([0-9.]+)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        qualified.append((-q, index, media_type.strip().lower()))
    return [media_type for _, _, media_type in sorted(qualified)]


def wants_html(request: HttpRequest) -> bool:
    """Whether the client prefers ``text/html`` to ``application/json`` (a browser visiting the URL)."""
    accepted = _accepted(request)
    if "text/html" not in accepted:
        return False
    return "application/json" not in accepted or accepted.index("text/html") < accepted.index("application/json")


def default_subscription_path() -> str | None:
    """Where the project serves GraphQL over WebSockets, when that can be known.

    ``GRAPHENE["SUBSCRIPTION_PATH"]`` first (graphene-django's setting); else,
    with an ``ASGI_APPLICATION``, the path ``URL_PATTERN`` names when it is a
    plain path (the default ``^graphql/?$`` is ``/graphql/``); else None.
    """
    path = _graphene_setting("SUBSCRIPTION_PATH")
    if path:
        return str(path)
    if not getattr(settings, "ASGI_APPLICATION", None):
        return None
    pattern = str(gql_settings.URL_PATTERN).removeprefix("^").removesuffix("$").replace("/?", "/")
    if re.fullmatch(r"[\w./-]*", pattern) is None or "." in pattern:
        return None
    return "/" + pattern.lstrip("/")


def page_attributes(subscription_path: str | None, csrf_token: str) -> str:
    """Attributes for the IDE page's ``<html>``: its WebSocket URL (empty: none) and the CSRF token to send."""
    path = subscription_path if subscription_path is not None else default_subscription_path()
    header = settings.CSRF_HEADER_NAME.removeprefix("HTTP_").replace("_", "-")
    return (f'data-subscription-path="{escape(path or "")}" data-csrf-token="{escape(csrf_token)}" '
            f'data-csrf-header="{escape(header)}"')
