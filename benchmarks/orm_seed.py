"""``python -m benchmarks.orm_seed DB``: the ORM benchmark's SQLite database, migrated, 100 books by 20 authors."""

from __future__ import annotations

import os
import sys

BOOKS = 100
AUTHORS = 20


def main(path: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.orm_settings"
    os.environ["BENCH_ORM_DB"] = path
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from tests.library.models import Author, Book

    authors = Author.objects.bulk_create(Author(name=f"author {i}") for i in range(AUTHORS))
    Book.objects.bulk_create(Book(title=f"book {i}", year=1950 + i % 70, author=authors[i % AUTHORS])
                             for i in range(BOOKS))


if __name__ == "__main__":
    main(sys.argv[1])
