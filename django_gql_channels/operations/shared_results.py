"""``SHARED_SUBSCRIPTION_RESULTS``: one execution and one encoding per event, however many subscribers.

When a group message reaches a thousand subscribers of one process that run
the same subscription, each of them would execute the same selection set
against the same message and encode the same JSON. With the switch on, the
subscriptions of one process that run the same operation (the same cached
document and operation name, equal variables) form one :class:`SharedOperation`,
and an event *object* (compared by identity: the very dict
``listen_to_channel`` hands every listener of a group) is executed and
formatted once, by whichever subscriber gets to it first; the others take the
:class:`SharedResult`. Each sink encodes the shared payload once per encoder
and splices only its operation id around it.

Everything else stays per subscriber: the source generator and whatever it
filters, the bounded queue, errors raised by the source, completion,
cancellation.

Safe only when the selection set below the subscription's root field gives
the same result for the same event whoever subscribed: resolvers that read
``info.context`` (the user, the connection's parameters) or the operation's
root value must not change what they return per connection. The first
subscriber's context is the one the shared execution sees.

What is never shared:

- ``None`` events (the confirming null a generator yields first): each
  subscriber executes its own, so a resolver that turns the confirmation into
  something connection-specific keeps working;
- an event a subscriber already took once: a generator that mutates one
  object and yields it again gets a fresh execution, not the old result;
- operations whose root subscription field opts out with
  ``extensions={"shared_results": False}`` on its graphql-core field (for
  Strawberry: ``@strawberry.subscription(metadata={"shared_results": False})``).
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from graphql import ExecutionResult, FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode

from ..channel_layer.loops import PerLoop
from ..engine import Engine, Operation

__all__ = ["SharedOperation", "SharedResult", "field_opts_out", "join_shared", "opted_out", "shared_operations"]

#: Results kept per shared operation for subscribers still behind. A
#: subscriber further behind than this executes the event itself: correct,
#: only not shared.
MAX_KEPT_EVENTS = 256

#: The opt-out marker on a subscription field's ``extensions`` (or a
#: Strawberry field's ``metadata``).
OPT_OUT_KEY = "shared_results"


class SharedResult:
    """One formatted result, shared by every subscriber of one event; encodings cached per encoder."""

    __slots__ = ("_encoded", "payload")

    def __init__(self, payload: dict[str, Any]) -> None:
        #: The response map (``data``, maybe ``errors``): read-only, other subscribers hold it too.
        self.payload = payload
        self._encoded: dict[Any, Any] = {}

    def encoded(self, key: Any, encode: Callable[[dict[str, Any]], Any]) -> Any:
        """``encode(payload)``, computed once per ``key`` (name the encoder: equal keys must encode alike)."""
        try:
            return self._encoded[key]
        except KeyError:
            value = self._encoded[key] = encode(self.payload)
            return value

    def cached(self, key: Any) -> Any:
        """A stored encoding, or None (for encoders that must be awaited)."""
        return self._encoded.get(key)

    def store(self, key: Any, value: Any) -> Any:
        self._encoded[key] = value
        return value


class _Entry:
    """One event's result (or its execution in progress) and who took it."""

    __slots__ = ("event", "pending", "result", "takers")

    def __init__(self, event: Any) -> None:
        #: Held so the event's id cannot be reused while the entry lives.
        self.event = event
        self.result: SharedResult | None = None
        self.pending: asyncio.Future[SharedResult] | None = None
        self.takers: set[int] = set()


class SharedOperation:
    """The subscribers of one process running one operation with equal variables."""

    __slots__ = ("_entries", "engine", "key", "operation", "registry", "users")

    def __init__(self, engine: Engine, operation: Operation, key: tuple[Any, ...],
                 registry: dict[tuple[Any, ...], SharedOperation]) -> None:
        self.engine = engine
        #: Held, so the ids in ``key`` stay this engine's and this operation's.
        self.operation = operation
        self.key = key
        self.registry = registry
        self.users = 0
        self._entries: OrderedDict[int, _Entry] = OrderedDict()

    def subscriber(self) -> Callable[[Any, Callable[[Any], Awaitable[ExecutionResult]]], Awaitable[Any]]:
        """A new subscriber's ``map_event`` for :meth:`Engine.subscribe`; call :meth:`leave` when it ends."""
        self.users += 1
        token = object()
        me = id(token)

        async def map_event(event: Any, execute: Callable[[Any], Awaitable[ExecutionResult]]) -> Any:
            _ = token  # keeps ``me`` unique while this subscriber runs
            if event is None:
                return SharedResult(self.engine.format_result(await execute(event)))
            return await self._result_for(event, me, execute)

        return map_event

    async def _result_for(self, event: Any, me: int, execute: Callable[[Any], Awaitable[ExecutionResult]]) -> Any:
        entries = self._entries
        entry = entries.get(id(event))
        if entry is not None and entry.event is event and me not in entry.takers:
            if entry.result is None and entry.pending is not None:
                try:
                    await asyncio.shield(entry.pending)
                except asyncio.CancelledError:
                    if not entry.pending.cancelled():
                        raise  # this subscriber was cancelled
                    entry = None  # the executing subscriber was: execute it here
                except Exception:
                    entry = None  # its execution raised: so may ours, on our own account
            if entry is not None and entry.result is not None:
                return self._take(entry, me)
        return await self._execute(event, me, execute)

    async def _execute(self, event: Any, me: int, execute: Callable[[Any], Awaitable[ExecutionResult]]) -> Any:
        entries = self._entries
        entry = _Entry(event)
        key = id(event)
        entries[key] = entry
        entries.move_to_end(key)
        if len(entries) > MAX_KEPT_EVENTS:
            entries.popitem(last=False)
        pending = entry.pending = asyncio.get_running_loop().create_future()
        try:
            result = SharedResult(self.engine.format_result(await execute(event)))
        except BaseException as exc:
            if entries.get(key) is entry:
                del entries[key]
            if isinstance(exc, Exception):
                pending.set_exception(exc)
                pending.exception()  # retrieved: waiters re-run on their own account
            else:
                pending.cancel()
            raise
        entry.result = result
        entry.pending = None
        pending.set_result(result)
        return self._take(entry, me)

    def _take(self, entry: _Entry, me: int) -> SharedResult:
        takers = entry.takers
        takers.add(me)
        if len(takers) >= self.users:
            # Everyone has it: free the event and result now rather than at eviction.
            entries = self._entries
            key = id(entry.event)
            if entries.get(key) is entry:
                del entries[key]
        assert entry.result is not None
        return entry.result

    def leave(self) -> None:
        self.users -= 1
        if self.users <= 0:
            self._entries.clear()
            if self.registry.get(self.key) is self:
                del self.registry[self.key]


#: {(engine, operation, variables as JSON): shared operation}, per event loop
_shared: PerLoop[tuple[Any, ...], SharedOperation] = PerLoop()


def shared_operations() -> list[SharedOperation]:
    """The shared operations that subscribers of the running loop run now."""
    return list(_shared.get().values())


def _root_field_name(selection_set: SelectionSetNode, operation: Operation, depth: int = 0) -> str | None:
    """The subscription's one root field (through fragments), or None."""
    if depth > 10:
        return None
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            return selection.name.value
        if isinstance(selection, InlineFragmentNode):
            found = _root_field_name(selection.selection_set, operation, depth + 1)
        elif isinstance(selection, FragmentSpreadNode):
            found = None
            for definition in operation.document.definitions:
                name = getattr(definition, "name", None)
                if getattr(definition, "kind", "") == "fragment_definition" and name and \
                        name.value == selection.name.value:
                    found = _root_field_name(definition.selection_set, operation, depth + 1)  # type: ignore[attr-defined]
                    break
        else:  # pragma: no cover - no other selection kinds exist
            found = None
        if found is not None:
            return found
    return None


def opted_out(engine: Engine, operation: Operation) -> bool:
    """Whether the operation's root subscription field asks not to share results.

    A Strawberry schema with extensions always does: Strawberry executes each
    event itself, its extensions' hooks with it, so there is no per-event
    execution to share.
    """
    if engine.delegate is not None:
        return True
    subscription_type = engine.schema.subscription_type
    name = _root_field_name(operation.definition.selection_set, operation)
    field = subscription_type.fields.get(name) if subscription_type is not None and name else None
    return field is not None and field_opts_out(field)


def field_opts_out(field: Any) -> bool:
    """Whether a root field (graphql-core's, or Strawberry's through its metadata) asks not to share results."""
    extensions = field.extensions or {}
    if extensions.get(OPT_OUT_KEY) is False:
        return True
    # Strawberry keeps its field definition in the extensions; its metadata may say so.
    definition = extensions.get("strawberry-definition")
    metadata = getattr(definition, "metadata", None)
    return isinstance(metadata, Mapping) and metadata.get(OPT_OUT_KEY) is False


def join_shared(engine: Engine, operation: Operation, variables: Mapping[str, Any] | None) -> SharedOperation | None:
    """The process's shared operation for these arguments, or None when it cannot be shared."""
    if operation.kind != "subscription":
        return None
    try:
        variables_key = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):  # not JSON (an in-process caller's objects): equality is unknown
        return None
    registry = _shared.get()
    key = (id(engine), id(operation), variables_key)
    shared = registry.get(key)
    if shared is None or shared.engine is not engine or shared.operation is not operation:
        if opted_out(engine, operation):
            return None
        shared = registry[key] = SharedOperation(engine, operation, key, registry)
    return shared
