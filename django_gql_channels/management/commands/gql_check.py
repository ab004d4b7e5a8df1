"""``manage.py gql_check``: is the GraphQL set-up sound? For people and CI alike.

Exit status: 0 when all is well; 1 when something is wrong (a settings or
schema error, an invalid document, a breaking change, an unreachable layer,
or any warning with ``--fail-on-warning``); 2 for unusable arguments.
Findings go to standard error, one line each; summaries to standard output
(or standard error when standard output carries the SDL); ``--format json``
prints one JSON object on standard output instead.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...checks import collect_problems
from ...conf import (
    DEFAULTS,
    SETTING_NAME,
    VALIDATION_SETTINGS,
    SettingProblem,
    SettingsError,
    gql_settings,
    load_schema_setting,
)
from ...engine import DocumentProblem, Engine, engine_options, load_manifest
from ..checking import (
    Change,
    DocumentsReport,
    InputError,
    SchemaSummary,
    build_manifest,
    check_manifest,
    compare_schema,
    load_sdl,
    schema_sdl,
    summarize,
    validate_documents,
    write_manifest,
)
from ..cli import FAILED, USAGE_ERROR, plain, plural, positive_float
from ..layer import DEFAULT_LAYER_TIMEOUT, LayerError, configured_layer, describe_error, group_round_trip

#: Problems of the configured manifest's content, moot while ``--manifest`` rewrites that file.
_MANIFEST_FILE_PROBLEMS = frozenset({"gql_channels.E043", "gql_channels.E044", "gql_channels.W041"})


def _same_file(path: str, configured: Any) -> bool:
    return isinstance(configured, (str, os.PathLike)) and os.path.abspath(path) == os.path.abspath(configured)


def _problem_line(problem: SettingProblem) -> str:
    hint = f" Hint: {problem.hint}" if problem.hint else ""
    return f"{problem.level} {problem.id}: {problem}{hint}"


class Command(BaseCommand):
    help = (
        "Check GQL_CHANNELS and the GraphQL schema (system checks and graphql-core's validate_schema); "
        "optionally write the schema as sorted SDL, validate client documents, report changes against a "
        "saved SDL, write or re-check a persisted-documents manifest and try a round trip through the channel "
        "layer. Exit status 0 when all is well, 1 when something is wrong, 2 for unusable arguments."
    )
    requires_system_checks: list[str] = []  # this command reports them itself, one line each

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--schema-out", metavar="FILE",
                            help="Write the schema as SDL, sorted so it diffs cleanly ('-': standard output).")
        parser.add_argument("--documents", nargs="+", metavar="GLOB",
                            help="Validate these .graphql operation documents against the schema with the "
                                 "server's own rules and limits ('**' recurses; quote the patterns). All files "
                                 "are validated together, so fragments may live in their own files.")
        parser.add_argument("--manifest", metavar="OUT.json",
                            help="With --documents: when every document validates, write the persisted-documents "
                                 "manifest {\"sha256:<hex>\": document} (one document per file with operations) "
                                 "for PERSISTED_DOCUMENTS.")
        parser.add_argument("--check-manifest", metavar="FILE",
                            help="Report the documents of this persisted-documents manifest (this app's, "
                                 "Codegen's, Relay's or Apollo's format) that no longer validate against the "
                                 "schema.")
        parser.add_argument("--compare", metavar="FILE",
                            help="Report breaking and dangerous changes from this saved SDL to the current "
                                 "schema; a breaking change fails the check.")
        parser.add_argument("--check-layer", action="store_true",
                            help="Send a message through the configured channel layer and back, and report "
                                 "the time or why it failed.")
        parser.add_argument("--layer-timeout", type=positive_float, default=DEFAULT_LAYER_TIMEOUT,
                            metavar="SECONDS",
                            help=f"Give up on the layer after this long (default {DEFAULT_LAYER_TIMEOUT:g}).")
        parser.add_argument("--fail-on-warning", action="store_true",
                            help="Fail on warnings (settings warnings, dangerous schema changes) too.")
        parser.add_argument("--format", choices=["text", "json"], default="text",
                            help="Output format (default text).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["format"] not in ("text", "json"):
            raise CommandError(f"--format must be 'text' or 'json', not {options['format']!r}.",
                               returncode=USAGE_ERROR)
        if options.get("manifest") and not options["documents"]:
            raise CommandError("--manifest writes the manifest of the --documents it validates: "
                               "add --documents DIR.", returncode=USAGE_ERROR)
        if options["format"] == "json" and options["schema_out"] == "-":
            raise CommandError("--schema-out - and --format json both want standard output; "
                               "write the SDL to a file.", returncode=USAGE_ERROR)
        try:
            report = _Check(options, sdl_stream=getattr(self.stdout, "_out", sys.stdout)).run()
        except (CommandError, KeyboardInterrupt):
            raise
        except InputError as exc:
            raise CommandError(str(exc), returncode=USAGE_ERROR) from exc
        except Exception as exc:
            if options["traceback"]:
                raise
            raise CommandError(f"gql_check failed: {describe_error(exc)} "
                               "(run with --traceback to see where).") from exc

        if options["format"] == "json":
            self.stdout.write(json.dumps(report.as_json(), indent=2), style_func=plain)
        else:
            self._print(report, summaries_to_stderr=options["schema_out"] == "-")
        if options["traceback"] and report.schema_failure:
            # The problem lines said what is wrong; --traceback also shows where it was raised.
            load_schema_setting(gql_settings.user_settings.get("SCHEMA"))
        failures = report.failures(options["fail_on_warning"])
        if failures:
            raise CommandError(f"gql_check found {plural(failures, 'problem')}.", returncode=FAILED)

    def _print(self, report: _Check, *, summaries_to_stderr: bool) -> None:
        def finding(line: str) -> None:
            self.stderr.write(line, style_func=plain)

        def summary(line: str) -> None:
            (self.stderr if summaries_to_stderr else self.stdout).write(line, style_func=plain)

        for problem in report.problems:
            finding(_problem_line(problem))
        if report.summary is not None:
            s = report.summary
            summary(f"Schema {report.schema_path}: {plural(s.types, 'type')}, "
                    f"{plural(s.queries, 'query', 'queries')}, {plural(s.mutations, 'mutation')}, "
                    f"{plural(s.subscriptions, 'subscription')}; endpoint {report.endpoint}; {report.layer}.")
        if report.sdl_written:
            out = report.options["schema_out"]
            summary(f"Wrote the schema SDL ({report.sdl_lines} lines) to "
                    f"{'standard output' if out == '-' else out}.")
        for skipped in report.skipped:
            finding(f"skipped {skipped}")
        if report.documents is not None:
            docs = report.documents
            for error in docs.errors:
                finding(str(error))
            summary(f"Documents: {plural(len(docs.files), 'file')}, {plural(docs.operations, 'operation')}, "
                    f"{plural(docs.fragments, 'fragment')}; {plural(len(docs.errors), 'error')}.")
        if report.manifest is not None:
            summary(f"Wrote the manifest of {plural(len(report.manifest), 'persisted document')} to "
                    f"{report.options['manifest']}.")
        elif report.options.get("manifest") and report.documents is not None and report.documents.errors:
            finding(f"skipped --manifest {report.options['manifest']}: the documents have errors")
        if report.manifest_problems is not None:
            for manifest_problem in report.manifest_problems:
                finding(f"{manifest_problem.level} {report.options['check_manifest']}: {manifest_problem}")
            failing = sum(p.level == "error" for p in report.manifest_problems)
            summary(f"Manifest {report.options['check_manifest']}: {plural(report.manifest_size, 'document')}, "
                    f"{failing} no longer valid.")
        if report.changes is not None:
            for change in report.changes:
                finding(str(change))
            breaking = sum(c.breaking for c in report.changes)
            summary(f"Compared with {report.options['compare']}: {breaking} breaking, "
                    f"{len(report.changes) - breaking} dangerous "
                    f"change{'' if len(report.changes) == 1 else 's'}.")
        if report.layer_error is not None:
            finding(f"error {report.layer}: {report.layer_error}")
        elif report.layer_ms is not None:
            note = "; in-memory: this process only" if report.layer.in_memory else ""
            summary(f"Layer round trip through {report.layer}: {report.layer_ms:.1f} ms "
                    f"(first {report.layer_first_ms:.1f} ms, joining a group){note}.")


class _Check:
    """Runs the checks the options ask for and keeps what they found."""

    def __init__(self, options: dict[str, Any], *, sdl_stream: Any) -> None:
        self.options = options
        self.sdl_stream = sdl_stream
        self.problems: list[SettingProblem] = []
        self.schema_path = gql_settings.user_settings.get("SCHEMA")
        self.summary: SchemaSummary | None = None
        self.endpoint = gql_settings.user_settings.get("URL_PATTERN", DEFAULTS["URL_PATTERN"])
        self.layer = configured_layer()
        self.sdl_written = False
        self.sdl_lines = 0
        self.documents: DocumentsReport | None = None
        self.changes: list[Change] | None = None
        self.manifest: dict[str, str] | None = None
        self.manifest_problems: list[DocumentProblem] | None = None
        self.manifest_size = 0
        self.layer_ms: float | None = None
        self.layer_first_ms: float | None = None
        self.layer_error: str | None = None
        self.skipped: list[str] = []
        self.schema_failure = False

    def run(self) -> _Check:
        options = self.options
        self.problems = collect_problems()
        if options.get("manifest") and options["documents"] and _same_file(
                options["manifest"], gql_settings.user_settings.get("PERSISTED_DOCUMENTS")):
            # Regenerating the configured manifest: what is wrong with the old
            # one (or that it does not exist yet) is about to be replaced.
            self.problems = [p for p in self.problems if p.id not in _MANIFEST_FILE_PROBLEMS]
        schema_errors = [p for p in self.problems if p.key == "SCHEMA" and p.level == "error"]
        self.schema_failure = any(p.id in ("gql_channels.E004", "gql_channels.E005") for p in schema_errors)
        schema = None
        if not schema_errors:
            try:
                schema = gql_settings.SCHEMA
            except SettingsError as exc:  # e.g. GQL_CHANNELS is not a dict (E001): already reported
                if not any(p.level == "error" for p in self.problems):
                    self.problems.append(exc.problem)
        if schema is not None:
            self.summary = summarize(schema)
        wanted = [name for name in ("schema_out", "documents", "check_manifest", "compare") if options.get(name)]
        if schema is None:
            self.skipped += [f"--{name.replace('_', '-')}: the schema has errors" for name in wanted]
        else:
            if options["schema_out"]:
                self._write_sdl(schema, options["schema_out"])
            if options["documents"]:
                self._documents(schema, options["documents"], options.get("manifest"))
            if options.get("check_manifest"):
                self._check_manifest(schema, options["check_manifest"])
            if options["compare"]:
                self.changes = compare_schema(load_sdl(options["compare"]), schema)
        if options["check_layer"]:
            self._check_layer(options["layer_timeout"])
        return self

    def _write_sdl(self, schema: Any, path: str) -> None:
        sdl = schema_sdl(schema)
        if path == "-":
            self.sdl_stream.write(sdl)
            self.sdl_stream.flush()
        else:
            try:
                with open(path, "w", encoding="utf-8") as stream:
                    stream.write(sdl)
            except OSError as exc:
                raise InputError(f"Cannot write --schema-out {path}: {exc.strerror or exc}.") from None
        self.sdl_written = True
        self.sdl_lines = sdl.count("\n")

    def _checking_engine(self, schema: Any, option: str) -> Engine | None:
        """An engine with the server's rules and limits (not its manifest), or None when they are broken."""
        error_keys = {p.key for p in self.problems if p.level == "error"}
        if error_keys & VALIDATION_SETTINGS:  # the server's rules cannot be built; say so rather than guess
            self.skipped.append(f"{option}: the validation settings have errors")
            return None
        return Engine(schema, **engine_options(persisted=False))

    def _documents(self, schema: Any, patterns: list[str], manifest_path: str | None) -> None:
        engine = self._checking_engine(schema, "--documents")
        if engine is None:
            return
        self.documents = validate_documents(engine, patterns)
        if manifest_path and not self.documents.errors:
            self.manifest = build_manifest(engine, self.documents.files)
            write_manifest(self.manifest, manifest_path)

    def _check_manifest(self, schema: Any, path: str) -> None:
        engine = self._checking_engine(schema, "--check-manifest")
        if engine is not None:
            self.manifest_problems = check_manifest(engine, path)
            self.manifest_size = len(load_manifest(path))

    def _check_layer(self, timeout: float) -> None:
        try:
            layer = self.layer.get()
            trip = async_to_sync(group_round_trip)(layer, timeout)
            self.layer_ms, self.layer_first_ms = 1000 * trip.steady, 1000 * trip.first
        except LayerError as exc:
            self.layer_error = str(exc)

    # -- verdict -----------------------------------------------------------------

    def failures(self, fail_on_warning: bool) -> int:
        errors = sum(p.level == "error" for p in self.problems) + len(self.skipped)
        warnings = sum(p.level == "warning" for p in self.problems)
        if self.documents is not None:
            errors += len(self.documents.errors)
        if self.manifest_problems is not None:
            errors += sum(p.level == "error" for p in self.manifest_problems)
            warnings += sum(p.level != "error" for p in self.manifest_problems)
        if self.changes is not None:
            errors += sum(c.breaking for c in self.changes)
            warnings += sum(not c.breaking for c in self.changes)
        if self.layer_error is not None:
            errors += 1
        return errors + (warnings if fail_on_warning else 0)

    def as_json(self) -> dict[str, Any]:
        s = self.summary
        return {
            "ok": self.failures(self.options["fail_on_warning"]) == 0,
            "problems": [
                {"id": p.id, "level": p.level, "setting": f"{SETTING_NAME}.{p.key}" if p.key else None,
                 "message": str(p), "hint": p.hint}
                for p in self.problems
            ],
            "schema": None if s is None else {
                "path": self.schema_path, "types": s.types, "queries": s.queries,
                "mutations": s.mutations, "subscriptions": s.subscriptions,
            },
            "endpoint": self.endpoint,
            "layer": {"alias": self.layer.alias, "backend": self.layer.backend},
            "skipped": self.skipped,
            "schema_out": self.options["schema_out"] if self.sdl_written else None,
            "documents": None if self.documents is None else {
                "files": self.documents.files, "operations": self.documents.operations,
                "fragments": self.documents.fragments,
                "errors": [vars(e) for e in self.documents.errors],
            },
            "manifest": None if self.manifest is None else {
                "file": self.options["manifest"], "documents": len(self.manifest),
            },
            "check_manifest": None if self.manifest_problems is None else {
                "file": self.options["check_manifest"], "documents": self.manifest_size,
                "problems": [{"id": p.document_id, "level": p.level, "message": p.message}
                             for p in self.manifest_problems],
            },
            "compare": None if self.changes is None else {
                "file": self.options["compare"],
                "breaking": [{"type": c.kind, "description": c.description} for c in self.changes if c.breaking],
                "dangerous": [{"type": c.kind, "description": c.description}
                              for c in self.changes if not c.breaking],
            },
            "layer_check": None if not self.options["check_layer"] else {
                "ok": self.layer_error is None,
                "ms": None if self.layer_ms is None else round(self.layer_ms, 3),
                "first_ms": None if self.layer_first_ms is None else round(self.layer_first_ms, 3),
                "error": self.layer_error,
            },
        }
