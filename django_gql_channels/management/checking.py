"""What ``gql_check`` finds out about a schema: counts, SDL, client documents, changes.

Plain functions returning plain data, so the command only decides how to print it.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    ExecutableDefinitionNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    Source,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    is_introspection_type,
    is_specified_scalar_type,
    lexicographic_sort_schema,
    print_ast,
    print_schema,
    separate_operations,
    validate,
)

from ..engine import DocumentProblem, Engine, ManifestError, PersistedDocuments, load_manifest, sha256_id

__all__ = [
    "Change",
    "DocumentError",
    "DocumentsReport",
    "InputError",
    "build_manifest",
    "check_manifest",
    "SchemaSummary",
    "compare_schema",
    "schema_sdl",
    "summarize",
    "validate_documents",
    "write_manifest",
]


# As the engine does: older graphql-core 3.2 releases have no token limit.


class InputError(Exception):
    """A file named on the command line cannot be used (missing, unreadable, not SDL)."""


@dataclass(frozen=True)
class SchemaSummary:
    types: int
    queries: int
    mutations: int
    subscriptions: int


def summarize(schema: GraphQLSchema) -> SchemaSummary:
    """Counts of the schema's own types (not introspection or built-in scalars) and root fields."""
    types = sum(1 for t in schema.type_map.values()
                if not is_introspection_type(t) and not is_specified_scalar_type(t))

    def fields(root: Any) -> int:
        return len(root.fields) if root is not None else 0

    return SchemaSummary(types, fields(schema.query_type), fields(schema.mutation_type),
                         fields(schema.subscription_type))


def schema_sdl(schema: GraphQLSchema) -> str:
    """The schema as SDL with types, fields and arguments sorted: the same text for the same schema."""
    return print_schema(lexicographic_sort_schema(schema)) + "\n"


# -- client documents -------------------------------------------------------------


@dataclass(frozen=True)
class DocumentError:
    file: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.message}"


@dataclass
class DocumentsReport:
    files: list[str] = field(default_factory=list)
    operations: int = 0
    fragments: int = 0
    errors: list[DocumentError] = field(default_factory=list)


#: What a directory given to ``--documents`` stands for.
DIRECTORY_PATTERNS = ("**/*.graphql", "**/*.gql")


def expand_globs(patterns: Sequence[str]) -> list[str]:
    """Files matching the patterns (``**`` recurses), sorted, each once; a pattern matching nothing is an error.

    A directory stands for every ``.graphql`` / ``.gql`` file under it.
    """
    files: dict[str, None] = {}
    for pattern in patterns:
        pattern = os.path.expanduser(pattern)
        if os.path.isdir(pattern):
            found = (glob.glob(os.path.join(glob.escape(pattern), suffix), recursive=True)
                     for suffix in DIRECTORY_PATTERNS)
            matches = sorted(p for paths in found for p in paths if os.path.isfile(p))
        else:
            matches = sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
        if not matches:
            raise InputError(f"--documents {pattern!r} matches no file.")
        files.update(dict.fromkeys(matches))
    return list(files)


def _located(error: GraphQLError, fallback_file: str) -> DocumentError:
    # Nodes keep the Source they were parsed from, so an error in a merged document
    # still names the right file; other places it points at are added to the message.
    places = []
    for node in error.nodes or ():
        if node.loc is not None:
            location = node.loc.source.get_location(node.loc.start)
            places.append((node.loc.source.name, location.line, location.column))
    if not places and error.source is not None and error.locations:
        places = [(error.source.name, loc.line, loc.column) for loc in error.locations]
    if not places:
        return DocumentError(fallback_file, None, None, error.message)
    (file, line, column), others = places[0], places[1:]
    message = error.message
    if others:
        message += " (also " + ", ".join(f"{path}:{line}:{column}" for path, line, column in others) + ")"
    return DocumentError(file, line, column, message)


def validate_documents(engine: Engine, patterns: Sequence[str]) -> DocumentsReport:
    """Parse and validate operation documents as the server would, with its rules and limits.

    All files are validated as one document, so a fragment may live in its own
    file and be used from others (as client tooling expects).
    """
    report = DocumentsReport(files=expand_globs(patterns))
    definitions: list[Any] = []
    for path in report.files:
        try:
            with open(path, encoding="utf-8") as stream:
                text = stream.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            report.errors.append(DocumentError(path, None, None, f"cannot read: {reason}"))
            continue
        source = Source(text, path)
        try:
            document = engine.parse(source)
        except GraphQLError as error:
            report.errors.append(_located(error, path))
            continue
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                report.operations += 1
            elif isinstance(definition, FragmentDefinitionNode):
                report.fragments += 1
            definitions.append(definition)
    if definitions:
        merged = DocumentNode(definitions=tuple(definitions))
        fallback = report.files[0]
        report.errors.extend(_located(error, fallback) for error in validate(engine.schema, merged,
                                                                             engine.validation_rules))
    # Like a compiler's output: by file, then position.
    report.errors.sort(key=lambda e: (e.file, e.line or 0, e.column or 0))
    return report


# -- persisted-documents manifests -----------------------------------------------------


def build_manifest(engine: Engine, files: Sequence[str]) -> dict[str, str]:
    """``{"sha256:<hex>": text}``: one persisted document per file that holds operations.

    Call after :func:`validate_documents` found no errors. A file that
    validates on its own is kept verbatim, so a client hashing the file's text
    gets its id; one that uses fragments from other files becomes its
    operations plus every fragment they need, printed as one document.
    """
    parsed: dict[str, DocumentNode] = {}
    texts: dict[str, str] = {}
    for path in files:
        with open(path, encoding="utf-8") as stream:
            texts[path] = stream.read()
        parsed[path] = engine.parse(Source(texts[path], path))
    merged = DocumentNode(definitions=tuple(d for document in parsed.values() for d in document.definitions))
    per_operation = separate_operations(merged)
    manifest: dict[str, str] = {}
    for path, document in parsed.items():
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if not operations:
            continue
        text = texts[path]
        if validate(engine.schema, document, engine.validation_rules):
            definitions: dict[tuple[str, str], Any] = {}
            for operation in operations:
                name = operation.name.value if operation.name else ""
                for definition in per_operation[name].definitions:
                    name_node = definition.name if isinstance(definition, ExecutableDefinitionNode) else None
                    key = (type(definition).__name__, name_node.value if name_node else "")
                    definitions.setdefault(key, definition)
            ordered = sorted(definitions.values(), key=lambda d: not isinstance(d, OperationDefinitionNode))
            text = print_ast(DocumentNode(definitions=tuple(ordered))) + "\n"
        manifest[sha256_id(text)] = text
    return manifest


def write_manifest(manifest: dict[str, str], path: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(dict(sorted(manifest.items())), stream, indent=2, ensure_ascii=False)
            stream.write("\n")
    except OSError as exc:
        raise InputError(f"Cannot write --manifest {path}: {exc.strerror or exc}.") from None


def check_manifest(engine: Engine, path: str) -> list[DocumentProblem]:
    """Every document of the manifest at ``path`` that no longer parses or validates (and id warnings)."""
    try:
        documents = load_manifest(path)
    except ManifestError as exc:
        raise InputError(f"--check-manifest: {exc}") from None
    return PersistedDocuments(engine, documents).problems


# -- schema changes ----------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    kind: str  # graphql-core's BreakingChangeType / DangerousChangeType name
    description: str
    breaking: bool

    def __str__(self) -> str:
        return f"{'breaking' if self.breaking else 'dangerous'} {self.kind}: {self.description}"


def load_sdl(path: str) -> GraphQLSchema:
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        raise InputError(f"Cannot read --compare file {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"Cannot read --compare file {path}: not UTF-8 text ({exc.reason}).") from None
    try:
        return build_schema(Source(text, path))
    except GraphQLError as error:
        raise InputError(f"--compare file {_located(error, path)}") from None
    except (TypeError, ValueError) as exc:  # graphql-core reports some SDL mistakes this way
        raise InputError(f"--compare file {path} is not a valid schema: {exc}") from None


def compare_schema(old: GraphQLSchema, new: GraphQLSchema) -> list[Change]:
    """Breaking changes first, then dangerous ones, from ``old`` (saved SDL) to ``new`` (the live schema)."""
    changes = [Change(c.type.name, c.description, True) for c in find_breaking_changes(old, new)]
    changes += [Change(c.type.name, c.description, False) for c in find_dangerous_changes(old, new)]
    return changes
