"""A small library app (authors, books, tags) the suite serves through existing schema libraries' own code."""
