"""A schema module that fails while it is imported."""

raise RuntimeError("the schema module is broken on purpose")
