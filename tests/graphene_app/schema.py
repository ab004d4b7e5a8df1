"""graphene-django's own idioms on the library models: DjangoObjectType per model, a relay connection
filtered by django-filter, a mutation creating rows, an ORM-backed subscription; every resolver synchronous."""

from __future__ import annotations

from typing import Any

import graphene
from graphene import relay
from graphene_django import DjangoObjectType
from graphene_django.filter import DjangoFilterConnectionField

from tests.library.models import Author, Book, Tag


class AuthorType(DjangoObjectType):
    class Meta:
        model = Author
        fields = ("id", "name", "books")


class TagType(DjangoObjectType):
    class Meta:
        model = Tag
        fields = ("id", "name")


class BookNode(DjangoObjectType):
    class Meta:
        model = Book
        interfaces = (relay.Node,)
        fields = ("title", "year", "author", "tags")
        filter_fields = {"title": ["exact", "icontains"], "year": ["exact", "gte"], "author__name": ["exact"]}


class Query(graphene.ObjectType):
    books = graphene.List(graphene.NonNull(BookNode))
    all_books = DjangoFilterConnectionField(BookNode)
    authors = graphene.List(graphene.NonNull(AuthorType))
    book = relay.Node.Field(BookNode)
    viewer = graphene.String(description="The logged-in user's name, read back from the ORM")

    def resolve_viewer(root: Any, info: Any) -> str:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import AnonymousUser

        user = info.context.user
        if not user.is_authenticated:
            return "anonymous" if isinstance(user, AnonymousUser) else f"not authenticated: {user!r}"
        return str(get_user_model().objects.get(pk=user.pk).get_username())

    def resolve_books(root: Any, info: Any) -> Any:
        return Book.objects.all()

    def resolve_authors(root: Any, info: Any) -> Any:
        return Author.objects.all()


class AddBook(graphene.Mutation):
    class Arguments:
        title = graphene.String(required=True)
        author = graphene.String(required=True)
        tags = graphene.List(graphene.NonNull(graphene.String), default_value=[])

    book = graphene.Field(BookNode)

    def mutate(root: Any, info: Any, title: str, author: str, tags: list[str]) -> AddBook:
        writer, _ = Author.objects.get_or_create(name=author)
        book = Book.objects.create(title=title, author=writer)
        book.tags.set([Tag.objects.get_or_create(name=name)[0] for name in tags])
        return AddBook(book=book)


class Mutation(graphene.ObjectType):
    add_book = AddBook.Field()


class Subscription(graphene.ObjectType):
    book_by_id = graphene.Field(BookNode, ids=graphene.List(graphene.NonNull(graphene.ID), required=True))

    async def subscribe_book_by_id(root: Any, info: Any, ids: list[str]) -> Any:
        for pk in ids:
            yield pk

    def resolve_book_by_id(root: Any, info: Any, ids: list[str]) -> Book:
        return Book.objects.get(pk=root)  # each event reads the ORM


schema = graphene.Schema(query=Query, mutation=Mutation, subscription=Subscription)

#: Fields the GRAPHENE["MIDDLEWARE"] middleware saw.
SEEN: list[str] = []


class ExclaimTitles:
    """Middleware as graphene-django projects write it: a class with resolve(next, root, info, **args)."""

    def resolve(self, next: Any, root: Any, info: Any, **args: Any) -> Any:
        SEEN.append(info.field_name)
        result = next(root, info, **args)
        return f"{result}!" if info.field_name == "title" and isinstance(result, str) else result
