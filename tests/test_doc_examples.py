"""The README's and the docs' code examples run.

Every ``python`` block is executed (top-level ``await`` allowed) after the
blocks before it on the same page, as a reader would run them, and any
``test_*`` coroutine it defines is run, against the test settings; a block
defining ``schema`` must define a valid one. Every ``graphql`` block is
validated against the schema of the last ``python`` block before it in the
same file that defines one, else the example project's schema. Every ``json``
block parses. See ``tests/doc_blocks.py`` for how blocks are found and
skipped.
"""

from __future__ import annotations

import ast
import inspect
import json
import re

import pytest
from graphql import GraphQLSchema, parse, validate, validate_schema

from django_gql_channels import GraphQLProtocolTypeRouter
from django_gql_channels.testing import GraphQLWebsocketCommunicator

from .doc_blocks import ROOT, Block, blocks

PYTHON = [b for b in blocks("python") if not b.skipped]
GRAPHQL = [b for b in blocks("graphql") if not b.skipped]
JSON = [b for b in blocks("json") if not b.skipped]

#: Names the examples use without defining them, as a reader's project would.
PLACEHOLDERS = {"REDIS_URL": "redis://127.0.0.1:6379/0", "my_other_websockets": None}


async def run_block(block: Block) -> dict:
    """The namespace after running the page's python blocks up to this one."""
    namespace = {"__name__": "doc_example", **PLACEHOLDERS}
    for earlier in PYTHON:
        if earlier.path != block.path or earlier.line > block.line:
            continue
        code = compile(earlier.code, earlier.id, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)  # our own docs
        if inspect.iscoroutine(result):
            await result
    return namespace


def test_blocks_are_found():
    # Guards the finder itself: the README alone has python, graphql and console blocks.
    readme = [b for b in blocks() if b.path.name == "README.rst"]
    assert {"python", "graphql", "console"} <= {b.lang for b in readme}
    assert len(PYTHON) >= 10 and GRAPHQL and JSON


@pytest.mark.parametrize("block", PYTHON, ids=[b.id for b in PYTHON])
async def test_python_example(block):
    namespace = await run_block(block)
    tests = [f for name, f in namespace.items() if name.startswith("test_") and inspect.iscoroutinefunction(f)
             and f.__code__.co_filename == block.id]
    for test in tests:
        await test()
    schema = namespace.get("schema")
    if "\nschema = " in "\n" + block.code:
        assert isinstance(schema, GraphQLSchema) and validate_schema(schema) == []


async def schema_for(block: Block) -> GraphQLSchema:
    earlier = [b for b in PYTHON if b.path == block.path and b.line < block.line and "\nschema = " in "\n" + b.code]
    if earlier:
        return (await run_block(earlier[-1]))["schema"]
    from example_project.schema import schema
    return schema


@pytest.mark.parametrize("block", GRAPHQL, ids=[b.id for b in GRAPHQL])
async def test_graphql_example(block):
    schema = await schema_for(block)
    assert validate(schema, parse(block.code)) == []


@pytest.mark.parametrize("block", JSON, ids=[b.id for b in JSON])
def test_json_example(block):
    json.loads(block.code)


async def test_readme_tutorial_end_to_end():
    """The five-minute tutorial's schema does what the README says it does."""
    (schema_block,) = [b for b in PYTHON if b.path.name == "README.rst" and "schema = " in b.code]
    app = GraphQLProtocolTypeRouter((await run_block(schema_block))["schema"])
    async with GraphQLWebsocketCommunicator(app, "/graphql") as subscriber, \
            GraphQLWebsocketCommunicator(app, "/graphql") as publisher:
        await subscriber.gql_init()
        await publisher.gql_init()
        assert (await publisher.execute('{ hello(name: "Django") }'))["data"] == {"hello": "Hello, Django!"}
        sub = await subscriber.subscribe("subscription { onMessage }").start()
        result = await publisher.execute('mutation { sendMessage(text: "hello") }')
        assert result["data"] == {"sendMessage": "hello"}
        assert (await sub.__anext__()).data == {"onMessage": None}  # the confirming null comes first
        assert (await sub.__anext__()).data == {"onMessage": "hello"}
        await sub.complete()


def test_readme_links_resolve():
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    targets = re.findall(r"<(docs/[^>]+)>`_", readme)
    assert targets
    assert [t for t in targets if not (ROOT / t).is_file()] == []
