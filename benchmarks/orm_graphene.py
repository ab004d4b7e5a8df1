"""The ORM benchmark's schema in graphene-django: books with their authors, as graphene-django apps write it.

The resolver selects the authors with the books (``select_related``), as a
graphene-django project that cares about N+1 queries does by hand; every
field resolves synchronously through graphene-django's model fields.
"""

from __future__ import annotations

from typing import Any

import graphene
from graphene_django import DjangoObjectType

from tests.library.models import Author, Book


class AuthorType(DjangoObjectType):
    class Meta:
        model = Author
        fields = ("id", "name")


class BookType(DjangoObjectType):
    class Meta:
        model = Book
        fields = ("id", "title", "year", "author")


class Query(graphene.ObjectType):
    books = graphene.List(graphene.NonNull(BookType), first=graphene.Int(default_value=100))

    def resolve_books(root: Any, info: Any, first: int) -> Any:
        return Book.objects.select_related("author")[:first]


schema = graphene.Schema(query=Query)
