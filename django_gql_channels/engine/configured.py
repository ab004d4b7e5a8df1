"""The engine the settings ask for: one per schema, built from ``GQL_CHANNELS`` and shared.

The router and the consumers call :func:`get_engine`; ``manage.py check`` and
``gql_check`` build their own :class:`~.execution.Engine` from
:func:`engine_options`.
"""

from __future__ import annotations

from typing import Any

from ..conf import SettingProblem, SettingsError, gql_settings, on_reload
from ..schema import get_graphql_schema, schema_library
from .execution import Engine
from .limits import DocumentLimits
from .persisted import DjangoCacheAPQStore, LocalAPQStore, ManifestError, load_manifest
from .strawberry import unsupported_extensions

__all__ = ["EXTENSION_CONFLICT_HINT", "engine_options", "get_engine", "graphene_middleware", "instantiate_middleware",
           "mask_errors_setting"]

#: What to do about a Strawberry extension that cannot run (``gql_channels.E070``).
EXTENSION_CONFLICT_HINT = ("Remove MIDDLEWARE (a Strawberry SchemaExtension with a resolve() hook does its work) "
                           "and leave SYNC_EXECUTION unset (strawberry-django's resolvers leave the event loop "
                           "themselves), or drop the extension.")

_engines: dict[tuple[int, bool, bool], tuple[Any, Engine]] = {}
#: Middleware instances by setting ("MIDDLEWARE", "GRAPHENE"): a class is instantiated once, not per engine.
_middleware: dict[str, list[Any]] = {}


def mask_errors_setting() -> bool:
    """``MASK_ERRORS``, with ``None`` meaning: on unless Django's ``DEBUG`` is."""
    from django.conf import settings

    mask = gql_settings.MASK_ERRORS
    return not settings.DEBUG if mask is None else bool(mask)


def get_engine(schema: Any = None, *, debug: bool | None = None) -> Engine:
    """The shared engine for ``schema`` (default: the ``SCHEMA`` setting).

    Options come from ``GQL_CHANNELS``; engines, and so their document caches,
    are shared by every consumer serving the same schema and dropped when
    settings are reloaded.
    """
    if schema is None:
        schema = gql_settings.SCHEMA
    if debug is None:
        debug = gql_settings.DEBUG
    mask = mask_errors_setting()
    key = (id(schema), debug, mask)
    entry = _engines.get(key)
    if entry is not None and entry[0] is schema:
        return entry[1]
    options = engine_options()
    graphql_schema = get_graphql_schema(schema)
    if "middleware" not in options and schema_library(graphql_schema) == "graphene":
        options["middleware"] = graphene_middleware()
    conflicts = unsupported_extensions(graphql_schema, sync_execution=options.get("sync_execution"),
                                       middleware=bool(options.get("middleware")))
    if conflicts:  # refuse to start rather than serve without the extensions (`manage.py check`: E070)
        names = ", ".join(name for name, _ in conflicts)
        raise SettingsError(SettingProblem("gql_channels.E070", "SCHEMA",
                                           f"the Strawberry schema's extensions ({names}) cannot run: "
                                           f"{conflicts[0][1]}.", EXTENSION_CONFLICT_HINT))
    engine = Engine(schema, debug=debug, mask_errors=mask, **options)
    if engine.persisted_documents is not None and engine.persisted_documents.errors:
        # Refuse to serve rather than fail request by request: a bad manifest
        # is found at start-up (the router builds its engine) and by `manage.py check`.
        problems = engine.persisted_documents.errors
        more = f" (and {len(problems) - 1} more; run `manage.py check`)" if len(problems) > 1 else ""
        raise SettingsError(SettingProblem("gql_channels.E044", "PERSISTED_DOCUMENTS", f"{problems[0]}{more}",
                                           "Regenerate the manifest from documents that validate "
                                           "(manage.py gql_check --documents DIR --manifest FILE)."))
    _engines[key] = (schema, engine)
    return engine


def engine_options(*, persisted: bool = True) -> dict[str, Any]:
    """The :class:`~.execution.Engine` keyword arguments ``GQL_CHANNELS`` asks for (read once per call).

    ``persisted=False`` is for an engine that only validates (checking a
    manifest without loading the configured one): it leaves out the manifest
    and APQ, and what only execution reads (``SYNC_EXECUTION``,
    ``MIDDLEWARE``). ``middleware`` is there only when ``MIDDLEWARE`` is set
    (:func:`get_engine` falls back on Graphene's own setting).
    """
    options: dict[str, Any] = {
        "validation_rules": gql_settings.VALIDATION_RULES,
        "max_depth": gql_settings.MAX_QUERY_DEPTH,
        "max_tokens": gql_settings.MAX_QUERY_TOKENS,
        "introspection": gql_settings.INTROSPECTION,
        "cache_size": gql_settings.DOCUMENT_CACHE_SIZE,
        "cache_bytes": gql_settings.DOCUMENT_CACHE_BYTES,
        "limits": DocumentLimits(
            max_document_size=gql_settings.MAX_DOCUMENT_SIZE,
            max_aliases=gql_settings.MAX_ALIASES,
            max_directives=gql_settings.MAX_DIRECTIVES,
            max_complexity=gql_settings.MAX_QUERY_COMPLEXITY,
            max_merge_comparisons=gql_settings.MAX_MERGE_COMPARISONS,
        ),
    }
    # ``@live`` is declared (so documents using it validate) only with LIVE_QUERIES on.
    options["live_queries"] = gql_settings.LIVE_QUERIES
    if not persisted:
        return options
    options["sync_execution"] = gql_settings.SYNC_EXECUTION
    if "MIDDLEWARE" in gql_settings.user_settings:
        if "MIDDLEWARE" not in _middleware:
            _middleware["MIDDLEWARE"] = instantiate_middleware(gql_settings.MIDDLEWARE)
        options["middleware"] = _middleware["MIDDLEWARE"]
    path = gql_settings.PERSISTED_DOCUMENTS
    if path is not None:
        try:
            options["persisted_documents"] = load_manifest(path)
        except ManifestError as exc:
            raise SettingsError(SettingProblem("gql_channels.E043", "PERSISTED_DOCUMENTS", str(exc),
                                               "Point it at a JSON manifest written by "
                                               "`manage.py gql_check --manifest` or a client build.")) from None
    options["only_persisted_documents"] = gql_settings.ONLY_PERSISTED_DOCUMENTS
    if gql_settings.AUTOMATIC_PERSISTED_QUERIES:
        alias = gql_settings.APQ_CACHE
        max_text = gql_settings.MAX_DOCUMENT_SIZE
        options["apq_store"] = (DjangoCacheAPQStore(alias, max_text) if alias is not None
                                else LocalAPQStore(gql_settings.DOCUMENT_CACHE_SIZE, gql_settings.DOCUMENT_CACHE_BYTES,
                                                   max_text))
    return options


def instantiate_middleware(middleware: Any) -> list[Any]:
    """graphql-core middleware from imported entries: classes instantiated, functions and objects as they are."""
    return [entry() if isinstance(entry, type) else entry for entry in middleware]


def graphene_middleware() -> list[Any]:
    """``settings.GRAPHENE["MIDDLEWARE"]`` (dotted paths or objects), imported and instantiated once.

    What graphene-django's ``GraphQLView`` uses when it is given no
    ``middleware``; its ``DEBUG``-time default (``DjangoDebugMiddleware``,
    which needs an attribute-writable context) is not added.
    """
    if "GRAPHENE" not in _middleware:
        from django.conf import settings
        from django.utils.module_loading import import_string

        entries = (getattr(settings, "GRAPHENE", None) or {}).get("MIDDLEWARE") or ()
        imported = []
        for entry in entries:
            if isinstance(entry, str):
                try:
                    entry = import_string(entry)
                except ImportError as exc:
                    raise SettingsError(SettingProblem(
                        "gql_channels.E060", None,
                        f"GRAPHENE['MIDDLEWARE']: could not import {entry!r}: {exc}.",
                        "Check the dotted path, or set GQL_CHANNELS['MIDDLEWARE'].")) from exc
            imported.append(entry)
        _middleware["GRAPHENE"] = instantiate_middleware(imported)
    return _middleware["GRAPHENE"]


on_reload(_engines.clear)
on_reload(_middleware.clear)
