"""Schemas and non-schemas the settings modules here point at."""

from graphql import GraphQLField, GraphQLObjectType, GraphQLSchema, GraphQLString, GraphQLUnionType

# validate_schema: a type without fields, and a union without members.
Empty = GraphQLObjectType("Empty", {})
Nothing = GraphQLUnionType("Nothing", [])
invalid = GraphQLSchema(
    query=GraphQLObjectType("Query", {"empty": GraphQLField(Empty), "nothing": GraphQLField(Nothing),
                                      "ok": GraphQLField(GraphQLString)}),
)

not_a_schema = {"query": "Query"}
