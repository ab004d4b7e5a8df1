"""Cost limits checked before anything expensive: bytes before parsing, counts before validation.

:class:`DocumentLimits` holds ``MAX_DOCUMENT_SIZE``, ``MAX_ALIASES``,
``MAX_DIRECTIVES``, ``MAX_QUERY_COMPLEXITY`` and ``MAX_MERGE_COMPARISONS``.
:meth:`~DocumentLimits.check_size` runs on a text before it is hashed, cached
or parsed; :meth:`~DocumentLimits.check_document` on the parsed document
before graphql-core's validation, whose cost it bounds:

- **Complexity, aliases, directives** are counted per operation with
  fragments expanded: a spread costs its fragment's fields (aliases,
  directives) each time it appears. Each fragment's counts are computed once
  (memoised), so the walk is linear in the document's size whatever its
  fan-out, and the walk stops as soon as a budget is exceeded. The count
  knows no types (it runs before validation): every field costs 1,
  ``__typename`` included; list sizes do not multiply.
- **Merge comparisons** bound graphql-core's ``OverlappingFieldsCanBeMergedRule``,
  which compares every pair of fields sharing a response key in a selection
  set, and then their sub-selections pairwise: 700 copies of ``node { id }``
  are 244,650 pairs, seconds of CPU. Fields of one key are merged across
  their parents (the fields that will be merged at execution), and the pairs
  ``n * (n - 1) / 2`` of each merged group are summed down the tree: an upper
  bound of what the rule compares. Past the budget the document is refused.

Refusals are :class:`~django_gql_channels.exceptions.GraphQLRequestError`:
``kind`` :data:`DOCUMENT_TOO_LARGE` (HTTP 413) for the size, ``"validation"``
for the counts (a validation error, as the contract says), each with an
``extensions.code``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from ..exceptions import GraphQLRequestError

__all__ = [
    "DOCUMENT_TOO_LARGE",
    "DOCUMENT_TOO_LARGE_CODE",
    "LIMIT_CODES",
    "DocumentLimits",
    "OperationCost",
    "text_size",
]

#: ``GraphQLRequestError.kind`` of a text over ``MAX_DOCUMENT_SIZE`` (HTTP 413).
DOCUMENT_TOO_LARGE = "document_too_large"
DOCUMENT_TOO_LARGE_CODE = "DOCUMENT_TOO_LARGE"
#: ``extensions.code`` of each count refused before validation.
LIMIT_CODES = {
    "aliases": "MAX_ALIASES_EXCEEDED",
    "directives": "MAX_DIRECTIVES_EXCEEDED",
    "complexity": "MAX_QUERY_COMPLEXITY_EXCEEDED",
    "merge": "MAX_MERGE_COMPARISONS_EXCEEDED",
}

#: Fields the merge walk visits at most when complexity is unlimited (it expands fragments).
_MERGE_WALK_CAP = 200_000
#: Deepest the merge walk goes (MAX_QUERY_DEPTH is checked later, by validation).
_MERGE_WALK_DEPTH = 100


def text_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8, counted without encoding when the answer is plain from its length."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


class _Exceeded(Exception):
    def __init__(self, what: str, count: int) -> None:
        self.what = what
        self.count = count


@dataclass(frozen=True)
class OperationCost:
    """What one operation counts against the limits, fragments expanded (see :meth:`DocumentLimits.measure`)."""

    fields: int
    aliases: int
    directives: int
    merge_comparisons: int


@dataclass(frozen=True)
class DocumentLimits:
    """The limits one engine enforces; ``None`` turns one off."""

    max_document_size: int | None = 100_000
    max_aliases: int | None = 30
    max_directives: int | None = 50
    max_complexity: int | None = 5000
    max_merge_comparisons: int | None = 5000

    # -- bytes, before anything else ---------------------------------------------

    def check_size(self, text: str) -> None:
        """Refuse a text over ``max_document_size`` bytes (``kind`` :data:`DOCUMENT_TOO_LARGE`)."""
        limit = self.max_document_size
        # Each character is 1 to 4 bytes: only a text in between needs counting.
        if limit is None or len(text) * 4 <= limit:
            return
        size = len(text) if len(text) > limit else text_size(text)
        if size > limit:
            raise GraphQLRequestError([GraphQLError(
                f"The document is larger than the {limit} bytes this server accepts (MAX_DOCUMENT_SIZE).",
                extensions={"code": DOCUMENT_TOO_LARGE_CODE})], DOCUMENT_TOO_LARGE)

    # -- counts, before validation ---------------------------------------------

    @property
    def counts_anything(self) -> bool:
        return any(limit is not None for limit in (self.max_aliases, self.max_directives, self.max_complexity,
                                                   self.max_merge_comparisons))

    def check_document(self, document: DocumentNode) -> GraphQLRequestError | None:
        """The refusal of the first operation of ``document`` over a limit, or None."""
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        counter = _Counter(fragments, self)
        for definition in document.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            try:
                counter.check_operation(definition)
                if self.max_merge_comparisons is not None:
                    _MergeCounter(fragments, self.max_merge_comparisons,
                                  self.max_complexity is None).check(definition.selection_set)
            except _Exceeded as exceeded:
                return self._refusal(definition, exceeded)
        return None

    def measure(self, document: DocumentNode, operation: OperationDefinitionNode) -> OperationCost:
        """The counts of one operation of ``document``, for budgets shared by many operations (a batch).

        Counted as :meth:`check_document` counts, without stopping at a limit;
        merge comparisons stop where its walk gives up (counted up to there).
        """
        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        counter = _Counter(fragments, _UNLIMITED)
        counter.check_operation(operation)
        fields, aliases, directives = counter.totals
        merge = _MergeCounter(fragments, _MERGE_WALK_CAP * _MERGE_WALK_CAP, True)
        merge.check(operation.selection_set)
        return OperationCost(fields, aliases, directives, merge.pairs)

    def _refusal(self, operation: OperationDefinitionNode, exceeded: _Exceeded) -> GraphQLRequestError:
        name = f"'{operation.name.value}'" if operation.name else "The operation"
        what = exceeded.what
        if what == "aliases":
            message = f"{name} has more than the {self.max_aliases} aliases allowed (MAX_ALIASES)."
        elif what == "directives":
            message = f"{name} has more than the {self.max_directives} directives allowed (MAX_DIRECTIVES)."
        elif what == "complexity":
            message = (f"{name} selects more than the {self.max_complexity} fields allowed, counted with "
                       "fragments expanded (MAX_QUERY_COMPLEXITY).")
        else:
            message = (f"{name} repeats fields under one response key too often: checking that they merge "
                       f"would take more than {self.max_merge_comparisons} comparisons (MAX_MERGE_COMPARISONS).")
        return GraphQLRequestError([GraphQLError(message, operation, extensions={"code": LIMIT_CODES[what]})],
                                   "validation")


class _Counter:
    """Fields, aliases and directives of operations, fragments expanded, each fragment counted once."""

    __slots__ = ("_fragments", "_limits", "_memo", "_totals")

    def __init__(self, fragments: dict[str, FragmentDefinitionNode], limits: DocumentLimits) -> None:
        self._fragments = fragments
        self._limits = (limits.max_complexity, limits.max_aliases, limits.max_directives)
        #: fragment name -> (fields, aliases, directives) of one spread of it
        self._memo: dict[str, tuple[int, int, int]] = {}
        self._totals = [0, 0, 0]

    @property
    def totals(self) -> tuple[int, int, int]:
        """Fields, aliases and directives of the last operation checked."""
        return self._totals[0], self._totals[1], self._totals[2]

    def check_operation(self, operation: OperationDefinitionNode) -> None:
        directives = len(operation.directives or ())
        for variable in operation.variable_definitions or ():
            directives += len(variable.directives or ())
        self._totals = [0, 0, directives]
        self._check()
        self._selection_set(operation.selection_set, frozenset())  # adds as it goes

    def _add(self, counts: tuple[int, int, int]) -> None:
        totals = self._totals
        for index in range(3):
            totals[index] += counts[index]
        self._check()

    def _check(self) -> None:
        for what, total, limit in zip(("complexity", "aliases", "directives"), self._totals, self._limits,
                                      strict=True):
            if limit is not None and total > limit:
                raise _Exceeded(what, total)

    def _selection_set(self, selection_set: SelectionSetNode | None, visiting: frozenset[str]) -> tuple[int, int, int]:
        """Counts of one selection set; raises as soon as the operation's running totals exceed a limit.

        Totals are added as fields are met (so a huge fan-out stops early);
        the returned counts are what a fragment's memo records.
        """
        fields = aliases = directives = 0
        if selection_set is None:
            return 0, 0, 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                own = (1, 1 if selection.alias is not None else 0, len(selection.directives or ()))
                self._add(own)
                below = self._selection_set(selection.selection_set, visiting)
                fields += own[0] + below[0]
                aliases += own[1] + below[1]
                directives += own[2] + below[2]
            elif isinstance(selection, InlineFragmentNode):
                own_directives = len(selection.directives or ())
                self._add((0, 0, own_directives))
                below = self._selection_set(selection.selection_set, visiting)
                fields += below[0]
                aliases += below[1]
                directives += own_directives + below[2]
            elif isinstance(selection, FragmentSpreadNode):
                own_directives = len(selection.directives or ())
                self._add((0, 0, own_directives))
                below = self._spread(selection.name.value, visiting)
                fields += below[0]
                aliases += below[1]
                directives += own_directives + below[2]
        return fields, aliases, directives

    def _spread(self, name: str, visiting: frozenset[str]) -> tuple[int, int, int]:
        memo = self._memo.get(name)
        if memo is not None:
            self._add(memo)
            return memo
        fragment = self._fragments.get(name)
        if fragment is None or name in visiting:  # unknown or cyclic: validation reports it
            return 0, 0, 0
        own_directives = len(fragment.directives or ())
        self._add((0, 0, own_directives))
        below = self._selection_set(fragment.selection_set, visiting | {name})
        counts = (below[0], below[1], below[2] + own_directives)
        self._memo[name] = counts
        return counts


class _MergeCounter:
    """Pairs of same-key fields graphql-core's overlap rule would compare, at most (see the module)."""

    __slots__ = ("_budget", "_cap", "_fragments", "_pairs", "_visited")

    def __init__(self, fragments: dict[str, FragmentDefinitionNode], budget: int, capped: bool) -> None:
        self._fragments = fragments
        self._budget = budget
        self._pairs = 0
        self._visited = 0
        # With complexity bounded the walk is too; unbounded, stop counting
        # (and leave the rest to validation) past a fixed number of fields.
        self._cap = _MERGE_WALK_CAP if capped else None

    @property
    def pairs(self) -> int:
        return self._pairs

    def check(self, selection_set: SelectionSetNode) -> None:
        try:
            self._group([selection_set], 0)
        except _GiveUp:
            pass

    def _group(self, selection_sets: list[SelectionSetNode], depth: int) -> None:
        if depth > _MERGE_WALK_DEPTH:  # fragment cycles through fields: validation refuses them
            raise _GiveUp
        by_key: dict[str, list[SelectionSetNode | None]] = {}
        for field in self._fields(selection_sets):
            key = field.alias.value if field.alias is not None else field.name.value
            by_key.setdefault(key, []).append(field.selection_set)
        for children in by_key.values():
            count = len(children)
            self._pairs += count * (count - 1) // 2
            if self._pairs > self._budget:
                raise _Exceeded("merge", self._pairs)
        for children in by_key.values():
            nested = [child for child in children if child is not None]
            if nested:
                self._group(nested, depth + 1)

    def _fields(self, selection_sets: list[SelectionSetNode]) -> Iterator[FieldNode]:
        for selection_set in selection_sets:
            yield from self._expand(selection_set, frozenset())

    def _expand(self, selection_set: SelectionSetNode, visiting: frozenset[str]) -> Iterator[FieldNode]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self._visited += 1
                if self._cap is not None and self._visited > self._cap:
                    raise _GiveUp
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._expand(selection.selection_set, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self._fragments.get(name)
                if fragment is not None and name not in visiting:
                    yield from self._expand(fragment.selection_set, visiting | {name})


class _GiveUp(Exception):
    pass


_UNLIMITED = DocumentLimits(None, None, None, None, None)
