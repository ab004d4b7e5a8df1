"""Issue 18's attacks against the limits' defaults: DEBUG off, introspection off, APQ on, a recursive type."""

from graphql import GraphQLField, GraphQLID, GraphQLInt, GraphQLList, GraphQLObjectType, GraphQLSchema, GraphQLString

from tests.settings import *  # noqa: F401,F403
from tests.settings import GQL_CHANNELS

Node: GraphQLObjectType = GraphQLObjectType("Node", lambda: {
    "id": GraphQLField(GraphQLID, resolve=lambda node, _info: node),
    "child": GraphQLField(Node, resolve=lambda node, _info: node + 1),
    "children": GraphQLField(GraphQLList(Node), resolve=lambda node, _info: range(node, node + 10)),
})
schema = GraphQLSchema(GraphQLObjectType("Query", {
    "hello": GraphQLField(GraphQLString, resolve=lambda *_: "Hello, world!"),
    "node": GraphQLField(Node, resolve=lambda *_: 0),
    "items": GraphQLField(GraphQLList(Node), args={"n": GraphQLInt},  # type: ignore[dict-item]
                          resolve=lambda *_, n=10: range(n)),
}))

DEBUG = False
GQL_CHANNELS = {**{k: v for k, v in GQL_CHANNELS.items() if k != "MASK_ERRORS"},
                "SCHEMA": "tests.e2e.limits_settings.schema",
                "INTROSPECTION": False,
                "AUTOMATIC_PERSISTED_QUERIES": True}
