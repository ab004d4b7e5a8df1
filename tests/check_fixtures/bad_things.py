"""Objects the system-check tests point settings at."""

from graphql import GraphQLField, GraphQLObjectType, GraphQLSchema, GraphQLString, ValidationRule

not_a_schema = {"query": "nope"}

# A schema whose root type has no fields fails validate_schema.
invalid_schema = GraphQLSchema(query=GraphQLObjectType("Query", lambda: {}))

valid_schema = GraphQLSchema(query=GraphQLObjectType("Query", {"ok": GraphQLField(GraphQLString)}))


class NotAConsumer:
    pass


def not_a_rule():
    pass


class NoFieldNamedSecret(ValidationRule):
    def enter_field(self, node, *_args):
        if node.name.value == "secret":
            from graphql import GraphQLError

            self.report_error(GraphQLError("The field 'secret' is not allowed.", node))
