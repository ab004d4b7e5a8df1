"""``ASGI_APPLICATION = "django_gql_channels.asgi.application"``: the app built from settings.

Django is set up first (``get_asgi_application``), then GraphQL paths go to the
consumers and every other HTTP request to Django.
"""

from django.core.asgi import get_asgi_application

django_application = get_asgi_application()

from .routing import get_application  # noqa: E402  (needs Django set up)

application = get_application(django_application)
