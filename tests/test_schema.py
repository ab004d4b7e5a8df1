"""Schema objects of every supported library are recognised and unwrapped.

Strawberry, Graphene and Ariadne are optional; tox has an env per library
(``tox -e strawberry,graphene,ariadne``) and the main test env installs the
ones compatible with its graphql-core.
"""

import asyncio

import pytest
from graphql import GraphQLSchema, build_schema

from django_gql_channels.engine import Engine
from django_gql_channels.schema import NotASchemaError, get_graphql_schema, schema_library, source_schema


def run(engine, query):
    return asyncio.run(engine.execute(engine.prepare(query))).data


def test_graphql_core_schema_is_used_as_is():
    schema = build_schema("type Query { a: Int }")
    assert get_graphql_schema(schema) is schema
    assert schema_library(schema) == "graphql-core" and source_schema(schema) is schema


def test_other_objects_are_refused_with_their_type():
    with pytest.raises(NotASchemaError, match="builtins.dict"):
        get_graphql_schema({"query": 1})


def test_strawberry():
    strawberry = pytest.importorskip("strawberry")

    @strawberry.type
    class Query:
        @strawberry.field
        def hello(self, name: str = "world") -> str:
            return f"Hello, {name}!"

    schema = strawberry.Schema(query=Query)
    assert isinstance(get_graphql_schema(schema), GraphQLSchema)
    assert schema_library(get_graphql_schema(schema)) == "strawberry"
    assert source_schema(get_graphql_schema(schema)) is schema
    assert run(Engine(schema), '{ hello(name: "straw") }') == {"hello": "Hello, straw!"}


# Graphene 3 pins graphql-core < 3.3, so it cannot share the main test env:
# `tox -e graphene` (run by `make test`) is where this test runs.
@pytest.mark.graphene_env
# Graphene schemas execute in Django's sync thread (SYNC_EXECUTION), whose connection hygiene
# touches the database connections that thread may hold from earlier tests.
@pytest.mark.django_db(transaction=True)
def test_graphene():
    import graphene

    class Query(graphene.ObjectType):
        hello = graphene.String(name=graphene.String(default_value="world"))

        def resolve_hello(root, info, name):
            return f"Hello, {name}!"

    schema = graphene.Schema(query=Query)
    assert isinstance(get_graphql_schema(schema), GraphQLSchema)
    assert schema_library(get_graphql_schema(schema)) == "graphene"
    assert run(Engine(schema), '{ hello(name: "gene") }') == {"hello": "Hello, gene!"}


def test_ariadne():
    ariadne = pytest.importorskip("ariadne")
    query = ariadne.QueryType()
    query.set_field("hello", lambda *_, name="world": f"Hello, {name}!")
    schema = ariadne.make_executable_schema('type Query { hello(name: String = "world"): String }', query)
    assert get_graphql_schema(schema) is schema
    assert schema_library(schema) == "graphql-core"
    assert run(Engine(schema), '{ hello(name: "ari") }') == {"hello": "Hello, ari!"}
