"""``tests.settings`` without the ``daphne`` app, whose twisted reactor set-up costs each ``manage.py`` run
about half of its start-up time; the commands need nothing from it."""

from tests.settings import *  # noqa: F401,F403

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "daphne"]  # noqa: F405
