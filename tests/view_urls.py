"""URLs for tests/test_views.py: django_gql_channels.views.GraphQLView, and graphene-django's beside it when installed.

``view_schema`` is plain graphql-core; its resolvers read ``info.context`` as
graphene-django resolvers do (the ``HttpRequest``: ``.user``, ``.session``).
"""

from asgiref.sync import sync_to_async
from django.urls import path
from graphql import (
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    ValidationRule,
)

from django_gql_channels.views import GraphQLView
from tests.library.models import Book


def resolve_me(_root, info):
    user = info.context.user
    return user.get_username() if user.is_authenticated else None


def resolve_fail(_root, _info):
    raise ValueError("secret detail of a failure")


def set_color(_root, info, color):
    info.context.session["color"] = color
    return color


async def ticks(_root, _info):
    yield {"tick": "one"}


def shout(next_, root, info, **args):
    """graphql-core middleware: strings in capitals."""
    result = next_(root, info, **args)
    return result.upper() if isinstance(result, str) else result


def resolve_books(_root, _info):
    # A graphene-django-style synchronous ORM resolver (needs SYNC_EXECUTION).
    return list(Book.objects.select_related("author"))


Node = GraphQLObjectType("Node", lambda: {
    "name": GraphQLField(GraphQLString),
    "child": GraphQLField(Node),
})
BookType = GraphQLObjectType("Book", {
    "title": GraphQLField(GraphQLString),
    "author": GraphQLField(GraphQLString, resolve=lambda book, _info: book.author.name),
})

view_schema = GraphQLSchema(
    query=GraphQLObjectType("Query", {
        "hello": GraphQLField(GraphQLString, args={"name": GraphQLArgument(GraphQLString)},
                              resolve=lambda _root, _info, name="world": f"Hello {name}!"),
        "contextType": GraphQLField(GraphQLString, resolve=lambda _root, info: type(info.context).__name__),
        "me": GraphQLField(GraphQLString, resolve=resolve_me),
        "color": GraphQLField(GraphQLString, resolve=lambda _root, info: info.context.session.get("color")),
        "rootValue": GraphQLField(GraphQLString, resolve=lambda root, _info: repr(root)),
        "fail": GraphQLField(GraphQLString, resolve=resolve_fail),
        "node": GraphQLField(Node, resolve=lambda *_: {"name": "n", "child": {"name": "c", "child": {"name": "d"}}}),
        "books": GraphQLField(GraphQLList(BookType), resolve=resolve_books),
        "asyncBooks": GraphQLField(GraphQLList(BookType), resolve=sync_to_async(resolve_books)),
    }),
    mutation=GraphQLObjectType("Mutation", {
        "setColor": GraphQLField(GraphQLString, args={"color": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                                 resolve=set_color),
    }),
    subscription=GraphQLObjectType("Subscription", {
        "tick": GraphQLField(GraphQLString, subscribe=ticks),
    }),
)

urlpatterns = [
    path("graphql/", GraphQLView.as_view(schema=view_schema, graphiql=True)),
    path("plain/", GraphQLView.as_view(schema=view_schema)),
    path("pretty/", GraphQLView.as_view(schema=view_schema, pretty=True, root_value="the root")),
    path("settings-schema/", GraphQLView.as_view()),
    path("ws-path/", GraphQLView.as_view(schema=view_schema, graphiql=True, subscription_path="/ws/graphql/")),
]


class NoFailRule(ValidationRule):
    """A view's own validation rule: ``fail`` may not be asked for."""

    def enter_field(self, node, *_args):
        if node.name.value == "fail":
            self.report_error(GraphQLError("'fail' is not allowed here.", node))


urlpatterns += [
    path("shout/", GraphQLView.as_view(schema=view_schema, middleware=[shout])),
    path("rules/", GraphQLView.as_view(schema=view_schema, validation_rules=[NoFailRule])),
]

try:  # tox -e graphene: graphene-django's own view, on the same Graphene schema, for comparison
    import graphene
    from graphene_django.views import GraphQLView as GrapheneView
except ImportError:
    graphene = None
else:
    class GrapheneQuery(graphene.ObjectType):
        hello = graphene.String(name=graphene.String(default_value="world"))
        me = graphene.String()
        fail = graphene.String()

        def resolve_hello(root, info, name):
            return f"Hello {name}!"

        def resolve_me(root, info):
            return resolve_me(root, info)

        def resolve_fail(root, info):
            raise ValueError("secret detail of a failure")

    class SetColor(graphene.Mutation):
        class Arguments:
            color = graphene.String(required=True)

        color = graphene.String()

        def mutate(root, info, color):
            info.context.session["color"] = color
            return SetColor(color=color)

    class GrapheneMutation(graphene.ObjectType):
        set_color = SetColor.Field()

    graphene_schema = graphene.Schema(query=GrapheneQuery, mutation=GrapheneMutation)
    urlpatterns += [
        path("ours/", GraphQLView.as_view(schema=graphene_schema)),
        path("theirs/", GrapheneView.as_view(schema=graphene_schema)),
    ]
