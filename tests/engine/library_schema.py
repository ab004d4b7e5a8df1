"""A graphql-core schema over tests.library whose synchronous resolvers use the ORM, as real APIs' do.

``loadedAuthor`` is the async exception: a DataLoader-style field that batches
the authors of every book in one query (through ``sync_to_async``, as async
code must), so a query can mix async resolvers with the synchronous ORM
resolvers below them. Every resolver notes the thread it ran in and whether
that thread had a running event loop (``WHERE``), and the loader its batches.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from django.db import connections
from graphql import build_schema

from tests.library.models import Author, Book, Tag

SDL = """
type Author { id: ID! name: String! books: [Book!]! }
type Tag { name: String! }
type Book {
  id: ID! title: String! year: Int! author: Author! tags: [Tag!]!
  loadedAuthor: Author!
}
type Query { books: [Book!]! book(id: ID!): Book authors: [Author!]! }
type Mutation { addBook(title: String!, author: String!, tags: [String!]! = []): Book! }
type Subscription { booksById(ids: [ID!]!): Book! }
"""

schema = build_schema(SDL)

#: (field, thread name, loop running in that thread) per resolver call.
WHERE: list[tuple[str, str, bool]] = []
#: The keys of each batch the author loader ran.
BATCHES: list[list[int]] = []


def note(field: str) -> None:
    try:
        asyncio.get_running_loop()
        on_loop = True
    except RuntimeError:
        on_loop = False
    WHERE.append((field, threading.current_thread().name, on_loop))


class AuthorLoader:
    """Collects the keys asked for in one loop iteration; one ORM query for all of them."""

    def __init__(self) -> None:
        self.waiting: dict[int, list[asyncio.Future[Any]]] = {}

    def load(self, key: int) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        if not self.waiting:
            loop.call_soon(lambda: loop.create_task(self.dispatch()))
        future = loop.create_future()
        self.waiting.setdefault(key, []).append(future)
        return future

    async def dispatch(self) -> None:
        waiting, self.waiting = self.waiting, {}
        keys = sorted(waiting)
        BATCHES.append(keys)
        authors = await sync_to_async(lambda: {a.pk: a for a in Author.objects.filter(pk__in=keys)})()
        for key, futures in waiting.items():
            for future in futures:
                future.set_result(authors[key])


def loader(info: Any) -> AuthorLoader:
    context = info.context
    if isinstance(context, dict):
        return context.setdefault("author_loader", AuthorLoader())
    found = getattr(context, "author_loader", None)
    if found is None:
        found = AuthorLoader()
        context.author_loader = found
    return found


def resolve_books(root: Any, info: Any) -> Any:
    note("books")
    return Book.objects.all()


def resolve_book(root: Any, info: Any, id: str) -> Any:
    note("book")
    return Book.objects.filter(pk=id).first()


def resolve_authors(root: Any, info: Any) -> Any:
    note("authors")
    return Author.objects.all()


def resolve_author(book: Book, info: Any) -> Author:
    note("author")
    return book.author  # a foreign key: one query, unless it was selected


def resolve_tags(book: Book, info: Any) -> Any:
    note("tags")
    return book.tags.all()


def resolve_author_books(author: Author, info: Any) -> Any:
    note("author.books")
    return author.books.all()


async def resolve_loaded_author(book: Book, info: Any) -> Author:
    note("loadedAuthor")
    return await loader(info).load(book.author_id)


def resolve_add_book(root: Any, info: Any, title: str, author: str, tags: list[str]) -> Book:
    note("addBook")
    writer, _ = Author.objects.get_or_create(name=author)
    book = Book.objects.create(title=title, author=writer)
    book.tags.set([Tag.objects.get_or_create(name=name)[0] for name in tags])
    return book


async def subscribe_books_by_id(root: Any, info: Any, ids: list[str]) -> Any:
    note("booksById.subscribe")
    for pk in ids:
        yield pk


def resolve_books_by_id(pk: str, info: Any, ids: list[str]) -> Book:
    note("booksById")
    return Book.objects.get(pk=pk)


query = schema.query_type
assert query is not None
query.fields["books"].resolve = resolve_books
query.fields["book"].resolve = resolve_book
query.fields["authors"].resolve = resolve_authors
book_type: Any = schema.type_map["Book"]
book_type.fields["author"].resolve = resolve_author
book_type.fields["tags"].resolve = resolve_tags
book_type.fields["loadedAuthor"].resolve = resolve_loaded_author
author_type: Any = schema.type_map["Author"]
author_type.fields["books"].resolve = resolve_author_books
mutation = schema.mutation_type
assert mutation is not None
mutation.fields["addBook"].resolve = resolve_add_book
subscription = schema.subscription_type
assert subscription is not None
subscription.fields["booksById"].subscribe = subscribe_books_by_id
subscription.fields["booksById"].resolve = resolve_books_by_id


def create_library() -> dict[str, Any]:
    """Two authors, three books, two tags; returns them by name."""
    ada = Author.objects.create(name="Ada")
    bob = Author.objects.create(name="Bob")
    python = Tag.objects.create(name="python")
    django = Tag.objects.create(name="django")
    first = Book.objects.create(title="First", year=2001, author=ada)
    first.tags.set([python, django])
    second = Book.objects.create(title="Second", year=2002, author=ada)
    second.tags.set([django])
    third = Book.objects.create(title="Third", year=2003, author=bob)
    return {"ada": ada, "bob": bob, "first": first, "second": second, "third": third}


@pytest.fixture
def close_sync_thread_connections() -> Any:
    """Close what the test opened in asgiref's shared sync thread (its own ``sync_to_async`` ORM calls).

    A connection left open there would meet the next test's ``close_old_connections``
    (the engine's, Channels') in that thread, which pytest-django's database
    blocker refuses in a test without database access. A sync fixture, so sync
    tests may use it too: it submits to that thread's executor directly.
    """
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
