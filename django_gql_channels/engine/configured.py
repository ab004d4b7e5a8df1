"""The engine the settings ask for: one per schema, built from ``GQL_CHANNELS`` and shared.

The router and the consumers call :func:`get_engine`; ``manage.py check`` and
``gql_check`` build their own :class:`~.execution.Engine` from
:func:`engine_options`.
"""

from __future__ import annotations

from typing import Any

from ..conf import SettingProblem, SettingsError, gql_settings, on_reload
from .execution import Engine
from .persisted import DjangoCacheAPQStore, LocalAPQStore, ManifestError, load_manifest

__all__ = ["engine_options", "get_engine", "mask_errors_setting"]

_engines: dict[tuple[int, bool, bool], tuple[Any, Engine]] = {}


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
    engine = Engine(schema, debug=debug, mask_errors=mask, **engine_options())
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

    ``persisted=False`` leaves out the manifest and APQ, for checking a
    manifest without loading the configured one.
    """
    options: dict[str, Any] = {
        "validation_rules": gql_settings.VALIDATION_RULES,
        "max_depth": gql_settings.MAX_QUERY_DEPTH,
        "max_tokens": gql_settings.MAX_QUERY_TOKENS,
        "introspection": gql_settings.INTROSPECTION,
        "cache_size": gql_settings.DOCUMENT_CACHE_SIZE,
    }
    if not persisted:
        return options
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
        options["apq_store"] = (DjangoCacheAPQStore(alias) if alias is not None
                                else LocalAPQStore(gql_settings.DOCUMENT_CACHE_SIZE))
    return options


on_reload(_engines.clear)
