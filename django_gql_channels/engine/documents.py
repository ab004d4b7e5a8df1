"""Documents: a text parsed and validated once, its operations picked out, the outcome cached.

:class:`ParsedDocument` is the outcome of parsing and validating one text
(errors included, so a bad text is refused again without being parsed
again); :class:`DocumentCache` keeps those outcomes in a bounded LRU keyed by
the text. :class:`~.execution.Engine` builds both; :mod:`.persisted` keeps a
manifest's documents beside the cache, parsed the same way.
"""

from __future__ import annotations

import inspect
import re
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from typing import Any, Literal, Protocol

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Source,
    Token,
    ValidationRule,
    parse,
    validate,
)
from graphql.error import GraphQLSyntaxError

from ..exceptions import GraphQLRequestError
from .limits import DocumentLimits

__all__ = [
    "PARSE_SUPPORTS_MAX_TOKENS",
    "DocumentCache",
    "DocumentValidator",
    "entry_bytes",
    "Operation",
    "OperationKind",
    "ParsedDocument",
    "max_depth_rule",
    "parse_and_validate",
    "parse_document",
    "strip_suggestions",
]

OperationKind = Literal["query", "mutation", "subscription"]

#: Whether this graphql-core's ``parse`` takes ``max_tokens`` (3.2 before 3.2.4 does not).
PARSE_SUPPORTS_MAX_TOKENS = "max_tokens" in inspect.signature(parse).parameters


class Operation:
    """A valid operation picked out of a cached document; immutable and shared."""

    __slots__ = ("definition", "document", "incremental", "kind", "name", "text")

    def __init__(self, document: DocumentNode, definition: OperationDefinitionNode, text: str | None = None) -> None:
        self.document = document
        self.definition = definition
        #: The document's text, when known: what a Strawberry schema with extensions
        #: is handed (its ``Schema.execute`` takes text; :mod:`.strawberry`).
        self.text = text
        self.kind: OperationKind = definition.operation.value
        self.name: str | None = definition.name.value if definition.name else None
        #: It uses ``@defer``/``@stream`` and the engine can deliver them (:mod:`.incremental`).
        self.incremental = False

    def __repr__(self) -> str:
        return f"<Operation {self.kind} {self.name or '(anonymous)'}>"


class ParsedDocument:
    """Outcome of parsing and validating one document text (errors included)."""

    __slots__ = ("document", "error", "only", "operations")

    def __init__(self, document: DocumentNode | None, error: GraphQLRequestError | None,
                 text: str | None = None) -> None:
        self.document = document
        self.error = error
        self.operations: dict[str | None, Operation] = {}
        if document is not None and error is None:
            for definition in document.definitions:
                if isinstance(definition, OperationDefinitionNode):
                    operation = Operation(document, definition, text)
                    self.operations[operation.name] = operation
        #: The document's one operation, picked without a name (the common case, kept at hand).
        self.only = next(iter(self.operations.values())) if len(self.operations) == 1 else None

    def select(self, operation_name: str | None) -> Operation:
        """The operation ``operation_name`` names (or the only one) of a document without ``error``."""
        if not operation_name and self.only is not None:
            return self.only
        operations = self.operations
        if operation_name:
            try:
                return operations[operation_name]
            except KeyError:
                raise GraphQLRequestError(
                    [GraphQLError(f"Unknown operation named '{operation_name}'.")], "operation"
                ) from None
        if len(operations) == 1:
            return next(iter(operations.values()))
        if not operations:
            message = "Must provide an operation."
        else:
            message = "Must provide operation name if query contains multiple operations."
        raise GraphQLRequestError([GraphQLError(message)], "operation")


class DocumentValidator(Protocol):
    """What parses and validates a text against its schema (an :class:`~.execution.Engine`)."""

    def parse_and_validate(self, text: str) -> ParsedDocument: ...


def parse_document(source: str | Source, max_tokens: int | None = None) -> DocumentNode:
    """Parse a document, refusing more than ``max_tokens`` tokens where graphql-core can count them."""
    if max_tokens is not None and PARSE_SUPPORTS_MAX_TOKENS:
        return parse(source, max_tokens=max_tokens)
    return parse(source)


def parse_and_validate(
    text: str,
    parse_text: Callable[[str], DocumentNode],
    schema: GraphQLSchema,
    rules: Collection[type[ASTValidationRule]],
    limits: DocumentLimits | None = None,
    suggestions: bool = True,
) -> ParsedDocument:
    """``text`` parsed with ``parse_text`` and validated against ``schema``; never raises for the text.

    ``limits`` are checked between parsing and validation (:mod:`.limits`);
    without ``suggestions``, "Did you mean ...?" is cut from validation
    errors, so they do not tell the schema's names.
    """
    try:
        document = parse_text(text)
    except GraphQLSyntaxError as error:
        return ParsedDocument(None, GraphQLRequestError([error], "syntax"))
    if limits is not None:
        refusal = limits.check_document(document)
        if refusal is not None:
            return ParsedDocument(document, refusal)
    errors = validate(schema, document, rules)
    if errors:
        if not suggestions:
            errors = strip_suggestions(errors)
        return ParsedDocument(document, GraphQLRequestError(errors, "validation"))
    return ParsedDocument(document, None, text)


_SUGGESTION = re.compile(r"\s*Did you mean .*\?$", re.DOTALL)


def strip_suggestions(errors: list[GraphQLError]) -> list[GraphQLError]:
    """``errors`` with graphql-core's "Did you mean ...?" hints removed (the hints name schema members)."""
    for error in errors:
        if "Did you mean" in error.message:
            error.message = _SUGGESTION.sub("", error.message)
    return errors


class DocumentCache:
    """Parsed documents by text, bounded in entries (``size``) and in bytes (``max_bytes``).

    Past either bound the least recently used go first (``size=0``: none
    kept). An entry's bytes are an estimate of what it keeps alive: its text,
    and per token of its parsed document the token and the AST around it
    (graphql-core keeps every token, comments included, linked from the
    nodes' locations). An entry larger than ``max_bytes`` is not kept.
    """

    __slots__ = ("_entries", "bytes", "max_bytes", "size")

    def __init__(self, size: int, max_bytes: int | None = None) -> None:
        self.size = size
        self.max_bytes = max_bytes
        #: The estimated bytes of the entries kept now.
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[ParsedDocument, int]] = OrderedDict()

    def get(self, text: str, parse_text: Callable[[str], ParsedDocument]) -> ParsedDocument:
        """The cached outcome for ``text``, made with ``parse_text`` (and kept) on a miss."""
        entries = self._entries
        cached = entries.get(text)
        if cached is not None:
            entries.move_to_end(text)
            return cached[0]
        parsed = parse_text(text)
        if self.size:
            max_bytes = self.max_bytes
            weight = entry_bytes(text, parsed) if max_bytes is not None else 0
            if max_bytes is None or weight <= max_bytes:
                entries[text] = (parsed, weight)
                self.bytes += weight
                while len(entries) > self.size or (max_bytes is not None and self.bytes > max_bytes):
                    self.bytes -= entries.popitem(last=False)[1][1]
        return parsed

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, text: object) -> bool:
        return text in self._entries

    def __iter__(self) -> Iterator[str]:
        """The cached texts, least recently used first."""
        return iter(list(self._entries))


#: Estimated bytes a parsed document keeps per token (the token, its share of
#: AST nodes and locations), measured with tracemalloc on graphql-core 3.3.
TOKEN_BYTES = 450


def entry_bytes(text: str, parsed: ParsedDocument) -> int:
    """What a cache entry keeps alive, estimated: the text (twice when comments copy it) and its tokens."""
    weight = 2 * len(text) + 200
    document = parsed.document
    if document is not None and document.loc is not None:
        token: Token | None = document.loc.start_token
        tokens = 0
        while token is not None:
            tokens += 1
            token = token.next
        weight += tokens * TOKEN_BYTES
    return weight


def max_depth_rule(max_depth: int) -> type[ValidationRule]:
    """A validation rule refusing operations nested deeper than ``max_depth`` fields."""

    class MaxDepthRule(ValidationRule):
        def __init__(self, context: Any) -> None:
            super().__init__(context)
            self._fragment_depths: dict[str, int] = {}

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = self._depth(node.selection_set, frozenset())
            if depth > max_depth:
                name = f"'{node.name.value}'" if node.name else "Operation"
                self.report_error(
                    GraphQLError(f"{name} is {depth} levels deep, more than the {max_depth} allowed.", node)
                )

        def _depth(self, selection_set: SelectionSetNode | None, visiting: frozenset[str]) -> int:
            if selection_set is None:
                return 0
            deepest = 0
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    depth = 1 + self._depth(selection.selection_set, visiting)
                elif isinstance(selection, InlineFragmentNode):
                    depth = self._depth(selection.selection_set, visiting)
                elif isinstance(selection, FragmentSpreadNode):
                    depth = self._spread_depth(selection.name.value, visiting)
                else:  # pragma: no cover - no other selection kinds exist
                    depth = 0
                deepest = max(deepest, depth)
                if deepest > max_depth:  # deep enough to refuse; stop walking
                    break
            return deepest

        def _spread_depth(self, name: str, visiting: frozenset[str]) -> int:
            if name in self._fragment_depths:
                return self._fragment_depths[name]
            if name in visiting:  # a cycle: NoFragmentCyclesRule reports it
                return 0
            fragment: FragmentDefinitionNode | None = self.context.get_fragment(name)
            depth = self._depth(fragment.selection_set, visiting | {name}) if fragment else 0
            self._fragment_depths[name] = depth
            return depth

    return MaxDepthRule
