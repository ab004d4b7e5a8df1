"""The ORM benchmark's schema in strawberry-django: the same books and authors, the optimizer on.

``DjangoOptimizerExtension`` turns the selection into ``select_related`` /
``only`` on the queryset, so ``books`` with its authors is one SQL query.
"""

from __future__ import annotations

import strawberry
import strawberry_django
from strawberry_django.optimizer import DjangoOptimizerExtension

from tests.library.models import Author, Book


@strawberry_django.type(Author)
class AuthorType:
    id: strawberry.auto
    name: strawberry.auto


@strawberry_django.type(Book)
class BookType:
    id: strawberry.auto
    title: strawberry.auto
    year: strawberry.auto
    author: AuthorType


@strawberry.type
class Query:
    books: list[BookType] = strawberry_django.field()


schema = strawberry.Schema(query=Query, extensions=[DjangoOptimizerExtension()])
