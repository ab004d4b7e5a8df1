"""A graphene-django API on tests.library, as a team adopting this app already has one (runs in `tox -e graphene`)."""
