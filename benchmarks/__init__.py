"""Benchmarks for django-gql-channels: ``python -m benchmarks [--quick]``.

Not part of the test suite: they print tables of measured figures and ratios
against the project's performance goals, and never fail on timing.
"""
