"""Settings modules with one thing wrong each, for the management-command tests.

Each module starts from ``base`` (``tests.settings`` without daphne) and changes what it is named for.
The tests run them as ``DJANGO_SETTINGS_MODULE`` of a real ``manage.py``
process, and in process by applying every setting that differs from the
current ones (plus ``deleted_settings``) with ``override_settings``.
"""
