"""A graphql-core schema over the to-dos, with synchronous ORM resolvers (run with ``SYNC_EXECUTION``)."""

from channels.db import database_sync_to_async
from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
)

from tests.todos.models import Note, Project, Todo

TodoType = GraphQLObjectType("Todo", {
    "id": GraphQLField(GraphQLNonNull(GraphQLID), resolve=lambda todo, _info: todo.pk),
    "title": GraphQLField(GraphQLString),
    "done": GraphQLField(GraphQLBoolean),
})

NoteType = GraphQLObjectType("Note", {
    "id": GraphQLField(GraphQLNonNull(GraphQLID), resolve=lambda note, _info: note.pk),
    "text": GraphQLField(GraphQLString),
})


def _todos(_root, _info, done=None):
    todos = Todo.objects.all()
    if done is not None:
        todos = todos.filter(done=done)
    return list(todos)


@database_sync_to_async
def _async_todos(_root, _info):
    return list(Todo.objects.all())


def _cached(_root, _info, key):
    from django.core.cache import cache

    from django_gql_channels.live import record_read

    record_read("todos.Note")  # the cache holds note data: invalidate("todos.Note") when it changes
    return cache.get(key)


Query = GraphQLObjectType("Query", {
    # With SYNC_EXECUTION off: the ORM in database_sync_to_async's thread.
    "asyncTodos": GraphQLField(GraphQLList(TodoType), resolve=_async_todos),
    "cached": GraphQLField(GraphQLString, args={"key": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                           resolve=_cached),
    "todos": GraphQLField(GraphQLList(TodoType), args={"done": GraphQLArgument(GraphQLBoolean)}, resolve=_todos),
    "todo": GraphQLField(TodoType, args={"id": GraphQLArgument(GraphQLNonNull(GraphQLID))},
                         resolve=lambda _root, _info, id: Todo.objects.filter(pk=id).first()),
    "notes": GraphQLField(GraphQLList(NoteType), resolve=lambda _root, _info: list(Note.objects.all())),
    "count": GraphQLField(GraphQLInt, resolve=lambda _root, _info: Todo.objects.count()),
    "projects": GraphQLField(GraphQLList(GraphQLString),
                             resolve=lambda _root, _info: [p.name for p in Project.objects.order_by("pk")]),
})

Mutation = GraphQLObjectType("Mutation", {
    "addTodo": GraphQLField(TodoType, args={"title": GraphQLArgument(GraphQLNonNull(GraphQLString))},
                            resolve=lambda _root, _info, title: Todo.objects.create(title=title)),
})

schema = GraphQLSchema(Query, Mutation)
