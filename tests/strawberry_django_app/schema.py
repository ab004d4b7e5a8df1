"""A strawberry-django API on tests/library, built with and without the query optimizer."""

from __future__ import annotations

from typing import Any

import strawberry
import strawberry_django
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.permission import BasePermission
from strawberry_django.optimizer import DjangoOptimizerExtension

from tests.library import models

HOOKS: list[str] = []


class HasRequest(BasePermission):
    """Reads ``info.context`` as the seed documents: allowed when the request carries ``x-role: staff``."""

    message = "Staff only."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        request = info.context["request"]
        return request.headers.get("x-role") == "staff"


class RecordHooks(SchemaExtension):
    def on_operation(self):  # type: ignore[no-untyped-def]
        HOOKS.append("operation")
        yield
        HOOKS.append("operation done")

    def on_execute(self):  # type: ignore[no-untyped-def]
        HOOKS.append("execute")
        yield


@strawberry_django.type(models.Tag)
class Tag:
    name: strawberry.auto


@strawberry_django.type(models.Author)
class Author:
    name: strawberry.auto
    books: list[Book]


@strawberry_django.type(models.Book)
class Book:
    title: strawberry.auto
    year: strawberry.auto
    author: Author
    tags: list[Tag]


@strawberry.type
class Query:
    books: list[Book] = strawberry_django.field()
    staff_books: list[Book] = strawberry_django.field(permission_classes=[HasRequest])

    @strawberry.field
    def broken(self) -> str:
        raise ValueError("internal detail")


def build(*extensions: Any) -> strawberry.Schema:
    return strawberry.Schema(query=Query, extensions=list(extensions))


plain = build()
optimized = build(DjangoOptimizerExtension)
guarded = build(MaskErrors, lambda: QueryDepthLimiter(max_depth=3), lambda: MaxAliasesLimiter(max_alias_count=2),
                RecordHooks)
