"""What :mod:`django_gql_channels.live.reads` records of the ORM's statements: models, or rows by pk."""

from __future__ import annotations

import pytest
from django.db import connection

from django_gql_channels.live import ReadSet, recording
from django_gql_channels.live.reads import install_read_tracking
from tests.library.models import Author, Book, Tag

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tracking():
    install_read_tracking()


def read(function) -> ReadSet:
    with recording(ReadSet()) as read_set:
        function()
    return read_set


@pytest.fixture
def books():
    ada = Author.objects.create(name="Ada")
    red = Tag.objects.create(name="red")
    book = Book.objects.create(title="Notes", author=ada)
    book.tags.add(red)
    return ada, red, book


def test_a_filter_reads_the_whole_model():
    read_set = read(lambda: list(Book.objects.filter(year=2000)))
    assert read_set.models == {"library.book"} and read_set.rows == {}
    assert read_set.affected_by("library.book:99")


def test_get_by_pk_and_a_foreign_key_read_rows(books):
    ada, _, book = books
    read_set = read(lambda: Book.objects.get(pk=book.pk).author)
    assert read_set.models == set()
    assert read_set.rows == {"library.book": {str(book.pk)}, "library.author": {str(ada.pk)}}
    assert read_set.affected_by(f"library.book:{book.pk}")
    assert not read_set.affected_by(f"library.book:{book.pk + 1}")
    assert read_set.affected_by("library.book")  # the whole model named: every row
    assert not read_set.affected_by("library.tag")


def test_prefetching_reads_rows_and_the_through_table(books):
    ada, _, _ = books
    read_set = read(lambda: [list(b.tags.all()) for b in Book.objects.filter(pk__in=[1, 2]).prefetch_related("tags")])
    # pk__in: rows of books; the tags are joined through the m2m table: whole models.
    assert read_set.rows == {"library.book": {"1", "2"}}
    assert {"library.tag", "library.book_tags"} <= read_set.models


def test_a_join_reads_every_table_it_names(books):
    read_set = read(lambda: list(Book.objects.filter(author__name="Ada")))
    assert read_set.models == {"library.book", "library.author"}


def test_raw_sql_names_its_tables():
    def raw():
        with connection.cursor() as cursor:
            cursor.execute('SELECT COUNT(*) FROM "library_tag"')

    assert read(raw).models == {"library.tag"}


def test_nothing_is_recorded_outside_a_live_query():
    read_set = ReadSet()
    list(Book.objects.all())
    assert read_set.labels == set()
