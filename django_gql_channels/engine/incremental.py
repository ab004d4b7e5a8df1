"""Incremental delivery (``@defer``, ``@stream``): graphql-core 3.3's incremental executor, in the 2022-08-24 format.

An operation is *incremental* when the engine's schema declares ``@defer`` or
``@stream`` (graphql-core 3.3 only) and the operation uses one of them
(:func:`uses_incremental`, decided once when the document is validated). Every
other operation runs as before, on the executor that refuses the directives.

graphql-core 3.3 reports incremental results in the newer format of the
incremental-delivery RFC (``pending`` entries with ids, ``incremental``
entries naming an id, ``completed``). The clients that speak incremental
delivery today (Apollo Client's ``deferSpec=20220824``, GraphiQL's fetcher)
read the 2022-08-24 format instead: each ``incremental`` entry carries its own
``path`` (and ``label``). :class:`IncrementalResults` translates, payload by
payload, and formats every payload's errors the way the first payload's are
(masked, logged), so no payload escapes error masking.

Without graphql-core 3.3, or with a schema that does not declare the
directives, a document using them fails validation with
:data:`UNSUPPORTED_MESSAGE`: instead of graphql-core's bare "Unknown
directive" (:func:`explain_unknown_directives`), or, where graphql-core 3.2
takes the schema's declarations for custom directives it would ignore, by
:class:`RefuseIncrementalRule`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)

try:  # graphql-core 3.3
    from graphql.execution.incremental.incremental_executor import IncrementalExecutor

    _incremental_executor: Any = IncrementalExecutor
    INCREMENTAL_AVAILABLE = True
except ImportError:  # graphql-core 3.2
    _incremental_executor = None
    INCREMENTAL_AVAILABLE = False

__all__ = [
    "DEFER_SPEC",
    "INCREMENTAL_AVAILABLE",
    "INCREMENTAL_DIRECTIVES",
    "UNSUPPORTED_MESSAGE",
    "IncrementalResults",
    "RefuseIncrementalRule",
    "explain_unknown_directives",
    "incremental_executor_class",
    "schema_declares_incremental",
    "uses_incremental",
]

#: The directives of incremental delivery.
INCREMENTAL_DIRECTIVES = ("defer", "stream")
#: The format :class:`IncrementalResults` writes, as Apollo Client names it in ``Accept``.
DEFER_SPEC = "20220824"
#: What a client is told when it uses ``@defer``/``@stream`` on a server that cannot deliver incrementally.
UNSUPPORTED_MESSAGE = ("The @{name} directive is not supported by this server: incremental delivery "
                       "(@defer, @stream) needs graphql-core 3.3 and a schema that declares both directives.")


def schema_declares_incremental(schema: GraphQLSchema) -> bool:
    """Whether ``schema`` declares ``@defer`` or ``@stream`` and graphql-core can execute them."""
    return INCREMENTAL_AVAILABLE and any(
        directive.name in INCREMENTAL_DIRECTIVES for directive in schema.directives)


def incremental_executor_class(threaded_base: type | None) -> Any:
    """graphql-core's incremental executor, or the threaded variant of it (``SYNC_EXECUTION``)."""
    if threaded_base is None:
        return _incremental_executor
    return type("ThreadedIncrementalExecutor", (threaded_base, _incremental_executor), {})


def uses_incremental(document: DocumentNode, definition: OperationDefinitionNode) -> bool:
    """Whether ``definition`` (with the fragments it spreads) has a ``@defer`` or ``@stream``."""
    fragments = {node.name.value: node for node in document.definitions
                 if isinstance(node, FragmentDefinitionNode)}
    seen: set[str] = set()
    pending: list[SelectionSetNode] = [definition.selection_set]
    while pending:
        for selection in pending.pop().selections:
            if any(directive.name.value in INCREMENTAL_DIRECTIVES for directive in selection.directives or ()):
                return True
            if isinstance(selection, (FieldNode, InlineFragmentNode)):
                if selection.selection_set is not None:
                    pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in seen:
                    seen.add(name)
                    pending.append(fragment.selection_set)
    return False


class RefuseIncrementalRule(ValidationRule):
    """Refuse ``@defer``/``@stream`` where the schema declares them but graphql-core (3.2) cannot deliver them.

    graphql-core 3.2 takes such a declaration for a custom directive and
    ignores it when executing: without this rule the client would get the
    whole result at once, silently.
    """

    def enter_directive(self, node: DirectiveNode, *_args: Any) -> None:
        name = node.name.value
        if name in INCREMENTAL_DIRECTIVES:
            self.report_error(GraphQLError(UNSUPPORTED_MESSAGE.format(name=name), node))


def explain_unknown_directives(errors: list[GraphQLError]) -> bool:
    """Make graphql-core's "Unknown directive" for ``@defer``/``@stream`` in ``errors`` clear; True if any was."""
    changed = False
    for error in errors:
        for name in INCREMENTAL_DIRECTIVES:
            # graphql-core 3.2 quotes the name with double quotes, 3.3 with single ones.
            if error.message in (f'Unknown directive "@{name}".', f"Unknown directive '@{name}'."):
                error.message = UNSUPPORTED_MESSAGE.format(name=name)
                changed = True
    return changed


class IncrementalResults:
    """An operation's results, delivered incrementally: :meth:`initial`, then :meth:`subsequent`.

    Payloads are response maps in the 2022-08-24 format: the first is
    ``{"data", "errors"?, "extensions"?, "hasNext": true}``; each later one
    ``{"incremental"?: [...], "hasNext", "extensions"?}``, where an entry is
    ``{"data", "path", "label"?, "errors"?}`` (``@defer``) or ``{"items",
    "path", "label"?, "errors"?}`` (``@stream``, ``path`` ending with the
    first item's index). A deferred fragment or stream that failed as a whole
    comes as one entry with ``"data": null`` (``"items": null``) and its errors.

    ``format_errors`` formats (masks) and logs one payload's errors.
    :meth:`aclose` stops the execution's remaining work, then awaits
    ``on_close()`` (with ``SYNC_EXECUTION``: Django's database hygiene in
    the thread, as after any operation).
    """

    __slots__ = ("_deliveries", "_format_errors", "_on_close", "_pending", "_stream_counts", "_subsequent", "initial")

    def __init__(self, results: Any, format_errors: Callable[[list[GraphQLError]], list[dict[str, Any]]],
                 on_close: Callable[[], Awaitable[Any]] | None = None) -> None:
        initial = results.initial_result
        #: The first payload's data, errors and extensions (what ``process_result`` hooks get).
        self.initial = initial
        self._subsequent = results.subsequent_results
        self._format_errors = format_errors
        self._on_close = on_close
        # id -> (path, label) of every announced deferred fragment and stream
        self._pending: dict[str, tuple[list[str | int], str | None]] = {}
        # stream id -> how many of its items the client has
        self._stream_counts: dict[str, int] = {}
        # (path, data) of what was delivered: where a stream's initial items are counted
        self._deliveries: list[tuple[Sequence[str | int], Any]] = [((), initial.data)]
        self._announce(initial.pending)

    def initial_payload(self, formatted: dict[str, Any]) -> dict[str, Any]:
        """The first payload: ``formatted`` (the initial result's response map) with ``hasNext``."""
        formatted["hasNext"] = bool(self.initial.has_next)
        return formatted

    async def subsequent(self) -> AsyncIterator[dict[str, Any]]:
        """Every later payload, in order; the last has ``"hasNext": false``."""
        async for result in self._subsequent:
            yield self._translate(result)

    async def aclose(self) -> None:
        """Stop the remaining work (idempotent); then ``on_close`` runs, once."""
        try:
            await self._subsequent.aclose()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                await on_close()

    def _announce(self, pending: Collection[Any] | None) -> None:
        for entry in pending or ():
            self._pending[entry.id] = (list(entry.path), entry.label)

    def _stream_count(self, stream_id: str, path: list[str | int]) -> int:
        count = self._stream_counts.get(stream_id)
        if count is None:
            count = _initial_length(self._deliveries, path)
        return count

    def _translate(self, result: Any) -> dict[str, Any]:
        # A payload's pending entries announce what its own entries start.
        self._announce(result.pending)
        entries: list[dict[str, Any]] = []
        for entry in result.incremental or ():
            path, label = self._pending[entry.id]
            if entry.sub_path:
                path = path + list(entry.sub_path)
            items = getattr(entry, "items", None)
            if items is not None:
                index = self._stream_count(entry.id, path)
                self._stream_counts[entry.id] = index + len(items)
                for offset, value in enumerate(items):
                    self._deliveries.append(([*path, index + offset], value))
                item: dict[str, Any] = {"items": items, "path": [*path, index]}
            else:
                self._deliveries.append((path, entry.data))
                item = {"data": entry.data, "path": path}
            if label is not None:
                item["label"] = label
            if entry.errors:
                item["errors"] = self._format_errors(entry.errors)
            if entry.extensions:
                item["extensions"] = entry.extensions
            entries.append(item)
        for completed in result.completed or ():
            path, label = self._pending.pop(completed.id, ([], None))
            count = self._stream_counts.pop(completed.id, None)
            if completed.errors:
                # The fragment or stream failed as a whole (an error reached its root).
                failed: dict[str, Any] = {"data": None, "path": list(path)}
                if count is not None or _is_list(self._deliveries, list(path)):
                    failed = {"items": None,
                              "path": [*path, count if count is not None
                                       else _initial_length(self._deliveries, list(path))]}
                if label is not None:
                    failed["label"] = label
                failed["errors"] = self._format_errors(completed.errors)
                entries.append(failed)
        payload: dict[str, Any] = {}
        if entries:
            payload["incremental"] = entries
        payload["hasNext"] = bool(result.has_next)
        if result.extensions:
            payload["extensions"] = result.extensions
        return payload


def _lookup(deliveries: list[tuple[Sequence[str | int], Any]], path: list[str | int]) -> Any:
    """The value at ``path`` among what was delivered (latest delivery first), or None."""
    for prefix, data in reversed(deliveries):
        if len(prefix) > len(path) or list(prefix) != path[:len(prefix)]:
            continue
        value = data
        for key in path[len(prefix):]:
            if isinstance(value, dict) and isinstance(key, str):
                value = value.get(key)
            elif isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
                value = value[key]
            else:
                value = None
            if value is None:
                break
        if value is not None:
            return value
    return None


def _initial_length(deliveries: list[tuple[Sequence[str | int], Any]], path: list[str | int]) -> int:
    value = _lookup(deliveries, path)
    return len(value) if isinstance(value, list) else 0


def _is_list(deliveries: list[tuple[Sequence[str | int], Any]], path: list[str | int]) -> bool:
    return isinstance(_lookup(deliveries, path), list)
