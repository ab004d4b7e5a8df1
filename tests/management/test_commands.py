"""The management commands, through ``call_command``; their command-line contract also as real processes.

The ``manage`` fixture runs a command and returns its exit code, standard
output and standard error as ``manage.py`` would give them; settings come from
a module under ``tests/command_settings`` (in process: applied with
``override_settings``). Tests marked ``AS_A_PROCESS_TOO`` run it a second time
as a ``manage.py`` process: the ones whose point is the command line itself
(each exit status, what goes to which stream, ``--traceback``). Signals and
terminals are tested on processes only. Each process costs a Python and Django
start-up, so everything else runs in process only.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings
from graphql import build_schema

from django_gql_channels.management.recording import (
    BadRecord,
    Record,
    check_message,
    dump_record,
    parse_message_json,
    parse_record,
    read_records,
    timeline,
)
from tests.conftest import ROOT, free_port

GOOD = '{"type": "group.message", "text": "hi", "n": 1}'
# tests.settings without daphne, whose reactor set-up doubles each manage.py start-up; the tests that
# run tests.settings itself say so.
BASE_SETTINGS = "tests.command_settings.base"
# Settings an in-process run leaves alone: the app registry and the test database are the test run's.
NOT_OVERRIDDEN = frozenset({"INSTALLED_APPS", "DATABASES"})
IN_MEMORY_WARNING = "keeps messages inside one process"


def eof_location(source: str) -> str:
    """``line:column`` of the <EOF> a syntax error in ``source`` points at.

    graphql-core 3.3 and the latest 3.2 releases put <EOF> past a final newline;
    older 3.2 releases (3.2.11 and before; the floor is 3.2.3) at the end of the
    last line.
    """
    from graphql import GraphQLError, parse

    try:
        parse(source)
    except GraphQLError as exc:
        (location,) = exc.locations or [None]
        assert location is not None
        return f"{location.line}:{location.column}"
    raise AssertionError(f"{source!r} parses")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def command_env(settings_module: str, env: dict[str, str] | None = None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    return {**base, "DJANGO_SETTINGS_MODULE": settings_module, "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1", **(env or {})}


def manage_subprocess(*args: str, settings_module: str = BASE_SETTINGS, env: dict[str, str] | None = None,
                      stdin: str | None = None, timeout: float = 60) -> Result:
    process = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=command_env(settings_module, env),
                             input=stdin, capture_output=True, text=True, timeout=timeout)
    return Result(process.returncode, process.stdout, process.stderr)


@contextlib.contextmanager
def module_settings(name: str, env: dict[str, str] | None = None) -> Iterator[None]:
    """Apply the settings module ``name`` in this process, as far as it differs from the current settings."""
    saved = {key: os.environ.get(key) for key in env or {}}
    os.environ.update(env or {})
    try:
        module = importlib.reload(importlib.import_module(name))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    deleted = list(getattr(module, "deleted_settings", ()))
    base = importlib.import_module("tests.settings")
    overrides = {key: getattr(module, key) for key in dir(module)
                 if key.isupper() and key not in NOT_OVERRIDDEN
                 and getattr(base, key, object()) != getattr(module, key)}
    overrides.update(dict.fromkeys(deleted))
    with override_settings(**overrides):
        for key in deleted:
            delattr(settings, key)
        yield


def manage_in_process(*args: str, settings_module: str = BASE_SETTINGS, env: dict[str, str] | None = None,
                      stdin: str | None = None, timeout: float = 60) -> Result:
    """``call_command``, reporting as ``manage.py`` does: CommandError -> its line and code, else a traceback."""
    name, *rest = args
    out, err = io.StringIO(), io.StringIO()
    extra = {"stdin": io.StringIO(stdin)} if stdin is not None else {}
    code = 0
    with module_settings(settings_module, env):
        try:
            call_command(name, *rest, stdout=out, stderr=err, **extra)
        except CommandError as exc:
            # The parser's own errors are CommandError("Error: ...") in call_command; manage.py exits 2.
            code = 2 if str(exc).startswith("Error: ") else exc.returncode
            err.write(f"CommandError: {exc}\n")
        except Exception:
            code = 1
            err.write(traceback.format_exc())
    return Result(code, out.getvalue(), err.getvalue())


def manage_subprocesses(calls: list[tuple[list[str], dict]]) -> list[Result]:
    """Several independent ``manage.py`` runs at once (each costs a Python start-up), results in order."""
    processes = []
    for args, options in calls:
        processes.append((subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=ROOT,
            env=command_env(options.get("settings_module", BASE_SETTINGS), options.get("env")),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ), options.get("stdin")))
    results = []
    for process, stdin in processes:
        out, err = process.communicate(stdin, timeout=60)
        results.append(Result(process.returncode, out, err))
    return results


class Manage:
    """Runs a command through ``call_command`` or as a ``manage.py`` process; same results either way."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __call__(self, *args: str, **options) -> Result:
        run = manage_in_process if self.mode == "call_command" else manage_subprocess
        return run(*args, **options)

    def many(self, calls: list[tuple[list[str], dict]]) -> list[Result]:
        if self.mode == "call_command":
            return [manage_in_process(*args, **options) for args, options in calls]
        return manage_subprocesses(calls)


@pytest.fixture
def manage(request) -> Manage:
    return Manage(getattr(request, "param", "call_command"))


#: Also as a real ``manage.py`` process: for the tests of the command-line contract itself.
AS_A_PROCESS_TOO = pytest.mark.parametrize("manage", ["call_command", "subprocess"], indirect=True)


@pytest.fixture
def stopped_redis_url() -> str:
    """A Redis URL on a loopback port where nothing listens."""
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A Redis URL whose server accepts connections and never answers (a hung or firewalled Redis)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)  # connections complete in the kernel backlog; nothing ever reads or replies
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


# -- the record format ---------------------------------------------------------------------------------------


class TestRecording:
    def test_round_trip_of_a_record_with_bytes(self):
        line = dump_record("g1", {"type": "t", "blob": b"\x00\xff", "nested": {"x": [1, b"a"]}}, 1.23456)
        assert json.loads(line)["message"]["blob"] == {"$bytes": "AP8="}
        record = parse_record(line)
        assert record == Record("g1", {"type": "t", "blob": b"\x00\xff", "nested": {"x": [1, b"a"]}}, 1.2346)

    @pytest.mark.parametrize("line, reason", [
        ("nope", "not valid JSON"),
        ("[1]", "a record must be a JSON object"),
        ('{"group": "g", "message": {"type": "t"}, "extra": 1}', "unknown key(s) 'extra'"),
        ('{"message": {"type": "t"}}', 'the record has no "group"'),
        ('{"group": "g"}', 'the record has no "message"'),
        ('{"group": 1, "message": {"type": "t"}}', '"group" must be a string, not a number'),
        ('{"group": "a b", "message": {"type": "t"}}', "'a b' is not a valid group name"),
        ('{"group": "' + "g" * 100 + '", "message": {"type": "t"}}', "is not a valid group name"),
        ('{"group": "g", "message": "hi"}', "must be a JSON object with a string \"type\", not a string"),
        ('{"group": "g", "message": {"text": "hi"}}', 'it has no "type"'),
        ('{"group": "g", "message": {"type": 5}}', '"type" is a number'),
        ('{"group": "g", "message": {"type": ""}}', '"type" is empty'),
        ('{"group": "g", "message": {"type": "t"}, "at": -1}', '"at" must be a number of seconds >= 0'),
        ('{"group": "g", "message": {"type": "t"}, "at": "1"}', '"at" must be a number of seconds >= 0'),
        ('{"group": "g", "message": {"type": "t"}, "at": true}', '"at" must be a number of seconds >= 0'),
        ('{"group": "g", "message": {"type": "t", "b": {"$bytes": "!!"}}}', "invalid base64"),
    ])
    def test_bad_lines_say_what_is_wrong(self, line, reason):
        with pytest.raises(BadRecord) as info:
            parse_record(line)
        assert reason in str(info.value)

    def test_read_records_numbers_bad_lines_and_skips_blank_ones(self):
        records, bad = read_records(['{"group": "a", "message": {"type": "t"}}', "", "  ", "oops",
                                     '{"group": "b", "message": {"type": "t"}, "at": 2}'])
        assert [r.group for r in records] == ["a", "b"]
        assert [(b.line, str(b).split(":")[0]) for b in bad] == [(4, "line 4")]

    def test_timeline_keeps_order_fills_missing_times_and_chains_repeats(self):
        records = [Record("a", {"type": "t"}, 0.5), Record("b", {"type": "t"}), Record("c", {"type": "t"}, 0.2),
                   Record("d", {"type": "t"}, 1.0)]
        assert [(at, r.group) for at, r in timeline(records, 2)] == [
            (0.5, "a"), (0.5, "b"), (0.5, "c"), (1.0, "d"), (1.5, "a"), (1.5, "b"), (1.5, "c"), (2.0, "d")]

    def test_message_checks(self):
        assert parse_message_json(GOOD)["text"] == "hi"
        with pytest.raises(BadRecord, match="not valid JSON"):
            parse_message_json("{")
        with pytest.raises(BadRecord, match="not null"):
            check_message(None)


# -- gql_check -------------------------------------------------------------------------------------------------


BAD_CONFIGURATIONS = [
    ("not_a_dict", ["error gql_channels.E001: GQL_CHANNELS must be a dict, not list."]),
    ("no_gql_channels", ["error gql_channels.E003: GQL_CHANNELS['SCHEMA']: GQL_CHANNELS is not set"]),
    ("missing_schema", ["error gql_channels.E003: GQL_CHANNELS['SCHEMA']: is required."]),
    ("unimportable_schema", ["error gql_channels.E004: GQL_CHANNELS['SCHEMA']: could not import "
                             "'tests.command_settings.nowhere.schema'"]),
    ("broken_schema_module", ["error gql_channels.E004: GQL_CHANNELS['SCHEMA']: importing "
                              "'tests.command_settings.broken_schema.schema' raised RuntimeError: "
                              "the schema module is broken on purpose."]),
    ("not_a_schema", ["error gql_channels.E005: GQL_CHANNELS['SCHEMA']: {'query': 'Query'}"]),
    ("invalid_schema", ["error gql_channels.E006: GQL_CHANNELS['SCHEMA']: the schema is invalid: "
                        "Type Empty must define one or more fields.",
                        "error gql_channels.E006: GQL_CHANNELS['SCHEMA']: the schema is invalid: "
                        "Union type Nothing must define one or more member types."]),
    ("bad_values", ["error gql_channels.E002: GQL_CHANNELS['URL_PATERN']: is not a known key.",
                    "error gql_channels.E007: GQL_CHANNELS['KEEP_ALIVE']: must be a bool, not 'yes'.",
                    "error gql_channels.E008: GQL_CHANNELS['GRAPHQL_IDE']: 'vscode' is not a known IDE."]),
    ("bad_rules", ["error gql_channels.E010: GQL_CHANNELS['VALIDATION_RULES']: could not import "
                   "'tests.command_settings.nowhere.Rule'"]),
    ("bad_layer_alias", ["error gql_channels.E011: GQL_CHANNELS['CHANNEL_LAYER']: 'events' is not a key "
                         "of CHANNEL_LAYERS (default)."]),
]


SUMMARY = ("Schema example_project.schema.schema: 10 types, 8 queries, 5 mutations, 5 subscriptions; "
           "endpoint ^graphql/?$; layer 'default' (channels.layers.InMemoryChannelLayer).")


class TestGqlCheck:
    @AS_A_PROCESS_TOO
    def test_all_well_is_one_line_and_exit_0(self, manage):
        result = manage("gql_check", settings_module="tests.settings")
        assert (result.code, result.out.strip(), result.err) == (0, SUMMARY, "")

    def test_json(self, manage):
        result = manage("gql_check", "--format", "json")
        assert result.code == 0, result.err
        report = json.loads(result.out)
        assert report["ok"] is True
        assert report["schema"] == {"path": "example_project.schema.schema", "types": 10, "queries": 8,
                                    "mutations": 5, "subscriptions": 5}
        assert report["layer"] == {"alias": "default", "backend": "channels.layers.InMemoryChannelLayer"}
        assert report["problems"] == [] and report["layer_check"] is None

    @AS_A_PROCESS_TOO
    def test_each_problem_is_one_line_naming_the_setting_and_fails(self, manage):
        results = manage.many([(["gql_check"], {"settings_module": f"tests.command_settings.{module}"})
                               for module, _ in BAD_CONFIGURATIONS])
        for (module, lines), result in zip(BAD_CONFIGURATIONS, results):
            assert result.code == 1, module
            assert "Traceback" not in result.err
            problems = [line for line in result.err_lines if not line.startswith("CommandError")]
            assert len(problems) == len(lines), result.err
            for problem, expected in zip(problems, lines):
                assert problem.startswith(expected), (module, problem)
                assert " Hint: " in problem
            assert result.err_lines[-1] == f"CommandError: gql_check found {len(lines)} problem" + \
                ("s." if len(lines) > 1 else ".")

    def test_problems_in_json(self, manage):
        result = manage("gql_check", "--format", "json", settings_module="tests.command_settings.bad_values")
        assert result.code == 1
        report = json.loads(result.out)
        assert report["ok"] is False
        assert [(p["id"], p["level"], p["setting"]) for p in report["problems"]] == [
            ("gql_channels.E002", "error", "GQL_CHANNELS.URL_PATERN"),
            ("gql_channels.E007", "error", "GQL_CHANNELS.KEEP_ALIVE"),
            ("gql_channels.E008", "error", "GQL_CHANNELS.GRAPHQL_IDE"),
        ]
        assert report["problems"][1]["message"] == "GQL_CHANNELS['KEEP_ALIVE']: must be a bool, not 'yes'."

    @AS_A_PROCESS_TOO
    def test_traceback_option_shows_where_the_schema_failed(self, manage):
        result = manage("gql_check", "--traceback", settings_module="tests.command_settings.broken_schema_module")
        assert result.code == 1
        assert "error gql_channels.E004" in result.err
        assert "Traceback (most recent call last)" in result.err
        assert 'broken_schema.py", line 3' in result.err
        assert "RuntimeError: the schema module is broken on purpose" in result.err

    def test_warnings_print_but_pass_unless_fail_on_warning(self, manage):
        result = manage("gql_check", settings_module="tests.command_settings.redis_defaults")
        assert result.code == 0
        assert [line.split(":")[0] for line in result.err_lines] == ["warning gql_channels.W001",
                                                                      "warning gql_channels.W002"]
        assert "CHANNEL_LAYERS['default'] host 'redis://127.0.0.1:6379/0' uses redis-py's defaults" in result.err
        assert '"socket_timeout": None' in result.err
        assert "channels_redis.pubsub.RedisPubSubChannelLayer" in result.out
        strict = manage("gql_check", "--fail-on-warning", settings_module="tests.command_settings.redis_defaults")
        assert strict.code == 1
        assert strict.err_lines[-1] == "CommandError: gql_check found 2 problems."

    def test_no_layer_is_a_warning(self, manage):
        result = manage("gql_check", settings_module="tests.command_settings.no_layers")
        assert result.code == 0
        assert result.err_lines[0].startswith("warning gql_channels.W003: CHANNEL_LAYERS is not set")

    @AS_A_PROCESS_TOO
    def test_bad_format_is_a_usage_error(self, manage):
        result = manage("gql_check", "--format", "yaml")
        assert result.code == 2
        assert "invalid choice: 'yaml'" in result.err

    # -- --schema-out

    def test_schema_out_file_is_sorted_stable_sdl(self, manage, tmp_path):
        first, second = tmp_path / "a.graphql", tmp_path / "b.graphql"
        result = manage("gql_check", "--schema-out", str(first))
        assert result.code == 0
        assert result.out.splitlines() == [SUMMARY, f"Wrote the schema SDL (76 lines) to {first}."]
        manage("gql_check", "--schema-out", str(second))
        sdl = first.read_text()
        assert sdl == second.read_text()
        assert sdl.endswith("}\n") and not sdl.endswith("\n\n")
        schema = build_schema(sdl)
        assert sorted(schema.query_type.fields) == list(schema.query_type.fields)
        names = [line.split()[1] for line in sdl.splitlines() if line.startswith(("type ", "input ", "scalar "))]
        assert names == sorted(names)
        assert "scalar Upload" in sdl

    @AS_A_PROCESS_TOO
    def test_schema_out_stdout_carries_only_the_sdl(self, manage):
        result = manage("gql_check", "--schema-out", "-")
        assert result.code == 0
        build_schema(result.out)  # nothing but SDL on stdout
        assert result.out.startswith("input ChatRoom {")
        assert result.err_lines == [SUMMARY, "Wrote the schema SDL (76 lines) to standard output."]

    def test_schema_out_with_json_is_a_usage_error(self, manage):
        result = manage("gql_check", "--schema-out", "-", "--format", "json")
        assert result.code == 2
        assert "--schema-out - and --format json both want standard output" in result.err

    def test_schema_out_unwritable(self, manage, tmp_path):
        result = manage("gql_check", "--schema-out", str(tmp_path / "missing" / "schema.graphql"))
        assert result.code == 2
        assert result.err_lines == [f"CommandError: Cannot write --schema-out {tmp_path}/missing/schema.graphql: "
                                    "No such file or directory."]

    def test_schema_out_refused_for_a_broken_schema(self, manage, tmp_path):
        target = tmp_path / "schema.graphql"
        result = manage("gql_check", "--schema-out", str(target),
                        settings_module="tests.command_settings.invalid_schema")
        assert result.code == 1
        assert "skipped --schema-out: the schema has errors" in result.err_lines
        assert not target.exists()

    # -- --documents

    @pytest.fixture
    def documents(self, tmp_path):
        (tmp_path / "sub").mkdir()
        (tmp_path / "hello.graphql").write_text('query Hello { hello(name: "x") ...Me }\n')
        (tmp_path / "sub" / "me.graphql").write_text("fragment Me on Query { me }\n")
        (tmp_path / "sub" / "items.graphql").write_text("query Items { items(n: 2) { id name } }\n"
                                                        "subscription Count { count(to: 2) }\n")
        return tmp_path

    def test_documents_valid_with_fragments_in_their_own_files(self, manage, documents):
        result = manage("gql_check", "--documents", f"{documents}/**/*.graphql")
        assert result.code == 0, result.err
        assert result.out.splitlines() == [SUMMARY, "Documents: 3 files, 3 operations, 1 fragment; 0 errors."]

    def test_document_errors_as_file_line_col(self, manage, documents):
        (documents / "bad.graphql").write_text("query Bad {\n  items(n: 1) { id nope }\n  hello(name: 3)\n}\n")
        (documents / "sub" / "syntax.graphql").write_text(unfinished := "query {\n  hello(\n")
        (documents / "dup.graphql").write_text("query Hello { me }\n")
        result = manage("gql_check", "--documents", f"{documents}/*.graphql", f"{documents}/sub/*.graphql")
        assert result.code == 1
        bad, dup, hello, syntax = (documents / "bad.graphql", documents / "dup.graphql",
                                   documents / "hello.graphql", documents / "sub" / "syntax.graphql")
        assert result.err_lines == [
            f"{bad}:2:20: Cannot query field 'nope' on type 'Item'. Did you mean 'name'?",
            f"{bad}:3:15: String cannot represent a non string value: 3",
            f"{dup}:1:7: There can be only one operation named 'Hello'. (also {hello}:1:7)",
            f"{syntax}:{eof_location(unfinished)}: Syntax Error: Expected Name, found <EOF>.",
            "CommandError: gql_check found 4 problems.",
        ]
        assert result.out.splitlines()[-1] == "Documents: 6 files, 5 operations, 1 fragment; 4 errors."

    def test_documents_json(self, manage, documents):
        (documents / "bad.graphql").write_text("{ nope }")
        result = manage("gql_check", "--format", "json", "--documents", f"{documents}/bad.graphql")
        assert result.code == 1
        assert json.loads(result.out)["documents"] == {
            "files": [f"{documents}/bad.graphql"], "operations": 1, "fragments": 0,
            "errors": [{"file": f"{documents}/bad.graphql", "line": 1, "column": 3,
                        "message": "Cannot query field 'nope' on type 'Query'."}],
        }

    def test_documents_respect_the_servers_limits(self, manage, documents):
        (documents / "deep.graphql").write_text("query Deep { items { id } __schema { types { name } } }\n")
        (documents / "long.graphql").write_text("query Long { " + "hello " * 80 + "}\n")
        result = manage("gql_check", "--documents", f"{documents}/deep.graphql", f"{documents}/long.graphql",
                        settings_module="tests.command_settings.limits")
        assert result.code == 1
        deep, long = documents / "deep.graphql", documents / "long.graphql"
        assert result.err_lines[:-1] == [
            f"{deep}:1:1: 'Deep' is 3 levels deep, more than the 2 allowed.",
            f"{deep}:1:27: GraphQL introspection has been disabled, but the requested query contained "
            "the field '__schema'.",
            f"{deep}:1:38: GraphQL introspection has been disabled, but the requested query contained "
            "the field 'types'.",
            f"{long}:1:356: Syntax Error: Document contains more than 60 tokens. Parsing aborted.",
        ]

    def test_documents_unreadable_file_is_an_error_line(self, manage, documents):
        (documents / "latin1.graphql").write_bytes(b"# caf\xe9\n{ hello }\n")
        result = manage("gql_check", "--documents", f"{documents}/latin1.graphql")
        assert result.code == 1
        assert result.err_lines[0].startswith(f"{documents}/latin1.graphql: cannot read: 'utf-8' codec")

    def test_documents_glob_matching_nothing_is_a_usage_error(self, manage, tmp_path):
        result = manage("gql_check", "--documents", f"{tmp_path}/*.graphql")
        assert result.code == 2
        assert result.err_lines == [f"CommandError: --documents '{tmp_path}/*.graphql' matches no file."]

    def test_documents_skipped_when_the_rules_are_broken(self, manage, documents):
        result = manage("gql_check", "--documents", f"{documents}/hello.graphql",
                        settings_module="tests.command_settings.bad_rules")
        assert result.code == 1
        assert "skipped --documents: the validation settings have errors" in result.err_lines

    # -- --manifest / --check-manifest (persisted documents)

    def test_manifest_of_a_directory_of_documents(self, manage, documents, tmp_path):
        from django_gql_channels.engine import sha256_id

        out = tmp_path / "manifest.json"
        result = manage("gql_check", "--documents", str(documents), "--manifest", str(out))
        assert result.code == 0, result.err
        assert result.out.splitlines()[1:] == ["Documents: 3 files, 3 operations, 1 fragment; 0 errors.",
                                               f"Wrote the manifest of 2 persisted documents to {out}."]
        manifest = json.loads(out.read_text())
        assert all(key == sha256_id(text) for key, text in manifest.items())
        # A self-contained file is kept verbatim; one using another file's fragment gets it appended.
        items = (documents / "sub" / "items.graphql").read_text()
        assert items in manifest.values()
        [composed] = [text for text in manifest.values() if text != items]
        assert composed.startswith("query Hello {") and "fragment Me on Query" in composed
        assert manage("gql_check", "--check-manifest", str(out)).code == 0

    def test_no_manifest_when_a_document_fails(self, manage, documents, tmp_path):
        (documents / "bad.graphql").write_text("query Bad { nope }\n")
        out = tmp_path / "manifest.json"
        result = manage("gql_check", "--documents", str(documents), "--manifest", str(out))
        assert result.code == 1
        assert f"skipped --manifest {out}: the documents have errors" in result.err_lines
        assert not out.exists()

    def test_manifest_needs_documents(self, manage, tmp_path):
        result = manage("gql_check", "--manifest", str(tmp_path / "m.json"))
        assert result.code == 2 and "add --documents DIR" in result.err

    def test_check_manifest_reports_documents_that_no_longer_validate(self, manage, tmp_path):
        path = tmp_path / "manifest.json"
        path.write_text(json.dumps({"good": "{ hello }", "gone": "query Old { removedField }",
                                    "sha256:" + "c" * 64: "{ me }"}))
        result = manage("gql_check", "--check-manifest", str(path))
        assert result.code == 1
        assert result.err_lines[:-1] == [
            f"error {path}: document 'gone': Cannot query field 'removedField' on type 'Query'. (line 1, column 13)",
            f"warning {path}: document '{'sha256:' + 'c' * 64}': the id is not the sha256 of the document's text "
            "(sha256:" + __import__("hashlib").sha256(b"{ me }").hexdigest() + "): clients hashing the text "
            "will not find it.",
        ]
        assert result.out.splitlines()[-1] == f"Manifest {path}: 3 documents, 1 no longer valid."
        report = json.loads(manage("gql_check", "--format", "json", "--check-manifest", str(path)).out)
        assert report["check_manifest"]["problems"][0]["id"] == "gone"

    def test_regenerating_the_configured_manifest_ignores_the_old_one(self, manage, documents, tmp_path):
        out = tmp_path / "persisted-documents.json"
        settings = {"settings_module": "tests.command_settings.persisted", "env": {"TEST_MANIFEST": str(out)}}
        # Not there yet (the first CI run), then stale (a document no longer validates): both are replaced.
        first = manage("gql_check", "--documents", str(documents), "--manifest", str(out), **settings)
        assert first.code == 0, first.err
        out.write_text(json.dumps({"old": "{ removedField }"}))
        again = manage("gql_check", "--documents", str(documents), "--manifest", str(out), **settings)
        assert again.code == 0, again.err
        assert "old" not in json.loads(out.read_text())
        # Without --manifest the configured file is checked like any setting.
        out.write_text(json.dumps({"old": "{ removedField }"}))
        plain = manage("gql_check", **settings)
        assert plain.code == 1 and "gql_channels.E044" in plain.err and "'old'" in plain.err

    def test_check_manifest_unreadable_is_a_usage_error(self, manage, tmp_path):
        result = manage("gql_check", "--check-manifest", str(tmp_path / "missing.json"))
        assert result.code == 2 and "--check-manifest: cannot read" in result.err

    # -- --compare

    @pytest.fixture
    def saved_sdl(self, tmp_path):
        path = tmp_path / "saved.graphql"
        manage_in_process("gql_check", "--schema-out", str(path))
        return path

    def test_compare_unchanged(self, manage, saved_sdl):
        result = manage("gql_check", "--compare", str(saved_sdl))
        assert result.code == 0
        assert result.out.splitlines()[-1] == f"Compared with {saved_sdl}: 0 breaking, 0 dangerous changes."

    def test_compare_breaking_fails(self, manage, saved_sdl):
        sdl = saved_sdl.read_text()
        saved_sdl.write_text(sdl.replace("  fail: String\n", "  fail: String\n  gone: Int\n")
                                .replace("  n: Int\n", "  n: String\n"))
        result = manage("gql_check", "--compare", str(saved_sdl))
        assert result.code == 1
        # graphql-core words the descriptions ("Field X was removed." in 3.3, "X was removed." in 3.2).
        changed, removed, verdict = result.err_lines
        assert changed.startswith("breaking FIELD_CHANGED_KIND: ")
        assert changed.endswith("GroupMessage.n changed type from String to Int.")
        assert removed.startswith("breaking FIELD_REMOVED: ") and removed.endswith("Query.gone was removed.")
        assert verdict == "CommandError: gql_check found 2 problems."

    def test_compare_dangerous_passes_unless_fail_on_warning(self, manage, saved_sdl):
        sdl = saved_sdl.read_text()
        saved_sdl.write_text(sdl.replace("hello(name: String = \"world\")", "hello(name: String = \"you\")"))
        result = manage("gql_check", "--compare", str(saved_sdl))
        assert result.code == 0
        [line] = result.err_lines
        assert line.startswith("dangerous ARG_DEFAULT_VALUE_CHANGE: Query.hello")  # "(name:)" / " arg name"
        assert line.endswith('has changed defaultValue from "you" to "world".')
        assert result.out.splitlines()[-1] == f"Compared with {saved_sdl}: 0 breaking, 1 dangerous change."
        assert manage("gql_check", "--compare", str(saved_sdl), "--fail-on-warning").code == 1

    def test_compare_json(self, manage, saved_sdl):
        saved_sdl.write_text(saved_sdl.read_text().replace("  fail: String\n", "  fail: String\n  gone: Int\n"))
        result = manage("gql_check", "--compare", str(saved_sdl), "--format", "json")
        assert result.code == 1
        compare = json.loads(result.out)["compare"]
        assert (compare["file"], compare["dangerous"]) == (str(saved_sdl), [])
        [change] = compare["breaking"]
        assert change["type"] == "FIELD_REMOVED" and change["description"].endswith("Query.gone was removed.")

    def test_compare_missing_or_invalid_file_is_a_usage_error(self, manage, tmp_path):
        missing = manage("gql_check", "--compare", str(tmp_path / "nope.graphql"))
        assert (missing.code, missing.err_lines) == (2, [
            f"CommandError: Cannot read --compare file {tmp_path}/nope.graphql: No such file or directory."])
        (tmp_path / "bad.graphql").write_text(unfinished := "type Query {\n")
        bad = manage("gql_check", "--compare", str(tmp_path / "bad.graphql"))
        assert (bad.code, bad.err_lines) == (2, [
            f"CommandError: --compare file {tmp_path}/bad.graphql:{eof_location(unfinished)}: "
            "Syntax Error: Expected Name, found <EOF>."])

    # -- --check-layer

    def test_check_layer_in_memory(self, manage):
        result = manage("gql_check", "--check-layer")
        assert result.code == 0
        line = result.out.splitlines()[-1]
        assert line.startswith("Layer round trip through layer 'default' (channels.layers.InMemoryChannelLayer): ")
        assert " ms (first " in line
        assert line.endswith(" ms, joining a group); in-memory: this process only.")

    def test_check_layer_stopped_redis_is_one_clear_line(self, manage, stopped_redis_url):
        started = time.monotonic()
        result = manage("gql_check", "--check-layer", settings_module="tests.command_settings.redis",
                        env={"REDIS_URL": stopped_redis_url}, timeout=30)
        elapsed = time.monotonic() - started
        port = stopped_redis_url.split(":")[2].split("/")[0]
        assert result.code == 1
        assert result.err_lines == [
            "error layer 'default' (channels_redis.pubsub.RedisPubSubChannelLayer): creating a channel: "
            f"ConnectionError: Error 111 connecting to 127.0.0.1:{port}. Connect call failed ('127.0.0.1', {port})",
            "CommandError: gql_check found 1 problem.",
        ]
        print(f"gql_check --check-layer against a stopped Redis returned in {elapsed:.2f} s")

    def test_check_layer_silent_redis_times_out(self, manage, silent_server):
        result = manage("gql_check", "--check-layer", "--layer-timeout", "1", "--format", "json",
                        settings_module="tests.command_settings.redis", env={"REDIS_URL": silent_server}, timeout=30)
        assert result.code == 1
        assert json.loads(result.out)["layer_check"] == {
            "ok": False, "ms": None, "first_ms": None, "error": "creating a channel: no answer within 1 s"}

    def test_check_layer_unconfigured(self, manage):
        result = manage("gql_check", "--check-layer", settings_module="tests.command_settings.no_layers")
        assert result.code == 1
        assert ("error layer 'default' (not configured): CHANNEL_LAYERS has no 'default' entry (configured: none); "
                "set CHANNEL_LAYERS or GQL_CHANNELS['CHANNEL_LAYER'].") in result.err_lines

    def test_bad_layer_timeout(self, manage):
        result = manage("gql_check", "--check-layer", "--layer-timeout", "0")
        assert result.code == 2
        assert "argument --layer-timeout: must be a number > 0, not '0'" in result.err


# -- gql_send_group -----------------------------------------------------------------------------------------------


def write_recording(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


class TestGqlSendGroup:
    @AS_A_PROCESS_TOO
    def test_one_message(self, manage):
        result = manage("gql_send_group", "g1", GOOD, settings_module="tests.settings")
        assert result.code == 0
        assert result.out.startswith("Sent 1 message to 1 group in ")
        assert result.out.rstrip().endswith(
            "messages/s) through layer 'default' (channels.layers.InMemoryChannelLayer).")
        assert result.err_lines[0].startswith("warning: layer 'default' (channels.layers.InMemoryChannelLayer) "
                                              "keeps messages inside one process: gql_send_group only reaches "
                                              "consumers in this same process")

    def test_verbosity_0_is_silent(self, manage):
        result = manage("gql_send_group", "g1", GOOD, "-v", "0")
        assert (result.code, result.out, result.err) == (0, "", "")

    BAD_MESSAGES = [
        ("{nope", "not valid JSON: Expecting property name enclosed in double quotes (column 2)"),
        ('"hello"', 'the message must be a JSON object with a string "type", not a string'),
        ("[1, 2]", 'the message must be a JSON object with a string "type", not an array'),
        ("null", 'the message must be a JSON object with a string "type", not null'),
        ('{"text": "hi"}', 'the message must have a non-empty string "type" (it has no "type")'),
        ('{"type": 1}', 'the message must have a non-empty string "type" ("type" is a number)'),
        ('{"type": ["a"]}', 'the message must have a non-empty string "type" ("type" is an array)'),
        ('{"type": ""}', 'the message must have a non-empty string "type" ("type" is empty)'),
    ]

    def test_bad_message_exits_2_and_sends_nothing(self, manage):
        results = manage.many([(["gql_send_group", "g1", message], {}) for message, _ in self.BAD_MESSAGES])
        for (message, reason), result in zip(self.BAD_MESSAGES, results):
            assert (result.code, result.out) == (2, ""), message
            assert result.err_lines == [f"CommandError: Nothing sent: {reason}"]

    def test_bad_group_exits_2(self, manage):
        groups = ["has space", "ünïcode", "x" * 100, "a/b"]
        for group, result in zip(groups, manage.many([(["gql_send_group", g, GOOD], {}) for g in groups])):
            assert result.code == 2, group
            assert result.err_lines == [f"CommandError: Nothing sent: {group!r} is not a valid group name: Group "
                                        "name must be a valid unicode string with length < 100 containing only "
                                        "ASCII alphanumerics, hyphens, underscores, or periods"]

    USAGE_ERRORS = [
        ((), "CommandError: Give GROUP and MESSAGE_JSON (or --file PATH); see --help."),
        (("g1",), "CommandError: Give GROUP and MESSAGE_JSON (or --file PATH); see --help."),
        (("g1", GOOD, "--file", "x.jsonl"), "CommandError: Give either GROUP MESSAGE_JSON or --file PATH, not both."),
        (("g1", GOOD, "--speed", "2"), "CommandError: --speed only applies to --file."),
    ]

    @AS_A_PROCESS_TOO
    def test_usage_errors(self, manage):
        results = manage.many([(["gql_send_group", *args], {}) for args, _ in self.USAGE_ERRORS])
        for (args, error), result in zip(self.USAGE_ERRORS, results):
            assert (result.code, result.err_lines) == (2, [error]), args

    BAD_OPTION_VALUES = [
        ("--speed", "-1", "argument --speed: must be a number >= 0, not '-1'"),
        ("--speed", "fast", "argument --speed: not a number: 'fast'"),
        ("--speed", "inf", "argument --speed: not a finite number: 'inf'"),
        ("--repeat", "0", "argument --repeat: must be an integer >= 1, not '0'"),
        ("--repeat", "1.5", "argument --repeat: not an integer: '1.5'"),
        ("--layer-timeout", "-2", "argument --layer-timeout: must be a number > 0, not '-2'"),
    ]

    def test_bad_option_values(self, manage):
        results = manage.many([(["gql_send_group", "--file", "x.jsonl", f"{option}={value}"], {})
                               for option, value, _ in self.BAD_OPTION_VALUES])
        for (option, _value, error), result in zip(self.BAD_OPTION_VALUES, results):
            assert result.code == 2, option
            assert error in result.err

    def test_repeat_one_message(self, manage):
        result = manage("gql_send_group", "g1", GOOD, "--repeat", "3", "-v", "1")
        assert result.code == 0
        assert result.out.startswith("Sent 3 messages to 1 group in ")

    def test_replay_file(self, manage, tmp_path):
        path = write_recording(tmp_path / "r.jsonl", [
            {"group": "a", "message": {"type": "t", "i": 1}, "at": 0},
            {"group": "b", "message": {"type": "t", "i": 2}, "at": 0.2},
            {"group": "a", "message": {"type": "t", "i": 3}},
        ])
        result = manage("gql_send_group", "--file", str(path), "--repeat", "2")
        assert result.code == 0
        assert result.out.startswith("Sent 6 messages to 2 groups in ")
        seconds = float(result.out.split(" in ")[1].split(" s ")[0])
        assert seconds >= 0.4  # two passes of a 0.2 s recording; a lower bound only
        assert result.err_lines[1:] == ["Replaying 6 messages over 0.4 s through layer 'default' "
                                        "(channels.layers.InMemoryChannelLayer); stop with Ctrl-C."]

    def test_replay_speed(self, manage, tmp_path):
        path = write_recording(tmp_path / "r.jsonl", [{"group": "a", "message": {"type": "t"}, "at": 0},
                                                      {"group": "a", "message": {"type": "t"}, "at": 30}])
        fast = manage("gql_send_group", "--file", str(path), "--speed", "100")  # 30 s recorded -> 0.3 s
        assert fast.code == 0
        assert float(fast.out.split(" in ")[1].split(" s ")[0]) >= 0.3
        flat_out = manage("gql_send_group", "--file", str(path), "--speed", "0")  # would take 30 s otherwise
        assert flat_out.code == 0 and flat_out.out.startswith("Sent 2 messages to 1 group in ")

    def test_bad_lines_are_reported_and_skipped(self, manage, tmp_path):
        path = tmp_path / "r.jsonl"
        path.write_text('{"group": "a", "message": {"type": "t"}}\n\nnot json\n'
                        '{"group": "a", "message": {"text": "no type"}}\n{"group": "b", "message": {"type": "t"}}\n')
        result = manage("gql_send_group", "--file", str(path))
        assert result.code == 0
        assert result.out.startswith("Sent 2 messages to 2 groups in ")
        assert [line for line in result.err_lines if IN_MEMORY_WARNING not in line] == [
            f"{path}: line 3: not valid JSON: Expecting value (column 1) (skipped)",
            f'{path}: line 4: the message must have a non-empty string "type" (it has no "type") (skipped)',
            "Replaying 2 messages as fast as possible through layer 'default' "
            "(channels.layers.InMemoryChannelLayer); stop with Ctrl-C.",
        ]

    def test_strict_refuses_before_sending_anything(self, manage, tmp_path):
        path = tmp_path / "r.jsonl"
        path.write_text('{"group": "a", "message": {"type": "t"}}\nnot json\n'
                        '{"group": "b c", "message": {"type": "t"}}\n')
        result = manage("gql_send_group", "--file", str(path), "--strict")
        assert (result.code, result.out) == (2, "")
        assert result.err_lines == [
            f"{path}: line 2: not valid JSON: Expecting value (column 1)",
            f"{path}: line 3: 'b c' is not a valid group name: Group name must be a valid unicode string with "
            "length < 100 containing only ASCII alphanumerics, hyphens, underscores, or periods",
            f"CommandError: Nothing sent: 2 bad lines in {path} (--strict).",
        ]

    def test_stdin(self, manage):
        result = manage("gql_send_group", "--file", "-", "--speed", "0",
                        stdin='{"group": "a", "message": {"type": "t"}}\n{"group": "b", "message": {"type": "t"}}\n')
        assert result.code == 0
        assert result.out.startswith("Sent 2 messages to 2 groups in ")

    def test_unreadable_files(self, manage, tmp_path):
        missing = manage("gql_send_group", "--file", str(tmp_path / "nope.jsonl"))
        assert (missing.code, missing.err_lines) == (2, [
            f"CommandError: Cannot read {tmp_path}/nope.jsonl: No such file or directory."])
        (tmp_path / "bin.jsonl").write_bytes(b'{"group": "\xff"}\n')
        binary = manage("gql_send_group", "--file", str(tmp_path / "bin.jsonl"))
        assert binary.code == 2
        assert binary.err_lines == [f"CommandError: Cannot read {tmp_path}/bin.jsonl: not UTF-8 text "
                                    "(invalid start byte at byte 11)."]

    def test_empty_recording(self, manage, tmp_path):
        (tmp_path / "empty.jsonl").write_text("\n")
        result = manage("gql_send_group", "--file", str(tmp_path / "empty.jsonl"))
        assert (result.code, result.out) == (0, "")
        assert result.err_lines[-1] == "warning: nothing to send: the recording holds no messages."

    @AS_A_PROCESS_TOO
    def test_no_layer(self, manage):
        result = manage("gql_send_group", "g1", GOOD, settings_module="tests.command_settings.no_layers")
        assert result.code == 1
        assert result.err_lines == [
            "CommandError: layer 'default' (not configured): CHANNEL_LAYERS has no 'default' entry "
            "(configured: none); set CHANNEL_LAYERS or GQL_CHANNELS['CHANNEL_LAYER'].",
        ]

    def test_stopped_redis(self, manage, stopped_redis_url):
        result = manage("gql_send_group", "g1", GOOD, settings_module="tests.command_settings.redis",
                        env={"REDIS_URL": stopped_redis_url}, timeout=30)
        port = stopped_redis_url.split(":")[2].split("/")[0]
        assert (result.code, result.out) == (1, "")
        assert result.err_lines == [
            "CommandError: layer 'default' (channels_redis.pubsub.RedisPubSubChannelLayer): sending to group 'g1': "
            f"ConnectionError: Error 111 connecting to 127.0.0.1:{port}. Connect call failed ('127.0.0.1', {port}). "
            "0 of 1 message sent."]

    def test_silent_redis_times_out(self, manage, silent_server):
        result = manage("gql_send_group", "g1", GOOD, "--layer-timeout", "0.5",
                        settings_module="tests.command_settings.redis",
                        env={"REDIS_URL": silent_server}, timeout=30)
        assert result.code == 1
        assert result.err_lines[0] == ("CommandError: layer 'default' (channels_redis.pubsub.RedisPubSubChannelLayer): "
                                       "sending to group 'g1': no answer within 0.5 s. 0 of 1 message sent.")

    def test_a_signal_stops_a_replay_with_exit_130(self, tmp_path):
        path = write_recording(tmp_path / "r.jsonl", [{"group": "a", "message": {"type": "t"}, "at": 0},
                                                      {"group": "a", "message": {"type": "t"}, "at": 60}])
        process = subprocess.Popen([sys.executable, "manage.py", "gql_send_group", "--file", str(path)], cwd=ROOT,
                                   env=command_env(BASE_SETTINGS), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   bufsize=0)
        try:
            before = read_until(process.stderr, "Replaying 2 messages over 60.0 s")
            process.send_signal(signal.SIGINT)
            out, rest = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        err = before + rest.decode()
        assert process.returncode == 130, err
        assert "Traceback" not in err and out == b""
        assert err.strip().splitlines()[-1] == "CommandError: Stopped by signal: 1 of 2 messages sent."

    def test_progress_bar_on_a_terminal_only(self, tmp_path):
        path = write_recording(tmp_path / "r.jsonl", [{"group": "a", "message": {"type": "t"}, "at": i / 10}
                                                      for i in range(5)])
        args = [sys.executable, "manage.py", "gql_send_group", "--file", str(path)]
        main, child = pty.openpty()
        try:
            process = subprocess.Popen(args, cwd=ROOT, env=command_env(BASE_SETTINGS), stdout=subprocess.PIPE,
                                       stderr=child, text=True)
            os.close(child)
            terminal = b""
            while True:
                ready, _, _ = select.select([main], [], [], 30)
                if not ready:
                    break
                try:
                    chunk = os.read(main, 4096)
                except OSError:  # EIO: the process closed its end
                    break
                if not chunk:
                    break
                terminal += chunk
            out = process.communicate(timeout=30)[0]
        finally:
            os.close(main)
        assert process.returncode == 0
        assert out.startswith("Sent 5 messages to 1 group in ")
        text = terminal.decode()
        assert "\r[" in text and "] 5/5 100% " in text and "msg/s" in text
        piped = manage_subprocess("gql_send_group", "--file", str(path))
        assert "\r" not in piped.err and "msg/s" not in piped.err


async def test_send_group_reaches_a_subscriber_in_this_process():
    """With the in-memory layer, call_command from the server's own process is what reaches its consumers."""
    from django_gql_channels import GraphQLWSConsumer
    from django_gql_channels.testing import GraphQLWebsocketCommunicator
    from example_project.schema import schema

    application = GraphQLWSConsumer.as_asgi(schema=schema)
    async with GraphQLWebsocketCommunicator(application, "/graphql") as client:
        subscription = client.subscribe('subscription { onGroupMessage(group: "g1") { text n } }')
        await subscription.start()
        assert await subscription.__anext__() == {"data": {"onGroupMessage": None}}  # its confirming null
        await sync_to_async(call_command)("gql_send_group", "g1", GOOD, stdout=io.StringIO(), stderr=io.StringIO())
        assert await asyncio.wait_for(subscription.__anext__(), 5) == {
            "data": {"onGroupMessage": {"text": "hi", "n": 1}}}
        await subscription.complete()


async def test_strict_sends_nothing_and_replay_keeps_order_and_bytes(tmp_path):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add("replayed", channel)
    lines = [dump_record("replayed", {"type": "t", "i": i, "raw": bytes([i])}, i / 100) for i in range(5)]
    path = tmp_path / "r.jsonl"
    path.write_text("\n".join(lines + ["oops"]) + "\n")
    with pytest.raises(CommandError):
        await sync_to_async(call_command)("gql_send_group", "--file", str(path), "--strict",
                                          stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(layer.receive(channel), 0.2)
    await sync_to_async(call_command)("gql_send_group", "--file", str(path), stdout=io.StringIO(),
                                      stderr=io.StringIO())
    received = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(5)]
    assert [(m["i"], m["raw"]) for m in received] == [(i, bytes([i])) for i in range(5)]
    await layer.group_discard("replayed", channel)


# -- gql_listen_group -------------------------------------------------------------------------------------------


class TestGqlListenGroup:
    USAGE_ERRORS = [
        (("bad group",), "CommandError: Not listening: 'bad group' is not a valid group name"),
        (("g1", "--count", "0"), "argument --count: must be an integer >= 1, not '0'"),
        (("g1", "--timeout", "-1"), "argument --timeout: must be a number > 0, not '-1'"),
        (("g1", "--timeout", "soon"), "argument --timeout: not a number: 'soon'"),
        (("g1", "--layer-timeout", "0"), "argument --layer-timeout: must be a number > 0, not '0'"),
        ((), "the following arguments are required: GROUP"),
    ]

    @AS_A_PROCESS_TOO
    def test_usage_errors(self, manage):
        results = manage.many([(["gql_listen_group", *args], {}) for args, _ in self.USAGE_ERRORS])
        for (args, error), result in zip(self.USAGE_ERRORS, results):
            assert result.code == 2, args
            assert error in result.err

    def test_unwritable_output(self, manage, tmp_path):
        result = manage("gql_listen_group", "g1", "--output", str(tmp_path / "no" / "r.jsonl"))
        assert result.code == 2
        assert result.err_lines[-1] == f"CommandError: Cannot write {tmp_path}/no/r.jsonl: No such file or directory."

    @AS_A_PROCESS_TOO
    def test_timeout_ends_it(self, manage, tmp_path):
        output = tmp_path / "r.jsonl"
        result = manage("gql_listen_group", "g1", "g2", "g1", "--timeout", "0.3", "-o", str(output))
        assert result.code == 0
        assert result.out == "" and output.read_text() == ""
        assert result.err_lines[0].startswith("warning: layer 'default' (channels.layers.InMemoryChannelLayer) "
                                              "keeps messages inside one process: gql_listen_group")
        assert result.err_lines[1] == ("Listening to g1, g2 through layer 'default' "
                                       "(channels.layers.InMemoryChannelLayer), "
                                       f"writing to {output}; stop with Ctrl-C.")
        assert result.err_lines[2].startswith("Recorded 0 messages from groups 'g1', 'g2' in ")
        assert result.err_lines[2].endswith(" s (--timeout 0.3 s reached).")

    @AS_A_PROCESS_TOO
    def test_timeout_before_count_fails(self, manage):
        result = manage("gql_listen_group", "g1", "--count", "2", "--timeout", "0.3")
        assert result.code == 1
        assert result.err_lines[-1].startswith("CommandError: Timed out after 0.3 s with 0 of 2 messages. "
                                               "Recorded 0 messages from group 'g1' in ")

    def test_no_layer(self, manage):
        result = manage("gql_listen_group", "g1", settings_module="tests.command_settings.no_layers")
        assert result.code == 1
        assert result.err_lines == [
            "CommandError: layer 'default' (not configured): CHANNEL_LAYERS has no 'default' entry "
            "(configured: none); set CHANNEL_LAYERS or GQL_CHANNELS['CHANNEL_LAYER'].",
        ]

    def test_stopped_redis(self, manage, stopped_redis_url):
        result = manage("gql_listen_group", "g1", settings_module="tests.command_settings.redis",
                        env={"REDIS_URL": stopped_redis_url}, timeout=30)
        port = stopped_redis_url.split(":")[2].split("/")[0]
        assert (result.code, result.out) == (1, "")
        assert result.err_lines[-1].startswith(
            "CommandError: layer 'default' (channels_redis.pubsub.RedisPubSubChannelLayer): creating a channel: "
            f"ConnectionError: Error 111 connecting to 127.0.0.1:{port}. ")

    def test_silent_redis_times_out(self, manage, silent_server):
        result = manage("gql_listen_group", "g1", "--layer-timeout", "0.5",
                        settings_module="tests.command_settings.redis",
                        env={"REDIS_URL": silent_server}, timeout=30)
        assert result.code == 1
        assert result.err_lines[-1].startswith("CommandError: layer 'default' (channels_redis.pubsub."
                                               "RedisPubSubChannelLayer): creating a channel: no answer within 0.5 s. "
                                               "Recorded 0 messages from group 'g1' in ")

    @pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
    def test_a_signal_ends_it_cleanly(self, tmp_path, signum):
        output = tmp_path / "r.jsonl"
        process = subprocess.Popen([sys.executable, "manage.py", "gql_listen_group", "g1", "-o", str(output)],
                                   cwd=ROOT, env=command_env(BASE_SETTINGS), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, bufsize=0)
        try:
            before = read_until(process.stderr, "Listening to g1")
            process.send_signal(signum)
            out, rest = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        err = before + rest.decode()
        assert process.returncode == 0, err
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1].startswith("Recorded 0 messages from group 'g1' in ")
        assert err.strip().endswith("(stopped by signal).")
        assert output.exists()


def read_until(stream, text: str, timeout: float = 30) -> str:
    """Everything read from the unbuffered binary ``stream`` up to and including the line holding ``text``.

    Reads the pipe's file descriptor directly: a buffered reader could hold the line while select() waits.
    """
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(stream.fileno(), 65536)
        if not chunk:
            raise AssertionError(f"the stream ended before {text!r}: {seen.decode()}")
        seen += chunk
        if text.encode() in seen and seen.endswith(b"\n"):
            return seen.decode()
    raise AssertionError(f"no {text!r} within {timeout} s: {seen.decode()}")


async def test_listen_records_what_groups_receive_in_this_process(tmp_path):
    output = tmp_path / "r.jsonl"
    err = io.StringIO()
    task = asyncio.ensure_future(sync_to_async(call_command)(
        "gql_listen_group", "g1", "g2", "--count", "3", "--timeout", "20", "-o", str(output),
        stdout=io.StringIO(), stderr=err))
    for _ in range(200):
        if "Listening to g1, g2" in err.getvalue():
            break
        await asyncio.sleep(0.025)
    layer = get_channel_layer()
    await layer.group_send("g1", {"type": "group.message", "text": "a", "raw": b"\x01"})
    await asyncio.sleep(0.2)
    await layer.group_send("g2", {"type": "group.message", "text": "b"})
    await layer.group_send("elsewhere", {"type": "group.message", "text": "not recorded"})
    await layer.group_send("g1", {"type": "group.message", "text": "c"})
    await asyncio.wait_for(task, 20)
    records = [parse_record(line) for line in output.read_text().splitlines()]
    assert [(r.group, r.message["text"]) for r in records] == [("g1", "a"), ("g2", "b"), ("g1", "c")]
    assert records[0].message["raw"] == b"\x01"
    assert records[0].at == 0.0 and records[1].at >= 0.2 and records[2].at >= records[1].at
    assert err.getvalue().strip().endswith("(--count 3 reached).")
    # The command left its groups: nothing of it stays in the layer.
    assert not any(name in layer.groups for name in ("g1", "g2"))
