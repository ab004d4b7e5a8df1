from django.apps import AppConfig


class GQLChannelsConfig(AppConfig):
    name = "django_gql_channels"
    label = "gql_channels"
    verbose_name = "GraphQL on Channels"

    def ready(self) -> None:
        from . import checks, deploy_checks  # noqa: F401  (registers the system checks)
        from .live import live_changes_ready
        from .model_events import connect_model_events

        connect_model_events()
        live_changes_ready()
