"""Subscription executors whose per-event copies keep nothing once the event is executed (graphql-core 3.3).

graphql-core 3.3 executes each event of a subscription on
``executor.build_per_event_executor(event)``: a shallow copy of the
subscription's executor. The copy shares the subscription's memo of
collected subfields, keyed by the identity of lists that each event's
execution creates anew (and that the memo keeps alive, so the identities
stay unique). Nothing is ever found in it across events, and every event
adds an entry that lives as long as the subscription: about 1 KiB per event
and subscriber (3.3.2), so a long subscription grows without bound and each
burst leaves survivors that make the garbage collector scan the whole heap.

The executors here give each event's copy a memo of its own: within one
event (a list of objects) it is shared as before, and it goes away with the
event. Results do not change: the memo only spares recomputing the same
collected fields.
"""

from __future__ import annotations

from typing import Any

__all__ = ["event_executor_class"]

#: graphql-core's name for the memo, an implementation detail of 3.3: when a
#: release renames it, nothing here applies and nothing breaks.
_MEMO = "_relevant_sub_fields"

_classes: dict[type, type] = {}


def event_executor_class(base: Any) -> Any:
    """``base`` (a graphql-core 3.3 ``Executor`` class), with a fresh subfield memo per subscription event."""
    cls = _classes.get(base)
    if cls is None:

        class EventExecutor(base):
            __doc__ = f"{base.__name__}, with a fresh subfield memo per subscription event."

            def build_per_event_executor(self, payload: Any) -> Any:
                executor = super().build_per_event_executor(payload)
                memo = executor.__dict__.get(_MEMO)
                if memo is not None and memo is self.__dict__.get(_MEMO):
                    setattr(executor, _MEMO, {})
                return executor

        cls = _classes[base] = EventExecutor
    return cls
