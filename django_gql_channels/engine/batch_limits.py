"""Limits over a batch of operations: what one request may cost, however many operations it holds.

A batch (several operations in one request, HTTP batching) must not be a way
around the cost limits of :mod:`.limits`: ten operations of 4,000 fields each
are 40,000 fields of work. :class:`BatchBudget` adds up what the operations of
one batch count and refuses the batch once a total exceeds the limit a single
operation has:

- ``MAX_DOCUMENT_SIZE``: the bytes of the texts the batch sends, summed
  before any is parsed (texts named by id, from the manifest or the APQ
  store, are not sent and count nothing here);
- ``MAX_QUERY_COMPLEXITY``, ``MAX_ALIASES``, ``MAX_DIRECTIVES`` and
  ``MAX_MERGE_COMPARISONS``: each operation's counts (fragments expanded, as
  :meth:`~.limits.DocumentLimits.measure` counts them), summed over the
  operations that were prepared, before any runs.

``MAX_QUERY_DEPTH`` and ``MAX_QUERY_TOKENS`` bound the shape of one document
and stay per operation. Operations are shared and cached, so each one's
counts are measured once (in a bounded table) and then only added up.
"""

from __future__ import annotations

from collections.abc import Iterable

from graphql import GraphQLError

from ..exceptions import GraphQLRequestError
from .documents import Operation
from .limits import DOCUMENT_TOO_LARGE, DOCUMENT_TOO_LARGE_CODE, LIMIT_CODES, DocumentLimits, OperationCost, text_size

__all__ = ["BatchBudget"]

#: Operations whose counts are kept (by identity: operations are cached and shared).
_MEASURED_SIZE = 1000
_measured: dict[int, tuple[Operation, OperationCost]] = {}


def _cost(limits: DocumentLimits, operation: Operation) -> OperationCost:
    entry = _measured.get(id(operation))
    if entry is not None and entry[0] is operation:
        return entry[1]
    cost = limits.measure(operation.document, operation.definition)
    if len(_measured) >= _MEASURED_SIZE:
        _measured.clear()  # crude but bounded: recounting is cheap next to parsing
    _measured[id(operation)] = (operation, cost)
    return cost


class BatchBudget:
    """The limits of one engine, applied to the sum over a batch's operations."""

    __slots__ = ("limits",)

    def __init__(self, limits: DocumentLimits) -> None:
        self.limits = limits

    def check_texts(self, texts: Iterable[str | None]) -> None:
        """Refuse (``kind`` ``document_too_large``) texts whose bytes together exceed ``MAX_DOCUMENT_SIZE``."""
        limit = self.limits.max_document_size
        if limit is None:
            return
        total = 0
        for text in texts:
            if text is not None:
                total += text_size(text)
        if total > limit:
            raise GraphQLRequestError([GraphQLError(
                f"The batch's documents are together larger than the {limit} bytes this server accepts in "
                "one request (MAX_DOCUMENT_SIZE).", extensions={"code": DOCUMENT_TOO_LARGE_CODE})],
                DOCUMENT_TOO_LARGE)

    def check_operations(self, operations: Iterable[Operation]) -> None:
        """Refuse (``kind`` ``"validation"``) operations whose counts together exceed a limit."""
        limits = self.limits
        if not limits.counts_anything:
            return
        fields = aliases = directives = merges = 0
        for operation in operations:
            cost = _cost(limits, operation)
            fields += cost.fields
            aliases += cost.aliases
            directives += cost.directives
            merges += cost.merge_comparisons
        for what, total, limit, setting, counted in (
            ("complexity", fields, limits.max_complexity, "MAX_QUERY_COMPLEXITY",
             "fields, counted with fragments expanded"),
            ("aliases", aliases, limits.max_aliases, "MAX_ALIASES", "aliases"),
            ("directives", directives, limits.max_directives, "MAX_DIRECTIVES", "directives"),
            ("merge", merges, limits.max_merge_comparisons, "MAX_MERGE_COMPARISONS",
             "comparisons of same-key fields"),
        ):
            if limit is not None and total > limit:
                raise GraphQLRequestError([GraphQLError(
                    f"The batch's operations together have {total} {counted}: more than the {limit} one "
                    f"request may have ({setting}). Send fewer operations per batch.",
                    extensions={"code": LIMIT_CODES[what]})], "validation")
