"""Django system checks for ``GQL_CHANNELS`` and the channel layer it uses.

========================  =======================================================
id                        problem
========================  =======================================================
``gql_channels.E001``     ``GQL_CHANNELS`` is not a dict
``gql_channels.E002``     unknown key
``gql_channels.E003``     ``SCHEMA`` missing
``gql_channels.E004``     ``SCHEMA`` cannot be imported
``gql_channels.E005``     ``SCHEMA`` is not a schema
``gql_channels.E006``     the schema is invalid (graphql-core ``validate_schema``)
``gql_channels.E007``     a value has the wrong type
``gql_channels.E008``     a value is out of range (IDE name, protocol, regex)
``gql_channels.E009``     ``HTTP_CONSUMER`` / ``WS_CONSUMER`` unimportable or wrong class
``gql_channels.E010``     a ``VALIDATION_RULES`` entry unimportable or not a rule
``gql_channels.E011``     ``CHANNEL_LAYER`` names no entry of ``CHANNEL_LAYERS``
``gql_channels.E012``     that layer's ``BACKEND`` cannot be imported
``gql_channels.E020``     a ``MODEL_EVENTS`` key names no installed model
``gql_channels.E021``     a ``MODEL_EVENTS`` group template is malformed or names no field
``gql_channels.E022``     a ``MODEL_EVENTS`` dotted path cannot be imported or is not callable
``gql_channels.E023``     a ``MODEL_EVENTS`` value is no group name, template or callable
``gql_channels.E030``     a ``CORS_*`` setting has the wrong type or an invalid value
``gql_channels.E040``     ``APQ_CACHE`` names no entry of ``CACHES``
``gql_channels.E041``     ``ONLY_PERSISTED_DOCUMENTS`` without ``PERSISTED_DOCUMENTS``
``gql_channels.E043``     the ``PERSISTED_DOCUMENTS`` manifest cannot be read or has the wrong shape
``gql_channels.E044``     a manifest document does not parse or validate (named by its id)
``gql_channels.E060``     a ``MIDDLEWARE`` entry (or, for a Graphene schema without it,
                          ``GRAPHENE["MIDDLEWARE"]``) unimportable or not graphql-core middleware
``gql_channels.E070``     a Strawberry schema extension (``strawberry.Schema(extensions=[...])``)
                          that cannot run (``MIDDLEWARE`` set, ``SYNC_EXECUTION`` forced on), by name
``gql_channels.E090``     ``METRICS`` on without ``prometheus_client`` (the ``[prometheus]`` extra)
``gql_channels.E091``     ``TRACING`` on without ``opentelemetry-api`` (the ``[opentelemetry]`` extra)
``gql_channels.W001``     Redis layer host settings that break long-lived receives
``gql_channels.W002``     layer ``capacity`` so low that bursts are dropped
``gql_channels.W003``     no channel layer: subscriptions cannot be fed
``gql_channels.W030``     ``CORS_ALLOW_ALL_ORIGINS`` together with ``CORS_ALLOW_CREDENTIALS``
``gql_channels.W031``     ``DEBUG`` on while ``MASK_ERRORS`` masks errors: no traceback is shown
``gql_channels.W040``     ``AUTOMATIC_PERSISTED_QUERIES`` with ``ONLY_PERSISTED_DOCUMENTS``: nothing registers
``gql_channels.W041``     a manifest ``sha256`` id that is not the hash of its document
``gql_channels.W080``     ``DOCUMENT_CACHE_BYTES`` too small to keep a document of ``MAX_DOCUMENT_SIZE``
``gql_channels.W090``     ``METRICS_OPERATION_NAMES`` without ``ONLY_PERSISTED_DOCUMENTS``
``gql_channels.W091``     the schema declares ``@defer``/``@stream`` but they cannot be delivered
                          (graphql-core 3.2, or Strawberry extensions): operations using them are refused
========================  =======================================================
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from .conf import (
    DEFAULTS,
    SETTING_NAME,
    VALIDATION_SETTINGS,
    SettingProblem,
    SettingsError,
    load_schema_setting,
    validate_user_settings,
)
from .http.cors import cors_setting_problems
from .observability import observability_problems

__all__ = ["check_settings", "collect_problems", "middleware_problems", "strawberry_extension_problems"]

REDIS_BACKENDS = ("channels_redis.core.RedisChannelLayer", "channels_redis.pubsub.RedisPubSubChannelLayer")
MIN_CAPACITY = 1000
MIN_MAX_CONNECTIONS = 1000


def collect_problems() -> list[SettingProblem]:
    """Every problem with ``GQL_CHANNELS`` and the channel layer, errors first."""
    user_settings = getattr(settings, SETTING_NAME, None)
    if user_settings is None:
        return [SettingProblem("gql_channels.E003", "SCHEMA", f"{SETTING_NAME} is not set; SCHEMA is required.",
                               'Add GQL_CHANNELS = {"SCHEMA": "myapp.schema.schema"} to your settings.')]
    problems = validate_user_settings(user_settings)
    if not isinstance(user_settings, dict):
        return problems
    bad_keys = {p.key for p in problems}
    if "SCHEMA" not in bad_keys:
        problems.extend(_schema_problems(user_settings["SCHEMA"], user_settings))
    for key, base in (("HTTP_CONSUMER", "django_gql_channels.http.GraphQLHTTPConsumer"),
                      ("WS_CONSUMER", "django_gql_channels.ws.GraphQLWSConsumer")):
        if key in user_settings and key not in bad_keys:
            problems.extend(_consumer_problems(key, user_settings[key], base))
    if "VALIDATION_RULES" in user_settings and "VALIDATION_RULES" not in bad_keys:
        problems.extend(_rule_problems(user_settings["VALIDATION_RULES"]))
    if "MIDDLEWARE" in user_settings:
        if "MIDDLEWARE" not in bad_keys:
            problems.extend(middleware_problems(user_settings["MIDDLEWARE"], "MIDDLEWARE"))
    elif "SCHEMA" not in bad_keys:
        problems.extend(_graphene_middleware_problems(user_settings["SCHEMA"]))
    alias = user_settings.get("CHANNEL_LAYER", DEFAULTS["CHANNEL_LAYER"])
    if "CHANNEL_LAYER" not in bad_keys:
        problems.extend(layer_problems(alias))
    problems.extend(persisted_problems(user_settings, bad_keys))
    problems.extend(limit_problems(user_settings, bad_keys))
    if "MODEL_EVENTS" in user_settings and "MODEL_EVENTS" not in bad_keys:
        from .model_events import model_event_problems

        problems.extend(model_event_problems(user_settings["MODEL_EVENTS"]))
    problems.extend(cors_setting_problems())
    problems.extend(observability_problems(user_settings, bad_keys))
    if user_settings.get("DEBUG") is True and not bad_keys & {"DEBUG", "MASK_ERRORS"}:
        mask = user_settings.get("MASK_ERRORS")
        if mask is True or (mask is None and not settings.DEBUG):
            problems.append(SettingProblem(
                "gql_channels.W031", "DEBUG", "is True, but errors are masked (MASK_ERRORS, on while Django's "
                "DEBUG is off): clients get no tracebacks.",
                "Set MASK_ERRORS to False to show them, in development only."))
    return sorted(problems, key=lambda p: (p.level != "error", p.id))


def _schema_problems(path: Any, user_settings: dict[str, Any]) -> list[SettingProblem]:
    from graphql import validate_schema

    try:
        schema = load_schema_setting(path)
    except SettingsError as exc:
        return [exc.problem]
    problems = [
        SettingProblem("gql_channels.E006", "SCHEMA", f"the schema is invalid: {error.message}",
                       "Fix the type definitions named in the message.")
        for error in validate_schema(schema)
    ]
    return problems + strawberry_extension_problems(schema, user_settings) + incremental_problems(schema)


def incremental_problems(schema: Any) -> list[SettingProblem]:
    """A warning when the schema declares ``@defer``/``@stream`` that the engine will refuse."""
    from .engine import INCREMENTAL_AVAILABLE, INCREMENTAL_DIRECTIVES, extension_names
    from .schema import get_graphql_schema

    graphql_schema = get_graphql_schema(schema)
    if not any(directive.name in INCREMENTAL_DIRECTIVES for directive in graphql_schema.directives):
        return []
    if not INCREMENTAL_AVAILABLE:
        reason = "graphql-core 3.2 cannot deliver them"
        hint = "Install graphql-core 3.3 (not possible with Graphene 3), or drop the declarations."
    elif extension_names(graphql_schema):
        reason = "the Strawberry schema's extensions run per operation, not per incremental payload"
        hint = "Remove the extensions, or turn incremental execution off in the schema's config."
    else:
        return []
    return [SettingProblem("gql_channels.W091", "SCHEMA",
                           f"the schema declares @defer/@stream, but {reason}: operations using them are refused.",
                           hint)]


def strawberry_extension_problems(schema: Any, user_settings: dict[str, Any]) -> list[SettingProblem]:
    """One error per Strawberry schema extension that cannot run: never skipped without a word."""
    from .engine import EXTENSION_CONFLICT_HINT, unsupported_extensions

    middleware = bool(user_settings.get("MIDDLEWARE"))  # GRAPHENE["MIDDLEWARE"] serves Graphene schemas only
    return [
        SettingProblem("gql_channels.E070", "SCHEMA",
                       f"the Strawberry schema's extension {name} cannot run: {reason}.", EXTENSION_CONFLICT_HINT)
        for name, reason in unsupported_extensions(schema, sync_execution=user_settings.get("SYNC_EXECUTION") is True,
                                                   middleware=middleware)
    ]


def _consumer_problems(key: str, path: str, base_path: str) -> list[SettingProblem]:
    try:
        consumer = import_string(path)
        base = import_string(base_path)
    except ImportError as exc:
        return [SettingProblem("gql_channels.E009", key, f"could not import {path!r}: {exc}.",
                               "Check the dotted path.")]
    if not (isinstance(consumer, type) and issubclass(consumer, base)):
        return [SettingProblem("gql_channels.E009", key, f"{path!r} is not a subclass of {base_path}.",
                               f"Subclass {base_path.rsplit('.', 1)[1]}.")]
    return []


def _rule_problems(paths: list[str]) -> list[SettingProblem]:
    from graphql import ASTValidationRule

    problems = []
    for path in paths:
        try:
            rule = import_string(path)
        except ImportError as exc:
            problems.append(SettingProblem("gql_channels.E010", "VALIDATION_RULES",
                                           f"could not import {path!r}: {exc}.", "Check the dotted path."))
            continue
        if not (isinstance(rule, type) and issubclass(rule, ASTValidationRule)):
            problems.append(SettingProblem("gql_channels.E010", "VALIDATION_RULES",
                                           f"{path!r} is not a graphql-core validation rule class.",
                                           "Subclass graphql.ValidationRule."))
    return problems


def middleware_problems(entries: Any, where: str) -> list[SettingProblem]:
    """Each entry must import as graphql-core middleware: a function, or a class or object with ``resolve``."""
    import inspect

    key, prefix = (where, "") if where == "MIDDLEWARE" else (None, f"{where}: ")
    problems = []
    for entry in entries:
        middleware = entry
        if isinstance(entry, str):
            try:
                middleware = import_string(entry)
            except ImportError as exc:
                problems.append(SettingProblem("gql_channels.E060", key,
                                               f"{prefix}could not import {entry!r}: {exc}.",
                                               "Check the dotted path."))
                continue
        if inspect.isfunction(middleware) or callable(getattr(middleware, "resolve", None)):
            continue
        problems.append(SettingProblem(
            "gql_channels.E060", key,
            f"{prefix}{entry!r} is not graphql-core middleware (graphql-core would skip it without a word).",
            "Point it at a function resolve(next, root, info, **args) or a class with such a resolve method."))
    return problems


def _graphene_middleware_problems(schema_path: Any) -> list[SettingProblem]:
    """``GRAPHENE["MIDDLEWARE"]``, which serves a Graphene schema while ``MIDDLEWARE`` is not set."""
    entries = (getattr(settings, "GRAPHENE", None) or {}).get("MIDDLEWARE")
    if not entries:
        return []
    from .schema import schema_library

    try:
        schema = load_schema_setting(schema_path)
    except SettingsError:  # reported on SCHEMA
        return []
    if schema_library(schema) != "graphene":
        return []
    return middleware_problems(entries, "GRAPHENE['MIDDLEWARE']")


def limit_problems(user_settings: dict[str, Any], bad_keys: set[str | None]) -> list[SettingProblem]:
    """The cost limits against each other (their types are checked with every key's)."""
    if bad_keys & {"DOCUMENT_CACHE_BYTES", "MAX_DOCUMENT_SIZE"}:
        return []
    cache_bytes = user_settings.get("DOCUMENT_CACHE_BYTES", DEFAULTS["DOCUMENT_CACHE_BYTES"])
    size = user_settings.get("MAX_DOCUMENT_SIZE", DEFAULTS["MAX_DOCUMENT_SIZE"])
    # A cached entry is estimated at twice its text at least (engine.documents.entry_bytes).
    if cache_bytes is not None and size is not None and cache_bytes < 2 * size:
        return [SettingProblem("gql_channels.W080", "DOCUMENT_CACHE_BYTES",
                               f"is {cache_bytes}, less than twice MAX_DOCUMENT_SIZE ({size}): documents near "
                               "the size limit are never cached, and the APQ store cannot keep them.",
                               "Raise DOCUMENT_CACHE_BYTES (or set it to None), or lower MAX_DOCUMENT_SIZE.")]
    return []


def persisted_problems(user_settings: dict[str, Any], bad_keys: set[str | None]) -> list[SettingProblem]:
    """The persisted-documents settings, and every manifest document validated as the server will."""
    problems: list[SettingProblem] = []
    path = user_settings.get("PERSISTED_DOCUMENTS")
    only = user_settings.get("ONLY_PERSISTED_DOCUMENTS") is True
    if only and path is None:
        problems.append(SettingProblem("gql_channels.E041", "ONLY_PERSISTED_DOCUMENTS",
                                       "is on, but PERSISTED_DOCUMENTS is not set: no operation could run.",
                                       "Point PERSISTED_DOCUMENTS at your manifest, or turn this off."))
    if user_settings.get("AUTOMATIC_PERSISTED_QUERIES") is True:
        if only:
            problems.append(SettingProblem("gql_channels.W040", "AUTOMATIC_PERSISTED_QUERIES",
                                           "is on with ONLY_PERSISTED_DOCUMENTS: only manifest documents run, "
                                           "so nothing is ever registered.",
                                           "Turn one of them off."))
        cache_alias = user_settings.get("APQ_CACHE")
        if isinstance(cache_alias, str) and "APQ_CACHE" not in bad_keys:
            caches = getattr(settings, "CACHES", None) or {"default": {}}
            if cache_alias not in caches:
                problems.append(SettingProblem("gql_channels.E040", "APQ_CACHE",
                                               f"{cache_alias!r} is not a key of CACHES ({', '.join(caches)}).",
                                               "Name one of the configured caches, or None for this "
                                               "process's own store."))
    if path is None or "PERSISTED_DOCUMENTS" in bad_keys or bad_keys & VALIDATION_SETTINGS:
        return problems
    from .engine import Engine, ManifestError, engine_options, load_manifest

    try:
        documents = load_manifest(path)
    except ManifestError as exc:
        return [*problems, SettingProblem("gql_channels.E043", "PERSISTED_DOCUMENTS", str(exc),
                                          "Point it at a JSON manifest written by "
                                          "`manage.py gql_check --manifest` or a client build.")]
    try:
        engine = Engine(load_schema_setting(user_settings["SCHEMA"]), **engine_options(persisted=False),
                        persisted_documents=documents)
    except SettingsError:  # the schema or rules are broken: reported on their own keys
        return problems
    assert engine.persisted_documents is not None
    for problem in engine.persisted_documents.problems:
        if problem.level == "error":
            problems.append(SettingProblem("gql_channels.E044", "PERSISTED_DOCUMENTS", f"{path}: {problem}",
                                           "Regenerate the manifest from documents that validate "
                                           "(manage.py gql_check --documents DIR --manifest FILE)."))
        else:
            problems.append(SettingProblem("gql_channels.W041", "PERSISTED_DOCUMENTS", f"{path}: {problem}",
                                           "Key the document by sha256:<hex of its UTF-8 text>."))
    return problems


def layer_problems(alias: str) -> list[SettingProblem]:
    """Channel-layer settings that would break or silently degrade subscriptions."""
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    if not layers:
        return [SettingProblem("gql_channels.W003", None, "CHANNEL_LAYERS is not set: subscriptions "
                               "fed by groups cannot work.",
                               'Add CHANNEL_LAYERS = {"default": {"BACKEND": '
                               '"channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}} '
                               '(one process) or a Redis layer.')]
    if alias not in layers:
        return [SettingProblem("gql_channels.E011", "CHANNEL_LAYER",
                               f"{alias!r} is not a key of CHANNEL_LAYERS ({', '.join(layers)}).",
                               "Name one of the configured layers.")]
    layer = layers[alias]
    backend = layer.get("BACKEND", "")
    try:
        import_string(backend)
    except ImportError as exc:
        return [SettingProblem("gql_channels.E012", None,
                               f"CHANNEL_LAYERS[{alias!r}] BACKEND {backend!r} cannot be imported: {exc}.",
                               'Use "channels.layers.InMemoryChannelLayer" or install channels-redis '
                               '(pip install "django-gql-channels[redis]").')]
    config = layer.get("CONFIG") or {}
    problems: list[SettingProblem] = []
    capacity = config.get("capacity", 100)
    if isinstance(capacity, int) and capacity < MIN_CAPACITY:
        problems.append(SettingProblem(
            "gql_channels.W002", None,
            f"CHANNEL_LAYERS[{alias!r}] capacity is {capacity}: a burst of more messages per subscriber "
            "is dropped with only a log line.",
            f'Set "capacity": {MIN_CAPACITY} or more in its CONFIG.'))
    if backend in REDIS_BACKENDS:
        for host in config.get("hosts", []):
            problems.extend(_redis_host_problems(alias, host))
    return problems


def _redis_host_problems(alias: str, host: Any) -> list[SettingProblem]:
    where = f"CHANNEL_LAYERS[{alias!r}] host {host!r}"
    hint = ('Use {"address": REDIS_URL, "socket_timeout": None, "max_connections": 4096} '
            "(redis-py's defaults time out idle receives after 5 s and cap the pool at 100).")
    if not isinstance(host, dict):
        return [SettingProblem("gql_channels.W001", None,
                               f"{where} uses redis-py's defaults, which break long-lived subscriptions.", hint)]
    problems = []
    if host.get("socket_timeout", 5) is not None:
        problems.append(SettingProblem("gql_channels.W001", None,
                                       f"{where}: socket_timeout is not None, so idle receives time out.", hint))
    max_connections = host.get("max_connections", 100)
    if max_connections is not None and max_connections < MIN_MAX_CONNECTIONS:
        problems.append(SettingProblem("gql_channels.W001", None,
                                       f"{where}: max_connections {max_connections} caps concurrent subscribers.",
                                       hint))
    return problems


@checks.register(checks.Tags.compatibility)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    for problem in collect_problems():
        level = checks.Error if problem.level == "error" else checks.Warning
        messages.append(level(str(problem), hint=problem.hint, obj=SETTING_NAME, id=problem.id))
    return messages


@checks.register(checks.Tags.compatibility)
def check_runserver(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Under DEBUG, warn when ``manage.py runserver`` is Django's WSGI server (WebSockets then 404)."""
    if not settings.DEBUG:
        return []
    installed = list(settings.INSTALLED_APPS)
    if "daphne" in installed and ("django.contrib.staticfiles" not in installed
                                  or installed.index("daphne") < installed.index("django.contrib.staticfiles")):
        return []
    return [checks.Warning(
        "manage.py runserver is Django's WSGI server here: WebSocket connections get 404 and "
        "subscriptions cannot work.",
        hint='pip install daphne and put "daphne" first in INSTALLED_APPS (before django.contrib.staticfiles), '
             "or serve with uvicorn/daphne directly.", obj="INSTALLED_APPS", id="gql_channels.W116")]
