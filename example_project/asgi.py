"""The example's ASGI app: GraphQL at /graphql, the tutorial chat at /ws/chat/<room>/, Django elsewhere."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")
django_application = get_asgi_application()

from channels.routing import URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from django_gql_channels import get_application  # noqa: E402
from example_project.chat.consumers import ChatConsumer  # noqa: E402

application = get_application(
    django_application,
    websocket_application=AllowedHostsOriginValidator(
        URLRouter([re_path(r"^ws/chat/(?P<room_name>[\w-]+)/$", ChatConsumer.as_asgi())])
    ),
)
