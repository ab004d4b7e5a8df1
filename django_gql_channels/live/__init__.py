"""Live queries' view of the data (``LIVE_QUERIES``): what a query read, and who changed it.

- :mod:`.reads`: the models and rows an execution read through the ORM (:class:`~.reads.ReadSet`);
- :mod:`.changes`: saves, deletions and :func:`invalidate`, sent to each model's group after commit;
- :mod:`.watching`: a live query's membership of the groups of what it read (:class:`~.watching.Watch`).

Running a live query (execute, compare, re-run) is
:mod:`django_gql_channels.operations.live_queries`'s: this package never runs GraphQL.
"""

from .changes import CHANGED, ainvalidate, connect_live_changes, invalidate, live_changes_ready, model_group
from .reads import ReadSet, record_read, recording
from .watching import Watch

__all__ = [
    "CHANGED",
    "ReadSet",
    "Watch",
    "ainvalidate",
    "connect_live_changes",
    "invalidate",
    "live_changes_ready",
    "model_group",
    "record_read",
    "recording",
]
